package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstalledBinaryRunsLeanReplicas: replbench installed with go install
// (replbench and replbench-node in one directory) and started from a
// directory outside the source tree runs replicas as replbench-node, as it
// does inside the tree, and meta.json says which binary ran them. Without
// replbench-node beside it, it runs them as itself, says so, and meta.json
// records that the binary was not the lean one.
func TestInstalledBinaryRunsLeanReplicas(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go tool to build replbench and replbench-node as go install would")
	}
	// Stamped with the commit as go install stamps it (-buildvcs), where
	// the tree is a git checkout.
	head, _ := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").Output()
	vcs := "-buildvcs=false"
	if len(head) > 0 {
		vcs = "-buildvcs=true"
	}
	bin := t.TempDir()
	build := func(pkg, cgo string) {
		cmd := exec.Command(goTool, "build", vcs, "-o", filepath.Join(bin, pkg), "./cmd/"+pkg)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	build("replbench", "0")
	build("replbench-node", "0") // as the README says to install it
	spec := writeSpec(t, "name: installed\nprotocol: unreplicated\nduration: 900ms\nwarmup: 200ms\ncooldown: 100ms\n")
	type binary struct {
		Path, SHA256, Main, Commit, Origin string
		Lean, Cgo                          bool
	}
	run := func(t *testing.T) (b binary, stderr string) {
		results := t.TempDir()
		cmd := exec.Command(filepath.Join(bin, "replbench"), "run", spec, "--results", results)
		cmd.Dir = t.TempDir() // no source tree here
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "REPLBENCH_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("run: %v\n%s", err, errb.String())
		}
		metas, _ := filepath.Glob(filepath.Join(results, "installed", "*", "meta.json"))
		if len(metas) != 1 {
			t.Fatalf("want one meta.json, found %v", metas)
		}
		data, err := os.ReadFile(metas[0])
		if err != nil {
			t.Fatal(err)
		}
		var meta struct{ Sessions []struct{ Binaries []binary } }
		if err := json.Unmarshal(data, &meta); err != nil {
			t.Fatal(err)
		}
		if len(meta.Sessions) != 1 || len(meta.Sessions[0].Binaries) != 1 {
			t.Fatalf("meta.json records binaries %+v, want one session with one binary:\n%s", meta.Sessions, data)
		}
		return meta.Sessions[0].Binaries[0], errb.String()
	}
	sum := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		return hex.EncodeToString(h[:])
	}
	b, stderr := run(t)
	node := filepath.Join(bin, "replbench-node")
	if b.Path != node || !b.Lean || b.Main != "github.com/replbench/replbench/cmd/replbench-node" || b.SHA256 != sum(node) {
		t.Errorf("replicas ran %+v, want the lean %s with its hash", b, node)
	}
	// Where the go tool stamped the commit, meta.json must carry it.
	stamped, _ := exec.Command(goTool, "version", "-m", node).Output()
	if rev := strings.TrimSpace(string(head)); strings.Contains(string(stamped), "vcs.revision") && b.Commit != rev {
		t.Errorf("binary commit %q, want the tree's %q", b.Commit, rev)
	}
	if strings.Contains(stderr, "warning:") {
		t.Errorf("warned with replbench-node installed:\n%s", stderr)
	}

	// Built with cgo (go install's default where gcc is), it maps the C
	// library: not the lean binary, and run says so.
	if _, err := exec.LookPath("gcc"); err == nil {
		build("replbench-node", "1")
		b, stderr = run(t)
		if b.Path != node || b.Lean || !b.Cgo {
			t.Errorf("replicas ran %+v, want %s recorded as built with cgo, not lean", b, node)
		}
		if !strings.Contains(stderr, "was built with cgo") {
			t.Errorf("no warning about a replbench-node built with cgo:\n%s", stderr)
		}
	}

	if err := os.Remove(node); err != nil {
		t.Fatal(err)
	}
	b, stderr = run(t)
	if self := filepath.Join(bin, "replbench"); b.Path != self || b.Lean || b.SHA256 != sum(self) {
		t.Errorf("without replbench-node replicas ran %+v, want %s, not lean", b, self)
	}
	if !strings.Contains(stderr, "warning: replicas and clients run as this replbench binary") {
		t.Errorf("no warning that replicas run as the whole binary:\n%s", stderr)
	}
}
