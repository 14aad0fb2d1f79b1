package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKilledRunKeysRemovedAtNextStart: 'replbench run' killed with SIGKILL
// cannot remove the temporary directory holding its private keys; the next
// 'replbench run' removes it as it starts, says so, and removes its own
// when it ends.
func TestKilledRunKeysRemovedAtNextStart(t *testing.T) {
	tmp := t.TempDir() // TMPDIR of both runs
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TMPDIR="+tmp)
	long := writeSpec(t, `
name: killed
protocol: unreplicated
crypto: {replicas: ed25519, clients: ed25519}
duration: 60s
`)
	killed := exec.Command(self, "run", long, "--results", t.TempDir())
	killed.Env = env
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	defer killed.Process.Kill()
	keyFiles := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "replbench-keys-*", "*", "client-0.key"))
		return m
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !waitFor(t, ctx, func() bool { return len(keyFiles()) > 0 }) {
		t.Fatal("the run never wrote its keys")
	}
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	left, _ := filepath.Glob(filepath.Join(tmp, "replbench-keys-*"))
	if len(left) != 1 {
		t.Fatalf("after kill -9 want the run's keys directory left behind, found %v", left)
	}

	short := writeSpec(t, `
name: next
protocol: unreplicated
crypto: {replicas: none, clients: hmac}
duration: 400ms
warmup: 100ms
cooldown: 0s
`)
	next := exec.Command(self, "run", short, "--results", t.TempDir())
	next.Env = env
	out, err := next.CombinedOutput()
	if err != nil {
		t.Fatalf("the next run: %v\n%s", err, out)
	}
	if want := "removed " + left[0] + ": the keys of an earlier run that was killed"; !strings.Contains(string(out), want) {
		t.Errorf("the next run does not say %q:\n%s", want, out)
	}
	if after, _ := filepath.Glob(filepath.Join(tmp, "replbench-keys-*")); len(after) != 0 {
		t.Errorf("key directories left after the next run: %v", after)
	}
}
