package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
)

// startCluster writes a cluster file for protocol with n replicas and the
// given app, starts the replicas as processes and returns the file's path
// (the replicas stop when the test ends).
func startCluster(t *testing.T, protocol, app string, n int) string {
	t.Helper()
	dir := t.TempDir()
	kd := filepath.Join(dir, "keys")
	if err := keys.Generate(keys.HMAC, kd, n, 4, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	addrs, err := freePortsForTest(n)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &cluster.Config{
		Protocol: protocol, Replicas: addrs, Clients: 4,
		ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC, ReplicaKeys: kd, ClientKeys: kd, App: app,
		BatchSize: 10, BatchTimeout: cluster.Duration{Duration: time.Millisecond}, CheckpointInterval: 100,
		ViewChangeTimeout: cluster.Duration{Duration: time.Second},
	}
	path := filepath.Join(dir, "cluster.json")
	if err := cfg.Write(path); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		startReplica(t, path, i)
	}
	return path
}

// TestClientProcessesGetTheirOwnReplies: client processes of the same key,
// one after the other against one running cluster, each get the replies to
// their own requests. Each used to start at request 1, so the second one's
// request was answered from the first one's cached reply, and a second load
// run completed nothing.
func TestClientProcessesGetTheirOwnReplies(t *testing.T) {
	for _, protocol := range []string{"pbft", "hotstuff"} {
		t.Run(protocol, func(t *testing.T) {
			cfg := startCluster(t, protocol, "echo", 4)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for _, payload := range []string{"hello", "world"} {
				out, stderr, err := runCLI(ctx, "client", "--config", cfg, "--once", payload)
				if err != nil || strings.TrimSpace(out) != `"`+payload+`"` {
					t.Fatalf("client --once %s printed %q, %v\n%s", payload, out, err, stderr)
				}
			}
			for run := 1; run <= 2; run++ {
				dir := t.TempDir()
				out, stderr, err := runCLI(ctx, "client", "--config", cfg, "--out", dir, "--clients", "2",
					"--warmup", "0s", "--duration", "500ms", "--cooldown", "0s")
				if err != nil {
					t.Fatalf("load run %d: %v\n%s%s", run, err, out, stderr)
				}
				var rep struct {
					Completed uint64 `json:"completed"`
				}
				data, err := os.ReadFile(filepath.Join(dir, "client.json"))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(data, &rep); err != nil {
					t.Fatal(err)
				}
				if rep.Completed == 0 {
					t.Fatalf("load run %d completed nothing", run)
				}
				if !strings.Contains(out, "completed") || !strings.Contains(out, "p99") || !strings.Contains(out, "retransmits") {
					t.Errorf("load run %d: no summary line in its output:\n%s", run, out)
				}
			}
			// A run that completes nothing must fail, saying so. This
			// client's frame limit is below its requests' size, so none
			// leaves it, while connecting still works.
			c, err := cluster.Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.MaxFrame = 512
			small := filepath.Join(t.TempDir(), "cluster.json")
			if err := c.Write(small); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := runCLI(ctx, "client", "--config", small, "--out", t.TempDir(), "--payload", "1000",
				"--warmup", "0s", "--duration", "300ms", "--cooldown", "0s")
			if err == nil || !strings.Contains(err.Error(), "completed 0") {
				t.Fatalf("a load run that completed nothing: err %v, want one naming it\n%s%s", err, out, stderr)
			}
		})
	}
}

// TestClientKV: --kv sends the kv app's operations written as text, and
// prints their results readably; --hex sends raw bytes. A later process
// reads what an earlier one wrote.
func TestClientKV(t *testing.T) {
	cfg := startCluster(t, "pbft", "kv", 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"--kv", "put user:1042 alice", "--kv", "get user:1042", "--kv", "get user:9"}, "ok\nok alice\nnot found\n"},
		{[]string{"--kv", "get user:1042"}, "ok alice\n"},
		// 'G', key length 9, "user:1042": a get, as the kv app encodes it.
		{[]string{"--hex", "47 09 757365723a31303432"}, `"\x00alice"` + "\n"},
		{[]string{"--once", "put user:1042 alice"}, `"\x02"` + "\n"}, // text is not a kv operation: malformed
	}
	for _, s := range steps {
		out, stderr, err := runCLI(ctx, append([]string{"client", "--config", cfg}, s.args...)...)
		if err != nil || out != s.want {
			t.Errorf("client %v: printed %q (%v), want %q\n%s", s.args, out, err, s.want, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kv", "scan a"}, `--kv: unknown kv operation "scan"`},
		{[]string{"--hex", "4x"}, `--hex "4x": encoding/hex: invalid byte`},
		{[]string{"--kv", "get a", "--once", "x"}, "alternatives"},
	} {
		_, _, err := runCLI(ctx, append([]string{"client", "--config", cfg}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("client %v: err %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

// TestEmptySpecSaysDefaults: a spec that sets nothing runs the defaults,
// and says so instead of starting a 10 s experiment without a word.
func TestEmptySpecSaysDefaults(t *testing.T) {
	spec := writeSpec(t, "# nothing set yet\n\n")
	_, stderr, err := runCLI(context.Background(), "run", spec, "--results", t.TempDir(),
		"--duration", "600ms", "--warmup", "100ms", "--cooldown", "0s")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "sets no keys: running the defaults (protocol unreplicated, 1 replica(s), app null, one point") {
		t.Errorf("no note that the defaults run:\n%s", stderr)
	}
}

// TestBadResultsBeforeBuilding: a --results that cannot hold results is
// refused before replbench-node is built or anything started, and leaves
// no run directory behind.
func TestBadResultsBeforeBuilding(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runCLI(context.Background(), "run", writeSpec(t, "name: nowhere\n"), "--results", file, "--binary", "/nonexistent/replbench-node")
	if err == nil || !strings.HasPrefix(err.Error(), "--results: mkdir "+file) {
		t.Fatalf("err %v, want one naming --results\n%s", err, stderr)
	}
	if strings.Contains(stderr, "building replbench-node") || strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("the binary was looked at before --results was checked: %v\n%s", err, stderr)
	}
}
