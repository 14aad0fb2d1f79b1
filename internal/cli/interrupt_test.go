package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
		{"results path is a file", []string{"run", writeSpec(t, "name: fresh\n"), "--results", aFile(t)}, "--results: mkdir "},
		{"replica without config", []string{"replica", "--id", "0"}, "--config is required"},
		{"replica with missing config", []string{"replica", "--config", "/nonexistent.json"}, "no such file"},
		{"client without config", []string{"client"}, "--config is required"},
		{"unreachable cluster", []string{"client", "--config", unreachableCluster(t), "--once", "x", "--connect-timeout", "300ms"},
			"could not reach replica-0 at 127.0.0.1:"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		// Errors quote the flags as given: -1s, not a value computed from it.
		{"negative --duration", []string{"run", writeSpec(t, "name: fresh\n"), "--results", t.TempDir(), "--duration", "-1s"},
			"--duration -1s: must be positive (it is the whole point, warm-up and cool-down included)"},
		{"--duration within warm-up and cool-down", []string{"run", writeSpec(t, "name: fresh\n"), "--results", t.TempDir(), "--duration", "3000ms"},
			"point base after command-line overrides: --duration 3000ms must be longer than warmup 2s + cooldown 1s, which it includes"},
		{"--warmup past the spec's duration", []string{"run", writeSpec(t, "name: fresh\nduration: 5s\n"), "--results", t.TempDir(), "--warmup", "240s"},
			"duration 5s must be longer than --warmup 240s + cooldown 1s, which it includes"},
		{"all three flags", []string{"run", writeSpec(t, "name: fresh\n"), "--results", t.TempDir(), "--duration", "90s", "--warmup", "60s", "--cooldown", "30s"},
			"--duration 90s must be longer than --warmup 60s + --cooldown 30s, which it includes"},
		{"negative --cooldown", []string{"run", writeSpec(t, "name: fresh\n"), "--results", t.TempDir(), "--cooldown", "-5ms"}, "--cooldown -5ms: must not be negative"},
		{"--repeat 0", []string{"run", writeSpec(t, "name: fresh\n"), "--results", t.TempDir(), "--repeat", "0"}, "--repeat 0: must be >= 1"},
		{"client --duration within warm-up", []string{"client", "--config", unreachableCluster(t), "--duration", "2500ms"},
			"--duration 2500ms must be longer than --warmup 2s + --cooldown 1s, which it includes"},
		{"client negative --duration", []string{"client", "--config", unreachableCluster(t), "--duration", "-1s"},
			"--duration -1s: must be positive"},
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

// bigSpec is a spec of the largest sweep allowed: 100 x 10 x 100 points at
// the default duration of 10s, about 13 days of jobs.
func bigSpec(t *testing.T) string {
	var clients, payloads, batches []string
	for i := 1; i <= 100; i++ {
		clients = append(clients, strconv.Itoa(i))
		batches = append(batches, strconv.Itoa(i))
	}
	for i := 1; i <= 10; i++ {
		payloads = append(payloads, strconv.Itoa(100*i)+"B")
	}
	return writeSpec(t, "name: big\nprotocol: unreplicated\ncrypto: {replicas: none, clients: none}\nsweep:\n"+
		"  load.clients: ["+strings.Join(clients, ", ")+"]\n  load.payload: ["+strings.Join(payloads, ", ")+"]\n"+
		"  batch.size: ["+strings.Join(batches, ", ")+"]\n")
}

// started is replbench run as a process (this test binary acting as it),
// its stderr read line by line as it comes.
type started struct {
	cmd    *exec.Cmd
	lines  chan string // stderr, closed at its end
	mu     sync.Mutex
	stderr strings.Builder
	exited chan struct{} // closed when the process has exited; then err is its Wait
	err    error
}

func startRun(t *testing.T, args ...string) *started {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: exec.Command(self, args...), lines: make(chan string, 1024), exited: make(chan struct{})}
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer close(s.lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			select {
			case s.lines <- sc.Text():
			default: // nobody waits for lines any more
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill() // when a check failed before it ended
		<-s.exited
	})
	return s
}

