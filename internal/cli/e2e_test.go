package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/internal/cli"
	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/hdrjs"
	"github.com/replbench/replbench/keys"
)

// runCLI runs replbench's command line in this process.
func runCLI(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	root := cli.NewRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

func writeSpec(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "e2e.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readSummary returns summary.csv's rows as maps from column to value.
func readSummary(t *testing.T, results, spec string) []map[string]string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(results, spec, "*", "summary.csv"))
	if len(matches) != 1 {
		t.Fatalf("want one summary.csv under %s, found %v", results, matches)
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := make(map[string]string)
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

func num(t *testing.T, row map[string]string, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(row[col], 64)
	if err != nil {
		t.Fatalf("column %s: %v (row %v)", col, err, row)
	}
	return v
}

// TestRunWritesResults runs a two-point spec with real processes and checks
// the results layout and that every point measured something.
func TestRunWritesResults(t *testing.T) {
	spec := writeSpec(t, `
name: e2e
protocol: unreplicated
app: {name: echo}
crypto: {replicas: none, clients: hmac}
duration: 1500ms
warmup: 300ms
cooldown: 200ms
load: {clients: 2, outstanding: 2, payload: 64B}
sweep:
  load.clients: [1, 3]
`)
	results := t.TempDir()
	stdout, _, err := runCLI(context.Background(), "run", spec, "--results", results)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(stdout, "throughput") {
		t.Errorf("no summary table on stdout:\n%s", stdout)
	}
	rows := readSummary(t, results, "e2e")
	if len(rows) != 2 {
		t.Fatalf("summary.csv has %d rows, want 2", len(rows))
	}
	for _, r := range rows {
		if num(t, r, "throughput_ops") <= 0 || num(t, r, "p50_us") <= 0 || num(t, r, "rss_peak_mib_r0") <= 0 {
			t.Errorf("row without measurements: %v", r)
		}
		if num(t, r, "errors") != 0 {
			t.Errorf("errors in row %v (echo replies must match their requests)", r)
		}
	}
	run, _ := filepath.Glob(filepath.Join(results, "e2e", "*"))
	for _, f := range []string{"spec.yaml", "expanded.yaml", "meta.json", "summary.csv"} {
		if _, err := os.Stat(filepath.Join(run[0], f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	points, _ := filepath.Glob(filepath.Join(run[0], "points", "*", "rep-1"))
	if len(points) != 2 {
		t.Fatalf("want 2 point directories, got %v", points)
	}
	for _, p := range points {
		for _, f := range []string{"latency.hlog", "timeline.csv", "summary.json", "cluster.json", "replica-0.log", "client.json"} {
			if _, err := os.Stat(filepath.Join(p, f)); err != nil {
				t.Errorf("missing %s: %v", f, err)
			}
		}
	}
	// HdrHistogram's own reader finds in each latency.hlog the figures of
	// summary.csv's row.
	t.Run("hdr-histogram-js", func(t *testing.T) {
		hdrjs.Need(t)
		for _, r := range rows {
			dir, _ := filepath.Glob(filepath.Join(run[0], "points", fmt.Sprintf("p%03d-*", int(num(t, r, "point"))), "rep-"+r["repeat"]))
			if len(dir) != 1 {
				t.Fatalf("point %s repeat %s: directories %v", r["point"], r["repeat"], dir)
			}
			js := hdrjs.Read(t, filepath.Join(dir[0], "latency.hlog"), "measure")[0]
			ours := hdrjs.Summary{Tag: js.Tag, Intervals: js.Intervals, Count: int64(num(t, r, "completed")),
				P50: int64(num(t, r, "p50_us")), P90: int64(num(t, r, "p90_us")), P99: int64(num(t, r, "p99_us")),
				P999: int64(num(t, r, "p999_us")), Max: int64(num(t, r, "max_us"))}
			if ours != js {
				t.Errorf("summary.csv:      %v\nhdr-histogram-js: %v", ours, js)
			}
		}
	})
	assertNoChildren(t)
}

// TestRepliesMatchRequests starts a real replica process and checks every
// reply a client accepts is the answer to its own request.
func TestRepliesMatchRequests(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.HMAC, keys.Ed25519} {
		t.Run(string(scheme), func(t *testing.T) {
			dir := t.TempDir()
			kd := filepath.Join(dir, "keys")
			if err := keys.Generate(scheme, kd, 1, 2, keys.GenOptions{}); err != nil {
				t.Fatal(err)
			}
			cfg := &cluster.Config{
				Protocol: "unreplicated", Replicas: []string{freeAddr(t)}, Clients: 2,
				ReplicaScheme: scheme, ClientScheme: scheme, ReplicaKeys: kd, ClientKeys: kd, App: "echo",
			}
			cfgPath := filepath.Join(dir, "cluster.json")
			if err := cfg.Write(cfgPath); err != nil {
				t.Fatal(err)
			}
			startReplica(t, cfgPath, 0)
			auth, err := keys.Load(scheme, kd, keys.Client(1), 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := clients.New(ctx, clients.Config{Cluster: cfg, ID: 1, Auth: auth})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Sync calls, then a burst of async ones in flight together.
			for i := 0; i < 50; i++ {
				want := fmt.Sprintf("sync request %d", i)
				got, err := c.Invoke(ctx, []byte(want))
				if err != nil || string(got) != want {
					t.Fatalf("Invoke(%q) = %q, %v", want, got, err)
				}
			}
			type outcome struct {
				want, got string
				err       error
			}
			done := make(chan outcome, 500)
			for i := 0; i < 500; i++ {
				want := fmt.Sprintf("async request %d", i)
				c.InvokeAsync([]byte(want), func(res []byte, err error) {
					done <- outcome{want, string(res), err}
				})
			}
			for i := 0; i < 500; i++ {
				o := <-done
				if o.err != nil || o.got != o.want {
					t.Fatalf("async reply %q for request %q (err %v)", o.got, o.want, o.err)
				}
			}
			if s := c.Stats(); s.BadReplies != 0 || s.Completed != 550 {
				t.Fatalf("client stats %+v: want 550 completed, no bad replies", s)
			}
		})
	}
}

// TestReplicaKilledMidRun kills a replica during the second point: the run
// must fail naming the replica, keep the first point and leave no process.
func TestReplicaKilledMidRun(t *testing.T) {
	// The second point would run for a minute unless its replica died.
	spec := writeSpec(t, `
name: killed
protocol: unreplicated
crypto: {replicas: none, clients: none}
warmup: 0s
cooldown: 0s
zip:
  - {load.clients: [1, 2], duration: [1s, 60s]}
`)
	results := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, _, err := runCLI(ctx, "run", spec, "--results", results)
		errc <- err
	}()
	// Wait for the first point's summary, then for the second point's replica.
	first := waitFor(t, ctx, func() bool {
		m, _ := filepath.Glob(filepath.Join(results, "killed", "*", "points", "p000*", "rep-1", "summary.json"))
		return len(m) == 1
	})
	if !first {
		t.Fatal("first point never finished")
	}
	var pid int
	waitFor(t, ctx, func() bool {
		pid = childWith("replica")
		return pid != 0
	})
	if pid == 0 {
		t.Fatal("no replica process for the second point")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if err == nil {
		t.Fatal("run succeeded although its replica was killed")
	}
	msg := err.Error()
	for _, want := range []string{"replica 0", fmt.Sprintf("pid %d", pid), "died", "1 of 2 jobs finished"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	rows := readSummary(t, results, "killed")
	if len(rows) != 1 || num(t, rows[0], "throughput_ops") <= 0 {
		t.Errorf("want the finished first point kept in summary.csv, got %v", rows)
	}
	assertNoChildren(t)
}

// waitFor polls cond until it holds or ctx ends. It watches for a state the
// test cannot be told about (another process's progress); it is not used to
// order events the test controls.
func waitFor(t *testing.T, ctx context.Context, cond func() bool) bool {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// children lists this process's child processes and their command lines.
func children() map[int]string {
	out := make(map[int]string)
	self := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state ppid ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 || f[1] != self || f[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = strings.ReplaceAll(string(cmdline), "\x00", " ")
	}
	return out
}

func childWith(word string) int {
	for pid, cmd := range children() {
		if strings.Contains(cmd, " "+word+" ") {
			return pid
		}
	}
	return 0
}

func assertNoChildren(t *testing.T) {
	t.Helper()
	if c := children(); len(c) != 0 {
		t.Errorf("processes left behind: %v", c)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addrs, err := freePortsForTest(1)
	if err != nil {
		t.Fatal(err)
	}
	return addrs[0]
}

// startReplica runs 'replbench replica' as a process until stop is called
// or the test ends, and waits for its ready line.
func startReplica(t *testing.T, cfgPath string, id int, extra ...string) (stop func()) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"replica", "--config", cfgPath, "--id", strconv.Itoa(id)}, extra...)
	cmd := exec.Command(self, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || !ee.Exited() {
					t.Errorf("replica did not exit cleanly: %v\n%s", err, stderr.String())
				}
			}
		})
	}
	t.Cleanup(stop)
	buf := make([]byte, 256)
	n, err := stdout.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "ready") {
		t.Fatalf("replica not ready: %q %v\n%s", buf[:n], err, stderr.String())
	}
	return stop
}

// TestProtocolsSpec runs the shipped comparison of unreplicated, PBFT and
// HotStuff with short points: all 24 succeed with throughput and no errors.
func TestProtocolsSpec(t *testing.T) {
	results := t.TempDir()
	_, _, err := runCLI(context.Background(), "run", "../../experiments/protocols.yaml", "--results", results,
		"--warmup", "200ms", "--duration", "700ms", "--cooldown", "0s")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	rows := readSummary(t, results, "protocols")
	if len(rows) != 24 {
		t.Fatalf("summary.csv has %d rows, want 24", len(rows))
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r["protocol"]]++
		if num(t, r, "throughput_ops") <= 0 || num(t, r, "errors") != 0 {
			t.Errorf("point %s: throughput %s, errors %s", r["label"], r["throughput_ops"], r["errors"])
		}
	}
	for _, p := range []string{"unreplicated", "pbft", "hotstuff"} {
		if seen[p] != 8 {
			t.Errorf("%d points of %s, want 8", seen[p], p)
		}
	}
	assertNoChildren(t)
}

