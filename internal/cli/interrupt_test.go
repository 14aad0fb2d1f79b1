package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
)

// TestInterruptAndResume cancels a run (as Ctrl-C does) during its second
// point, then resumes it: the first point is kept and not rerun, nothing is
// left running, and the resumed run completes the sweep.
func TestInterruptAndResume(t *testing.T) {
	spec := writeSpec(t, `
name: resumed
protocol: unreplicated
crypto: {replicas: none, clients: none}
warmup: 0s
cooldown: 0s
zip:
  - {load.clients: [1, 2], duration: [1s, 2s]}
`)
	results := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, _, err := runCLI(ctx, "run", spec, "--results", results)
		errc <- err
	}()
	wait, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if !waitFor(t, wait, func() bool { return childWith("client") != 0 && pointDone(results, "p000") }) {
		t.Fatal("the second point never started")
	}
	cancel()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("want an 'interrupted ... --resume' error, got %v", err)
	}
	assertNoChildren(t)
	if rows := readSummary(t, results, "resumed"); len(rows) != 1 {
		t.Fatalf("after the interrupt summary.csv has %d rows, want the 1 finished point", len(rows))
	}

	stdout, _, err := runCLI(context.Background(), "run", spec, "--results", results, "--resume")
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if !strings.Contains(stdout, "2 of 2 jobs (1 from an earlier run)") {
		t.Errorf("resume did not report the skipped point:\n%s", stdout)
	}
	rows := readSummary(t, results, "resumed")
	if len(rows) != 2 || rows[0]["load.clients"] != "1" || rows[1]["load.clients"] != "2" {
		t.Fatalf("after resuming want both points in order, got %v", rows)
	}
	assertNoChildren(t)
}

func pointDone(results, prefix string) bool {
	m, _ := filepath.Glob(filepath.Join(results, "*", "*", "points", prefix+"*", "rep-1", "summary.json"))
	return len(m) > 0
}

// TestBadInputs checks that each bad input gives one clear line naming
// what is wrong, and that nothing is started.
func TestBadInputs(t *testing.T) {
	badSpec := writeSpec(t, "name: bad\nload: {clients: -2}\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing spec", []string{"run", "/nonexistent/spec.yaml"}, "no such file"},
		{"bad spec", []string{"run", badSpec}, "e2e.yaml:2: load.clients: must be >= 1, got -2"},
		{"no spec", []string{"run"}, "accepts 1 arg"},
		{"resume without a run", []string{"run", writeSpec(t, "name: fresh\n"), "--results", t.TempDir(), "--resume"}, "no earlier run"},
		{"results path is a file", []string{"run", writeSpec(t, "name: fresh\n"), "--results", aFile(t)}, "results directory: mkdir "},
		{"replica without config", []string{"replica", "--id", "0"}, "--config is required"},
		{"replica with missing config", []string{"replica", "--config", "/nonexistent.json"}, "no such file"},
		{"client without config", []string{"client"}, "--config is required"},
		{"unreachable cluster", []string{"client", "--config", unreachableCluster(t), "--once", "x", "--connect-timeout", "300ms"},
			"could not reach replica-0 at 127.0.0.1:"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(context.Background(), tt.args...)
			if err == nil {
				t.Fatalf("%v succeeded", tt.args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Count(strings.TrimSpace(err.Error()), "\n") > 0 {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	assertNoChildren(t)
}

// aFile is a plain file, where a directory is expected.
func aFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// unreachableCluster writes a cluster file whose replica address has no listener.
func unreachableCluster(t *testing.T) string {
	t.Helper()
	cfg := &cluster.Config{Protocol: "unreplicated", Replicas: []string{freeAddr(t)}, Clients: 1,
		ReplicaScheme: keys.None, ClientScheme: keys.None, App: "null"}
	path := filepath.Join(t.TempDir(), "cluster.json")
	if err := cfg.Write(path); err != nil {
		t.Fatal(err)
	}
	return path
}