// waitLine waits for a line of stderr containing want.
func (s *started) waitLine(t *testing.T, want string, limit time.Duration) string {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("replbench ended without printing %q:\n%s", want, s.output())
			}
			if strings.Contains(line, want) {
				return line
			}
		case <-timer.C:
			t.Fatalf("no line with %q within %v:\n%s", want, limit, s.output())
		}
	}
}

func (s *started) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// interrupt sends SIGINT and requires the process to exit within limit
// with status 130, saying it was interrupted, not that it failed.
func (s *started) interrupt(t *testing.T, limit time.Duration) string {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-s.exited:
	case <-timer.C:
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("still running %v after SIGINT:\n%s", limit, s.output())
	}
	t.Logf("exited %v after SIGINT", time.Since(sent).Round(time.Millisecond))
	out := s.output()
	var exit *exec.ExitError
	if !errors.As(s.err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit after SIGINT: %v, want status 130\n%s", s.err, out)
	}
	last := lastLine(out)
	if !strings.Contains(last, "interrupted") || strings.Contains(out, "failed") {
		t.Errorf("want the last line to say interrupted, and nothing to say failed:\n%s", out)
	}
	return last
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// leftBehind lists processes whose command line mentions dir: what a run
// under dir started and did not stop.
func leftBehind(dir string) []string {
	var left []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			left = append(left, e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return left
}

// TestSIGINTStopsLargeSweep runs a 100,000-point spec: replbench must say
// how many points and jobs it will run and for about how long before it
// starts, and stop within a second of SIGINT (sent once the estimate is
// out, while the points are being written and prepared) with status 130.
func TestSIGINTStopsLargeSweep(t *testing.T) {
	results := t.TempDir()
	s := startRun(t, "run", bigSpec(t), "--results", results)
	line := s.waitLine(t, "points", time.Minute)
	const want = "100000 points × 1 repeat = 100000 jobs, estimated 13d7h (10s each, plus about 1.5s to start and stop its processes)"
	if line != want {
		t.Errorf("estimate line %q, want %q", line, want)
	}
	last := s.interrupt(t, time.Second)
	// Where the signal lands depends on the machine's speed: before the
	// first job nothing is kept (no empty run directory is left), after it
	// the line says how to continue.
	runs, _ := filepath.Glob(filepath.Join(results, "big", "*"))
	switch {
	case strings.Contains(last, "before any job ran"):
		if len(runs) > 0 {
			t.Errorf("interrupted before any job ran, but run directories are left: %v", runs)
		}
	case !strings.Contains(last, "--resume"):
		t.Errorf("the last line does not say how to continue: %q", last)
	}
	if left := leftBehind(results); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestSIGINTStopsRunningPoint interrupts a run during its first point: it
// must stop within a second with status 130, every process stopped, and
// say where it stopped and how to continue.
func TestSIGINTStopsRunningPoint(t *testing.T) {
	results := t.TempDir()
	spec := writeSpec(t, "name: stopped\nprotocol: unreplicated\ncrypto: {replicas: none, clients: none}\n"+
		"duration: 30s\nwarmup: 0s\ncooldown: 0s\nsweep:\n  load.clients: [1, 2]\n")
	s := startRun(t, "run", spec, "--results", results)
	s.waitLine(t, "2 points × 1 repeat = 2 jobs, estimated 1m3s", time.Minute)
	s.waitLine(t, "job 1/2 load.clients=1 (repeat 1): started", time.Minute)
	// The load generator runs once the replica is ready.
	wait, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if !waitFor(t, wait, func() bool { return len(leftBehind(results)) >= 2 }) {
		t.Fatalf("the point's processes never started:\n%s", s.output())
	}
	last := s.interrupt(t, time.Second)
	if !strings.Contains(last, "interrupted at job 1/2 (load.clients=1, repeat 1); 0 of 2 jobs finished") ||
		!strings.Contains(last, "--resume") {
		t.Errorf("last line %q does not say where the run stopped and how to continue", last)
	}
	if left := leftBehind(results); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}
