// Package hdrjs lets tests read replbench's HdrHistogram interval logs with
// HdrHistogram's own JavaScript implementation (hdr-histogram-js, pinned in
// scripts/hdrjs), an independent reader that the Go figures must agree with.
package hdrjs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireEnv set to 1 turns a missing node or hdr-histogram-js from a skip
// into a failure; CI sets it after scripts/install-test-deps.sh.
const RequireEnv = "REPLBENCH_REQUIRE_HDRJS"

// Summary is what hdr-histogram-js reports for one tag of a log: the
// interval histograms with that tag added up. Values are in the log's unit.
type Summary struct {
	Tag       string `json:"tag"`
	Intervals int    `json:"intervals"`
	Count     int64  `json:"count"`
	P50       int64  `json:"p50"`
	P90       int64  `json:"p90"`
	P99       int64  `json:"p99"`
	P999      int64  `json:"p999"`
	Max       int64  `json:"max"`
}

// dir is scripts/hdrjs of this checkout.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "hdrjs")
}

// Need skips t, or fails it when RequireEnv is 1, unless node and
// hdr-histogram-js are installed.
func Need(t testing.TB) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("node"); err != nil {
		why = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(dir(), "node_modules", "hdr-histogram-js", "package.json")); err != nil {
		why = "hdr-histogram-js is not installed in scripts/hdrjs"
	}
	if why == "" {
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s=1 but %s (scripts/install-test-deps.sh installs it)", RequireEnv, why)
	}
	t.Skipf("%s, so percentiles are not compared with HdrHistogram's own reader (scripts/install-test-deps.sh installs it; set %s=1 to fail instead)", why, RequireEnv)
}

// Read decodes the interval log at path with hdr-histogram-js and returns
// the summary of each tag, in the order given. Call Need first.
func Read(t testing.TB, path string, tags ...string) []Summary {
	t.Helper()
	cmd := exec.Command("node", append([]string{filepath.Join(dir(), "hlog-summary.js"), path}, tags...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hdr-histogram-js reading %s: %v: %s", path, err, stderr.String())
	}
	var sums []Summary
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var s Summary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("hdr-histogram-js output %q: %v", sc.Text(), err)
		}
		sums = append(sums, s)
	}
	if len(sums) != len(tags) {
		t.Fatalf("hdr-histogram-js gave %d summaries for %d tags: %s", len(sums), len(tags), out)
	}
	for i, s := range sums {
		if s.Tag != tags[i] {
			t.Fatalf("hdr-histogram-js summary %d is of tag %q, want %q", i, s.Tag, tags[i])
		}
	}
	return sums
}

// String is the summary in one line, for test failures.
func (s Summary) String() string {
	return fmt.Sprintf("%s: %d intervals, count %d, p50 %d, p90 %d, p99 %d, p99.9 %d, max %d",
		s.Tag, s.Intervals, s.Count, s.P50, s.P90, s.P99, s.P999, s.Max)
}
