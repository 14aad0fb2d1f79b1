package orchestrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// modulePath is the module replbench-node is built from.
const modulePath = "github.com/replbench/replbench"

// Binary is a replbench-node (or replbench) executable for one platform.
type Binary struct {
	Path string
	Hash string // hex SHA-256 of the file: remote copies are named by it, so unchanged ones are not sent again
	OS   string // GOOS
	Arch string // GOARCH
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
		return hashed(b.Given, goos, goarch)
	}
	src := b.Source
	if src == "" {
		src, _ = FindSource()
	}
	goTool, lookErr := exec.LookPath("go")
	if src == "" || lookErr != nil {
		if local && b.Fallback != "" {
			return hashed(b.Fallback, goos, goarch)
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
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build replbench-node for %s/%s in %s: %v: %s", goos, goarch, src, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}
	return hashed(out, goos, goarch)
}

func hashed(path, goos, goarch string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", path, err)
	}
	return &Binary{Path: path, Hash: hex.EncodeToString(h.Sum(nil)), OS: goos, Arch: goarch}, nil
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
