package orchestrate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/loadgen"
)

// full is a file every write to fails with ENOSPC, as on a full disk.
const full = "/dev/full"

func needDevFull(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(full); err != nil {
		t.Skipf("no %s on this system, so writes to a full disk are untested here: %v", full, err)
	}
}

// TestWritersNameTheFile checks that the results files the orchestrator
// writes report a full disk as one line naming the file and the cause.
func TestWritersNameTheFile(t *testing.T) {
	needDevFull(t)
	res := &PointResult{Replicas: []ReplicaUsage{{ID: 0}},
		Timeline: []TimelineRow{{Second: loadgen.Second{T: 0, Length: 1}, RSSMiB: []float64{1}, CPUUtil: []float64{0.5}}}}
	for name, write := range map[string]func() error{
		"summary.csv":  func() error { return writeCSV(full, summaryHeader(nil, 1), [][]string{summaryRow(res, nil, 1)}) },
		"timeline.csv": func() error { return writeTimeline(full, res) },
	} {
		err := write()
		if err == nil {
			t.Errorf("%s: writing to %s succeeded", name, full)
			continue
		}
		if got, want := err.Error(), "write /dev/full: no space left on device"; got != want {
			t.Errorf("%s: error %q, want %q", name, got, want)
		}
	}
}

// TestLogKeepsWhatTheDiskRefused starts a process whose log file cannot be
// written: what it said on stderr must still reach the error that reports
// its death, with the reason the log lacks it.
func TestLogKeepsWhatTheDiskRefused(t *testing.T) {
	needDevFull(t)
	p, err := startProc("talker", "/bin/sh", []string{"-c", "echo starting; echo 'write /x/latency.hlog: no space left on device' >&2; exit 3"}, nil, full)
	if err != nil {
		t.Fatal(err)
	}
	<-p.exited
	msg := p.deathError().Error()
	for _, want := range []string{
		"exit status 3",
		"last lines of /dev/full (kept in memory: write /dev/full: no space left on device)",
		"\n  starting", // stdout and stderr lines, in either order
		"\n  write /x/latency.hlog: no space left on device",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("death error lacks %q:\n%s", want, msg)
		}
	}
}

// TestLogTailIsBounded checks that the in-memory tail keeps the last lines
// whole and no more than its bound.
func TestLogTailIsBounded(t *testing.T) {
	l, err := createLog(filepath.Join(t.TempDir(), "x.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	line := strings.Repeat("x", 99) + "\n"
	for i := 0; i < 3*tailBytes/len(line); i++ {
		l.Write([]byte(line))
	}
	l.Write([]byte("last\n"))
	if len(l.tail) > tailBytes || !strings.HasPrefix(string(l.tail), line) {
		t.Errorf("tail of %d bytes starting %q; want at most %d bytes of whole lines", len(l.tail), string(l.tail[:10]), tailBytes)
	}
	got := l.lastLines(2)
	if !strings.HasSuffix(got, ":\n  "+line+"  last") {
		t.Errorf("lastLines(2) = %q", got)
	}
	data, _ := os.ReadFile(l.path)
	if len(data) != 3*tailBytes/len(line)*len(line)+len("last\n") {
		t.Errorf("the file has %d bytes; every byte written should be there", len(data))
	}
}

// fakeRunner finishes every job at once with made-up numbers, after
// calling prepare with the job's directory.
type fakeRunner struct{ prepare func(jobDir string) }

func (f fakeRunner) Run(_ context.Context, job *Job) (*PointResult, error) {
	if f.prepare != nil {
		f.prepare(job.Dir)
	}
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &PointResult{Point: job.Point, Repeat: job.Repeat, Label: job.Label, Start: start, End: start.Add(time.Second),
		Throughput: 1000, Completed: 1000, Latency: loadgen.Summary{Mean: 10, P50: 10, P90: 12, P99: 20, P999: 30, Max: 40},
		Replicas: []ReplicaUsage{{ID: 0, PeakRSSMiB: 10, MeanRSSMiB: 9, CPUSeconds: 0.5, Samples: 1}},
		Timeline: []TimelineRow{{Second: loadgen.Second{T: 0, Length: 1, Phase: "measure", Ops: 1000, Throughput: 1000},
			RSSMiB: []float64{9}, CPUUtil: []float64{0.5}}}}, nil
}

func runSpec(t *testing.T, runner Runner) (*Summary, string, error) {
	t.Helper()
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.yaml")
	body := "name: disk\nprotocol: unreplicated\nduration: 1s\nwarmup: 0s\ncooldown: 0s\nsweep:\n  load.clients: [1, 2]\n"
	if err := os.WriteFile(specPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := experiments.Parse(specPath, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(context.Background(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sum, err := Run(context.Background(), Options{SpecPath: specPath, Plan: plan, Results: filepath.Join(dir, "results"), Runner: runner, Out: &out})
	return sum, out.String(), err
}

// TestFiguresNotWrittenFailTheRun: every job finished, but a figure could
// not be written (here summary.md goes to a full device). The run must not
// claim to be finished: it fails, naming the file and the cause.
func TestFiguresNotWrittenFailTheRun(t *testing.T) {
	needDevFull(t)
	sum, out, err := runSpec(t, fakeRunner{prepare: func(jobDir string) {
		figures := filepath.Join(jobDir, "..", "..", "..", "figures") // <run>/points/<point>/rep-<k>
		if err := os.MkdirAll(figures, 0o755); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(full, filepath.Join(figures, "summary.md")); err != nil && !os.IsExist(err) {
			t.Error(err)
		}
	}})
	if err == nil {
		t.Fatalf("run succeeded though summary.md could not be written; stdout:\n%s", out)
	}
	want := "write " + filepath.Join(sum.Dir, "figures", "summary.md") + ": no space left on device"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nlacks %q", err, want)
	}
	if !sum.Finished || len(sum.Results) != 2 {
		t.Errorf("finished %v with %d results; the measurements themselves are complete", sum.Finished, len(sum.Results))
	}
	if !strings.Contains(out, "incomplete (figures not written): 2 of 2 jobs") {
		t.Errorf("the table's last line does not say the run is incomplete:\n%s", out)
	}
}

// TestErrorTxtNotWritten: a job fails and its error.txt cannot be written;
// the error the user sees says so, naming error.txt.
func TestErrorTxtNotWritten(t *testing.T) {
	needDevFull(t)
	_, _, err := runSpec(t, failRunner{})
	if err == nil {
		t.Fatal("run succeeded though its job failed")
	}
	for _, want := range []string{"the replica fell over", "error.txt: no space left on device"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}

type failRunner struct{}

func (failRunner) Run(_ context.Context, job *Job) (*PointResult, error) {
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(full, filepath.Join(job.Dir, "error.txt")); err != nil {
		return nil, err
	}
	return nil, errors.New("the replica fell over")
}
