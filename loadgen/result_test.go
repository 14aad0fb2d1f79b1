package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/replbench/replbench/internal/hdrjs"
)

func TestHlogRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		// Start off a whole second so that interval times must keep the fraction.
		clk.now = clk.now.Add(250 * time.Millisecond)
		f := &fakeCaller{clk: clk, behaviour: behaviour{delay: 2 * time.Millisecond}}
		f.stall(1200*time.Millisecond, 1500*time.Millisecond)
		cfg := Config{Mode: Open, Rate: 500, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, Cooldown: time.Second}
		res, err := runFake(t, context.Background(), clk, []Caller{f}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := res.WriteHlog(&buf); err != nil {
			t.Fatal(err)
		}

		r := hdrhistogram.NewHistogramLogReader(&buf)
		merged := map[string]*hdrhistogram.Histogram{}
		n := 0
		for {
			h, err := r.NextIntervalHistogram()
			if err != nil {
				t.Fatalf("read interval %d: %v", n, err)
			}
			if h == nil {
				break
			}
			if n == 0 && h.StartTimeMs() != res.Start.UnixMilli() {
				t.Errorf("first interval starts at %dms, the run at %dms", h.StartTimeMs(), res.Start.UnixMilli())
			}
			if merged[h.Tag()] == nil {
				merged[h.Tag()] = newHistogram()
			}
			merged[h.Tag()].Merge(h)
			n++
		}
		if want := 2 * len(res.Timeline); n != want {
			t.Errorf("read %d interval histograms, want %d", n, want)
		}
		for _, c := range []struct {
			tag  string
			want *hdrhistogram.Histogram
		}{{"measure", res.Latency}, {"measure-uncorrected", res.Uncorrected}} {
			got := merged[c.tag]
			if got == nil || !got.Equals(c.want) {
				t.Errorf("tag %s: read back %+v, want %+v", c.tag, Summarize(got), Summarize(c.want))
			}
		}
		for p := range numPhases {
			want := int64(res.Phases[p].Completed)
			for _, tag := range []string{p.String(), p.String() + UncorrectedSuffix} {
				if h := merged[tag]; h == nil || h.TotalCount() != want {
					t.Errorf("tag %s: read back %v values, want %d", tag, h, want)
				}
			}
		}
		if res.Latency.Equals(res.Uncorrected) {
			t.Error("the stall should make corrected and uncorrected differ")
		}
	})
}

func TestPhaseJSON(t *testing.T) {
	in := map[Phase]Counts{Warmup: {Completed: 1}, Measure: {Completed: 2, Errors: 1, Failed: 1}, Cooldown: {}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"measure":{"completed":2,`) {
		t.Errorf("phases encode as %s", b)
	}
	var out map[Phase]Counts
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) || out[Measure] != in[Measure] || out[Warmup] != in[Warmup] {
		t.Errorf("round trip gave %+v, want %+v", out, in)
	}
	var p Phase
	if err := p.UnmarshalText([]byte("lukewarm")); err == nil {
		t.Error("an unknown phase name was accepted")
	}
}

// TestPercentilesMatchHdrHistogram reads the latency log a run writes with
// HdrHistogram's JavaScript implementation and wants the summary the run
// reports (what summary.csv and summary.json hold) to agree exactly.
func TestPercentilesMatchHdrHistogram(t *testing.T) {
	hdrjs.Need(t)
	var res *Result
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		// Latencies from 100 µs to 9.1 ms in steps of 9 µs, wider than the
		// histogram's buckets there, so neighbouring ranks hold different
		// values. About 1070 measured requests put 0.99 × count a little
		// above a whole rank, where rounding the rank to the nearest and
		// rounding it up differ.
		f := &fakeCaller{clk: clk, behaviour: behaviour{delayOf: func(n int64) time.Duration {
			return time.Duration(100+n*7919%1000*9) * time.Microsecond
		}}}
		cfg := Config{Mode: Open, Rate: 535, Warmup: 300 * time.Millisecond, Duration: 2 * time.Second, Cooldown: 300 * time.Millisecond}
		var err error
		if res, err = runFake(t, context.Background(), clk, []Caller{f}, cfg); err != nil {
			t.Fatal(err)
		}
	})
	path := filepath.Join(t.TempDir(), "latency.hlog")
	var buf bytes.Buffer
	if err := res.WriteHlog(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The fixture must be one where the definitions differ, or the test
	// would pass whatever the definition.
	if n := res.Latency.TotalCount(); res.Latency.ValueAtPercentile(99) == ValueAtPercentile(res.Latency, 99) {
		t.Fatalf("with %d measured requests, rounding p99's rank to nearest and up give the same value; choose another rate", n)
	}
	got := hdrjs.Read(t, path, "measure", "measure"+UncorrectedSuffix)
	for i, h := range []*hdrhistogram.Histogram{res.Latency, res.Uncorrected} {
		s := Summarize(h)
		ours := hdrjs.Summary{Tag: got[i].Tag, Intervals: got[i].Intervals, Count: int64(s.Count),
			P50: int64(s.P50), P90: int64(s.P90), P99: int64(s.P99), P999: int64(s.P999), Max: int64(s.Max)}
		if ours != got[i] {
			t.Errorf("replbench:       %v\nhdr-histogram-js: %v", ours, got[i])
		}
	}
}
