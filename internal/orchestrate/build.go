package orchestrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// modulePath is the module replbench-node is built from.
const modulePath = "github.com/replbench/replbench"

// Binary is a replbench-node (or replbench) executable for one platform.
type Binary struct {
	Path string
	Hash string // hex SHA-256 of the file: remote copies are named by it, so unchanged ones are not sent again
	OS   string // GOOS
	Arch string // GOARCH
	// Origin says how it was chosen: "--binary", "built from DIR",
	// "installed beside replbench" or "this replbench".
	Origin string
	// treeCommit is the source tree's commit when it was built from one,
	// for when the go tool did not stamp it (-buildvcs=false).
	treeCommit string
}

// NodeMain is the main package of the lean node binary.
const NodeMain = modulePath + "/cmd/replbench-node"

// BinaryInfo describes a binary replicas and clients ran, for meta.json:
// which file, and what its build information says it is.
type BinaryInfo struct {
	Path      string `json:"path"`
	SHA256    string `json:"sha256"`
	Platform  string `json:"platform"` // GOOS/GOARCH
	Origin    string `json:"origin"`
	Main      string `json:"main"`    // its main package, from the build information
	Version   string `json:"version"` // the module version it was built as ("(devel)" from a source tree)
	Commit    string `json:"commit"`  // the revision it was built from; "" when unknown
	Dirty     bool   `json:"dirty"`   // built from a tree with uncommitted changes
	GoVersion string `json:"go_version"`
	// Cgo is true for a binary built with cgo: it is linked against the C
	// library and maps it, about 1.5 MiB more RSS per process.
	Cgo bool `json:"cgo"`
	// Lean is true for replbench-node built without cgo, as run builds it:
	// it links no plotting or analysis code and no C library. Replicas run
	// as anything else use more memory, so their RSS figures are not
	// comparable.
	Lean bool `json:"lean"`
}

// Info reads b's build information.
func (b *Binary) Info() BinaryInfo {
	info := BinaryInfo{Path: b.Path, SHA256: b.Hash, Platform: b.OS + "/" + b.Arch, Origin: b.Origin}
	if bi, err := buildinfo.ReadFile(b.Path); err == nil {
		info.Main, info.Version, info.GoVersion = bi.Path, bi.Main.Version, bi.GoVersion
		info.Commit, info.Dirty = revision(bi)
		info.Cgo = usesCgo(bi)
		info.Lean = bi.Path == NodeMain && !info.Cgo
	}
	if info.Commit == "" {
		info.Commit = b.treeCommit
	}
	return info
}

// revision is the commit a binary was built from: the go tool's VCS stamp,
// else the one a pseudo-version names (go install module@commit).
func revision(bi *debug.BuildInfo) (rev string, dirty bool) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		if m := pseudoVersion.FindStringSubmatch(bi.Main.Version); m != nil {
			rev = m[1]
		}
	}
	return rev, dirty
}

// usesCgo reports whether a binary was built with cgo.
func usesCgo(bi *debug.BuildInfo) bool {
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			return s.Value == "1"
		}
	}
	return false
}

// pseudoVersion matches the commit prefix at the end of a Go pseudo-version
// (v0.0.0-20261204180000-0123456789ab).
var pseudoVersion = regexp.MustCompile(`\d{14}-([0-9a-f]{12})(?:\+incompatible)?$`)

// Used describes every binary handed out so far, by platform.
func (b *Binaries) Used() []BinaryInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []BinaryInfo
	for _, key := range slices.Sorted(maps.Keys(b.built)) {
		out = append(out, b.built[key].Info())
	}
	return out
}

// Binaries provides node binaries per platform: built from the module's
// source with the go tool when the source is at hand (cross-compiled for
// other platforms, CGO off so they run on any Linux), else the executable
// given as the fallback, which serves its own platform only.
type Binaries struct {
	Source   string // module root; "" means FindSource from the working directory
	CacheDir string // where built binaries are kept
	Fallback string // used when there is no source or go tool (the running replbench)
	// Given is a binary the user named (--binary): it serves this machine's
	// platform, without building.
	Given string
	Log   io.Writer

	mu    sync.Mutex
	built map[string]*Binary
	errs  map[string]error
}

// For returns the binary for goos/goarch, building it on first use.
func (b *Binaries) For(ctx context.Context, goos, goarch string) (*Binary, error) {
	key := goos + "/" + goarch
	b.mu.Lock()
	defer b.mu.Unlock()
	if bin, ok := b.built[key]; ok {
		return bin, nil
	}
	if err, ok := b.errs[key]; ok {
		return nil, err
	}
	bin, err := b.make(ctx, goos, goarch)
	if b.built == nil {
		b.built, b.errs = make(map[string]*Binary), make(map[string]error)
	}
	if err != nil {
		b.errs[key] = err
		return nil, err
	}
	b.built[key] = bin
	return bin, nil
}