// TestDurationFlagIsWholePoint checks that run's --duration means what a
// spec's duration means, the whole point: with --duration 1500ms,
// --warmup 300ms and --cooldown 200ms the point runs 1.5s and its load
// generator measures the second between warm-up and cool-down.
func TestDurationFlagIsWholePoint(t *testing.T) {
	spec := writeSpec(t, "name: whole\nprotocol: unreplicated\ncrypto: {replicas: none, clients: none}\nduration: 30s\n")
	results := t.TempDir()
	_, stderr, err := runCLI(context.Background(), "run", spec, "--results", results,
		"--duration", "1500ms", "--warmup", "300ms", "--cooldown", "200ms")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(stderr, "1 point × 1 repeat = 1 job, estimated 3s (1.5s each, plus about 1.5s to start and stop its processes)") {
		t.Errorf("no estimate for one 1.5s point:\n%s", stderr)
	}
	run, _ := filepath.Glob(filepath.Join(results, "whole", "*"))
	if len(run) != 1 {
		t.Fatalf("want one run, got %v", run)
	}
	expanded, err := os.ReadFile(filepath.Join(run[0], "expanded.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(expanded), "duration: 1.5s\n") {
		t.Errorf("expanded.yaml does not record the 1.5s point:\n%s", expanded)
	}
	var rep struct {
		Measure [2]float64 `json:"measure_window"`
	}
	reports, _ := filepath.Glob(filepath.Join(run[0], "points", "*", "rep-1", "client.json"))
	if len(reports) != 1 {
		t.Fatalf("want one client.json, got %v", reports)
	}
	data, err := os.ReadFile(reports[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Measure != [2]float64{0.3, 1.3} {
		t.Errorf("load generator measured %v s, want [0.3 1.3]", rep.Measure)
	}
	assertNoChildren(t)
}
