package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
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