func (b *Binaries) make(ctx context.Context, goos, goarch string) (*Binary, error) {
	local := goos == runtime.GOOS && goarch == runtime.GOARCH
	if local && b.Given != "" {
		return hashed(b.Given, goos, goarch, "--binary")
	}
	src := b.Source
	if src == "" {
		src, _ = FindSource()
	}
	goTool, lookErr := exec.LookPath("go")
	if src == "" || lookErr != nil {
		if local && b.Fallback != "" {
			return b.installed(goos, goarch)
		}
		why := "no replbench source tree above the working directory"
		if src != "" {
			why = "no go tool on PATH"
		}
		return nil, fmt.Errorf("need a replbench-node binary for %s/%s but cannot build one (%s); run replbench from its source tree with Go installed", goos, goarch, why)
	}
	if err := os.MkdirAll(b.CacheDir, 0o755); err != nil {
		return nil, err
	}
	out := filepath.Join(b.CacheDir, fmt.Sprintf("replbench-node-%s-%s", goos, goarch))
	if b.Log != nil {
		fmt.Fprintf(b.Log, "building replbench-node for %s/%s from %s\n", goos, goarch, src)
		// The node binary comes from the tree as it is now; say so when
		// that is not what this replbench was built from.
		if rev, _ := builtFrom(); rev != "" {
			if head, err := exec.Command("git", "-C", src, "rev-parse", "HEAD").Output(); err == nil && strings.TrimSpace(string(head)) != rev {
				fmt.Fprintf(b.Log, "warning: this replbench was built from commit %.12s but %s is at %.12s; replicas and clients run the tree's code (pass --binary to choose)\n", rev, src, strings.TrimSpace(string(head)))
			}
		}
	}
	// Built beside the cached binary and renamed over it, so replicas of
	// another run still executing the old one are not disturbed.
	tmp, err := os.CreateTemp(b.CacheDir, filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", tmp.Name(), "./cmd/replbench-node")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	// On ctx's end (Ctrl-C) the go tool and the compilers it started go
	// together: they share a process group, killed as one, and Run does not
	// wait long for pipes a straggler might still hold.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 500 * time.Millisecond
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("build replbench-node for %s/%s: %w", goos, goarch, ctx.Err())
		}
		return nil, fmt.Errorf("build replbench-node for %s/%s in %s: %v: %s", goos, goarch, src, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}
	bin, err := hashed(out, goos, goarch, "built from "+src)
	if err == nil {
		if head, gerr := exec.Command("git", "-C", src, "rev-parse", "HEAD").Output(); gerr == nil {
			bin.treeCommit = strings.TrimSpace(string(head))
		}
	}
	return bin, err
}

// installed is the binary for this machine without a source tree: the
// replbench-node installed beside this replbench (go install .../cmd/...
// puts both in one directory), else this replbench itself, with a warning
// that its replicas' memory figures are not the lean binary's.
func (b *Binaries) installed(goos, goarch string) (*Binary, error) {
	sibling := filepath.Join(filepath.Dir(b.Fallback), "replbench-node")
	if runtime.GOOS == "windows" {
		sibling += ".exe"
	}
	if bi, err := buildinfo.ReadFile(sibling); err == nil && bi.Path == NodeMain {
		bin, err := hashed(sibling, goos, goarch, "installed beside replbench")
		if err == nil && b.Log != nil && usesCgo(bi) {
			fmt.Fprintf(b.Log, "warning: %s was built with cgo, so its replicas map the C library too (about 1.5 MiB more RSS each than as run builds it); "+
				"install it with CGO_ENABLED=0 go install %s@VERSION\n", sibling, NodeMain)
		}
		if err == nil && b.Log != nil {
			if self, err := buildinfo.ReadFile(b.Fallback); err == nil && self.Main.Version != bi.Main.Version {
				fmt.Fprintf(b.Log, "warning: %s is version %s but this replbench is %s; replicas and clients run %s\n",
					sibling, bi.Main.Version, self.Main.Version, sibling)
			}
		}
		return bin, err
	}
	if b.Log != nil {
		fmt.Fprintf(b.Log, "warning: replicas and clients run as this replbench binary (%s): no source tree here and no replbench-node beside it, "+
			"so each replica also holds the plotting code and its RSS is several MiB higher than with replbench-node; "+
			"install it with 'go install %s@VERSION' or run from the source tree\n", b.Fallback, NodeMain)
	}
	return hashed(b.Fallback, goos, goarch, "this replbench")
}

func hashed(path, goos, goarch, origin string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	return &Binary{Path: path, Hash: hex.EncodeToString(h.Sum(nil)), OS: goos, Arch: goarch, Origin: origin}, nil
}

// FindSource returns the root of the replbench module containing the
// working directory, or an error when there is none.
func FindSource() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no replbench source tree above the working directory")
		}
		dir = parent
	}
}
