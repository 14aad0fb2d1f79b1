package cli_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The tests in this file give 'replbench run' a results directory on a
// tmpfs of a few pages, so that the disk fills up during the run. Mounting
// needs root; without it they skip, unless REPLBENCH_REQUIRE_TMPFS=1 (set by
// CI, which runs as root) makes that a failure.

// smallDisk mounts a tmpfs of size bytes on a fresh directory for the test.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		why := fmt.Sprintf("cannot mount a small tmpfs to fill up (%v); it needs root", err)
		if os.Getenv("REPLBENCH_REQUIRE_TMPFS") == "1" {
			t.Fatalf("REPLBENCH_REQUIRE_TMPFS=1 but %s", why)
		}
		t.Skip("skipping the full-disk test: " + why + " (set REPLBENCH_REQUIRE_TMPFS=1 to fail instead)")
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

const fullDiskSpec = `
name: fulldisk
protocol: unreplicated
app: {name: echo}
crypto: {replicas: none, clients: hmac}
duration: 1200ms
warmup: 200ms
cooldown: 0s
load: {clients: 1, outstanding: 2, payload: 64B}
`

// runProcess runs replbench (this test binary, see TestMain) as its own
// process, for its real exit status and stderr.
func runProcess(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("replbench %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// TestFullDiskDuringPoint: the results disk has room for the run's first
// files (spec.yaml, expanded.yaml, meta.json, cluster.json, the replica's
// log: one 4 KiB page each) and no more, so the load generator cannot write
// its results, nor anyone the logs, error.txt or summary.csv. The run must
// exit non-zero, and the load generator's own error, naming the file it
// could not write, must reach the user although its log is empty on disk.
func TestFullDiskDuringPoint(t *testing.T) {
	results := smallDisk(t, 5*4096)
	spec := writeSpec(t, fullDiskSpec)
	_, stderr, code := runProcess(t, "run", spec, "--results", results)
	if code == 0 {
		t.Fatalf("run exited 0 with a full results disk; stderr:\n%s", stderr)
	}
	dir := regexp.QuoteMeta(results)
	for _, want := range []string{
		// the load generator's error, from the in-memory tail of its log
		`load generator failed: exit status 1; last lines of ` + dir + `/\S+/client\.log \(kept in memory: write ` + dir + `/\S+/client\.log: no space left on device\):\n\s+replbench: write ` + dir + `/\S+/(latency\.hlog|client\.json): no space left on device`,
		`write ` + dir + `/\S+/error\.txt: no space left on device`,
		`write ` + dir + `/\S+/summary\.csv: no space left on device`,
	} {
		if !regexp.MustCompile(want).MatchString(stderr) {
			t.Errorf("stderr does not match %s:\n%s", want, stderr)
		}
	}
}

// TestFullDiskForFigures: every point is measured and recorded, but the
// figures do not fit on the disk. The run must exit non-zero naming a
// figure it could not write, and not call itself finished.
func TestFullDiskForFigures(t *testing.T) {
	results := smallDisk(t, 32*4096) // the point's files take about 12 pages, the figures far more
	spec := writeSpec(t, fullDiskSpec)
	stdout, stderr, code := runProcess(t, "run", spec, "--results", results)
	if code == 0 {
		t.Fatalf("run exited 0 though its figures could not be written; stderr:\n%s", stderr)
	}
	rows := readSummary(t, results, "fulldisk")
	if len(rows) != 1 || num(t, rows[0], "throughput_ops") <= 0 {
		t.Fatalf("summary.csv %v: want the measured point (the disk should fill only with the figures)", rows)
	}
	want := `replbench: figures: .*write ` + regexp.QuoteMeta(results) + `/fulldisk/[^/]+/figures/\S+: no space left on device`
	if !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("stderr does not match %s:\n%s", want, stderr)
	}
	if strings.Contains(stdout, "\nfinished:") || !strings.Contains(stdout, "incomplete (figures not written)") {
		t.Errorf("stdout should call the run incomplete:\n%s", stdout)
	}
}
