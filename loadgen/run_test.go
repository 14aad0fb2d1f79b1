package loadgen

import (
	"context"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestRunCounts(t *testing.T) {
	const ms = time.Millisecond
	phases := func(w, m, c Counts) map[Phase]Counts {
		return map[Phase]Counts{Warmup: w, Measure: m, Cooldown: c}
	}
	tests := []struct {
		name    string
		callers int
		caller  behaviour
		cfg     Config
		want    map[Phase]Counts
		calls   int64         // over all callers
		length  time.Duration // End - Start
	}{{
		// Request k of a slot completes at 10k ms: k = 1..99 in warm-up,
		// 100..299 measured, 300..400 in cool-down (the last at its end).
		name:    "closed",
		callers: 2,
		caller:  behaviour{delay: 10 * ms},
		cfg:     Config{Mode: Closed, Outstanding: 3, Warmup: time.Second, Duration: 2 * time.Second, Cooldown: time.Second},
		want:    phases(Counts{Completed: 6 * 99}, Counts{Completed: 6 * 200}, Counts{Completed: 6 * 101}),
		calls:   6 * 400,
		length:  4 * time.Second,
	}, {
		// As above, one slot; every 4th request fails.
		name:    "closed with failures",
		callers: 1,
		caller:  behaviour{delay: 10 * ms, failEvery: 4},
		cfg:     Config{Warmup: time.Second, Duration: 2 * time.Second, Cooldown: time.Second},
		want: phases(
			Counts{Completed: 75, Failed: 24, Errors: 24},
			Counts{Completed: 150, Failed: 50, Errors: 50},
			Counts{Completed: 75, Failed: 26, Errors: 26}),
		calls:  400,
		length: 4 * time.Second,
	}, {
		// The first requests never return: they were due in warm-up, and
		// Run gives up after the grace period.
		name:    "closed dead server",
		callers: 3,
		caller:  behaviour{never: true},
		cfg:     Config{Outstanding: 2, Warmup: time.Second, Duration: 2 * time.Second, Cooldown: time.Second, Grace: 2 * time.Second},
		want:    phases(Counts{Unfinished: 6, Errors: 6}, Counts{}, Counts{}),
		calls:   6,
		length:  6 * time.Second,
	}, {
		// Request n is due at n ms and completes at n+1 ms: n = 0..998 in
		// warm-up, 999..2998 measured, 2999..3999 in cool-down.
		name:    "open",
		callers: 3,
		caller:  behaviour{delay: ms},
		cfg:     Config{Mode: Open, Rate: 1000, Warmup: time.Second, Duration: 2 * time.Second, Cooldown: time.Second},
		want:    phases(Counts{Completed: 999}, Counts{Completed: 2000}, Counts{Completed: 1001}),
		calls:   4000,
		length:  4 * time.Second,
	}, {
		// 500 requests are due per caller; 100 each fit in flight, the rest
		// are dropped.
		name:    "open dead server",
		callers: 2,
		caller:  behaviour{never: true},
		cfg:     Config{Mode: Open, Rate: 1000, Duration: time.Second, MaxInFlight: 100},
		want:    phases(Counts{}, Counts{Dropped: 800, Unfinished: 200, Errors: 1000}, Counts{}),
		calls:   200,
		length:  time.Second + DefaultGrace,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := newFakeClock()
				fakes, callers := fakeCallers(tt.callers, func() *fakeCaller {
					return &fakeCaller{clk: clk, behaviour: tt.caller}
				})
				tt.cfg.Payload = 100
				res, err := runFake(t, context.Background(), clk, callers, tt.cfg)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				for p := range numPhases {
					if got, want := res.Phases[p], tt.want[p]; got != want {
						t.Errorf("%v: got %+v, want %+v", p, got, want)
					}
				}
				m := tt.want[Measure]
				if res.Completed != m.Completed || res.Errors != m.Errors {
					t.Errorf("measured completed %d, errors %d; want %d, %d", res.Completed, res.Errors, m.Completed, m.Errors)
				}
				if got, want := res.Throughput, float64(m.Completed)/tt.cfg.Duration.Seconds(); got != want {
					t.Errorf("throughput %g, want %g", got, want)
				}
				if got := uint64(res.Latency.TotalCount()); got != m.Completed {
					t.Errorf("latency histogram holds %d values, want %d", got, m.Completed)
				}
				if got := res.End.Sub(res.Start); got != tt.length {
					t.Errorf("run took %v, want %v", got, tt.length)
				}
				var calls int64
				for i, f := range fakes {
					calls += f.calls.Load()
					if got := f.payload.Load(); f.calls.Load() > 0 && got != 100 {
						t.Errorf("caller %d got %d-byte payloads, want 100", i, got)
					}
					if tt.cfg.Mode != Open {
						k := max(tt.cfg.Outstanding, 1)
						if got := f.maxInFlight.Load(); got != int64(k) {
							t.Errorf("caller %d had at most %d requests in flight, want %d", i, got, k)
						}
					}
				}
				if calls != tt.calls {
					t.Errorf("%d calls, want %d", calls, tt.calls)
				}
				checkTimeline(t, res)
			})
		})
	}
}

// checkTimeline checks that the timeline tiles the run and adds up to the
// phase counts.
func checkTimeline(t *testing.T, res *Result) {
	t.Helper()
	var ops, errs [numPhases]uint64
	at := 0.0
	for i, s := range res.Timeline {
		if math.Abs(s.T-at) > 1e-9 {
			t.Errorf("timeline[%d] starts at %gs, want %gs", i, s.T, at)
		}
		at = s.T + s.Length
		var p Phase
		if err := p.UnmarshalText([]byte(s.Phase)); err != nil {
			t.Fatalf("timeline[%d]: %v", i, err)
		}
		ops[p] += s.Ops
		errs[p] += s.Errors
	}
	if want := res.End.Sub(res.Start).Seconds(); math.Abs(at-want) > 1e-9 {
		t.Errorf("timeline ends at %gs, the run at %gs", at, want)
	}
	for p := range numPhases {
		c := res.Phases[p]
		if ops[p] != c.Completed || errs[p] != c.Failed+c.Dropped {
			t.Errorf("%v timeline: %d ops, %d errors; phase counts %+v", p, ops[p], errs[p], c)
		}
	}
}

// A closed-loop latency is from call to completion: corrected and
// uncorrected agree, and every value is the server's delay.
func TestClosedLoopLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		_, callers := fakeCallers(2, func() *fakeCaller { return &fakeCaller{clk: clk, behaviour: behaviour{delay: 10 * time.Millisecond}} })
		res, err := runFake(t, context.Background(), clk, callers, Config{Outstanding: 4, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Latency.Equals(res.Uncorrected) {
			t.Errorf("corrected %+v and uncorrected %+v differ", Summarize(res.Latency), Summarize(res.Uncorrected))
		}
		for _, v := range []int64{res.Latency.Min(), res.Latency.Max()} {
			if !res.Latency.ValuesAreEquivalent(v, 10000) {
				t.Errorf("latency %dµs, want 10000µs", v)
			}
		}
	})
}

// When the caller blocks for half a second, the open loop keeps its schedule:
// the requests due meanwhile go out late, and only the corrected histogram
// shows how late.
func TestOpenLoopStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		f := &fakeCaller{clk: clk, behaviour: behaviour{delay: time.Millisecond}}
		f.stall(500*time.Millisecond, time.Second)
		res, err := runFake(t, context.Background(), clk, []Caller{f}, Config{Mode: Open, Rate: 1000, Duration: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// Requests due at 500..999 ms all complete at 1001 ms.
		cor, unc := Summarize(res.Latency), Summarize(res.Uncorrected)
		checks := []struct {
			name      string
			got, want float64
		}{
			{"uncorrected p90", unc.P90, 1000},
			{"uncorrected max", unc.Max, 501000}, // the call that blocked
			{"corrected p90", cor.P90, 302000},   // rank ⌈0.9 × 1999⌉ = 1800: the 301st smallest of the stalled 500, 2 + 300 ms
			{"corrected max", cor.Max, 501000},
		}
		for _, c := range checks {
			if !res.Latency.ValuesAreEquivalent(int64(c.got), int64(c.want)) {
				t.Errorf("%s = %gµs, want %gµs", c.name, c.got, c.want)
			}
		}
		if f.maxInFlight.Load() < 500 {
			t.Errorf("at most %d requests in flight; the stall should queue 500", f.maxInFlight.Load())
		}
		if got := res.Timeline[1].Max; !res.Latency.ValuesAreEquivalent(int64(got), 501000) {
			t.Errorf("second second's max %gµs, want 501000µs", got)
		}
	})
}

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clk.AfterFunc(1500*time.Millisecond, cancel)
		_, callers := fakeCallers(2, func() *fakeCaller { return &fakeCaller{clk: clk, behaviour: behaviour{delay: 10 * time.Millisecond}} })
		cfg := Config{Outstanding: 3, Warmup: time.Second, Duration: 2 * time.Second}
		res, err := runFake(t, ctx, clk, callers, cfg)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want %v", err, context.Canceled)
		}
		if res == nil {
			t.Fatal("no partial result")
		}
		// Completions at 1000..1490 ms are measured; those due at 1500 ms
		// lose to the cancellation and the last requests stay unfinished.
		want := Counts{Completed: 6 * 50, Unfinished: 6, Errors: 6}
		if got := res.Phases[Measure]; got != want {
			t.Errorf("measured %+v, want %+v", got, want)
		}
		if res.Measured != 500*time.Millisecond {
			t.Errorf("measured %v, want 500ms", res.Measured)
		}
		if res.Throughput != 600 {
			t.Errorf("throughput %g, want 600", res.Throughput)
		}
	})
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &fakeCaller{behaviour: behaviour{never: true}}
	if _, err := Run(ctx, []Caller{f}, Config{Duration: time.Second}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want %v", err, context.Canceled)
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d calls after cancellation", f.calls.Load())
	}
}

// timeCaller completes after a delay on the time package's clock.
type timeCaller struct{ delay time.Duration }

func (c timeCaller) Call(_ []byte, done func(error)) {
	time.AfterFunc(c.delay, func() { done(nil) })
}

// Without a Clock, Run uses the time package, here the bubble's fake clock.
func TestRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A delay that does not divide the duration keeps completions off
		// the instant issuing stops, where the order of events is open.
		res, err := Run(context.Background(), []Caller{timeCaller{3 * time.Millisecond}}, Config{Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// Completions at 3..999 ms; the one at 1002 ms falls in the cool-down.
		if res.Completed != 333 || res.Phases[Cooldown].Completed != 1 {
			t.Errorf("completed %d measured, %d after; want 333, 1", res.Completed, res.Phases[Cooldown].Completed)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	f := &fakeCaller{behaviour: behaviour{never: true}}
	tests := []struct {
		name    string
		callers []Caller
		cfg     Config
		want    string
	}{
		{"no callers", nil, Config{Duration: time.Second}, "no callers"},
		{"mode", []Caller{f}, Config{Mode: "half-open", Duration: time.Second}, `unknown mode "half-open"`},
		{"no duration", []Caller{f}, Config{}, "duration 0s is not positive"},
		{"no rate", []Caller{f}, Config{Mode: Open, Duration: time.Second}, "rate > 0"},
		{"NaN rate", []Caller{f}, Config{Mode: Open, Rate: math.NaN(), Duration: time.Second}, "rate > 0"},
		{"outstanding", []Caller{f}, Config{Outstanding: -1, Duration: time.Second}, "outstanding -1"},
		{"payload", []Caller{f}, Config{Payload: -1, Duration: time.Second}, "payload -1"},
		{"warmup", []Caller{f}, Config{Warmup: -time.Second, Duration: time.Second}, "negative warmup"},
		{"in flight", []Caller{f}, Config{Mode: Open, Rate: 1, MaxInFlight: -1, Duration: time.Second}, "max in flight -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.callers, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if f.calls.Load() != 0 {
		t.Errorf("%d calls made by invalid runs", f.calls.Load())
	}
}

func TestSummarize(t *testing.T) {
	h := newHistogram()
	for v := int64(1); v <= 1000; v++ {
		_ = h.RecordValue(v)
	}
	got := Summarize(h)
	want := Summary{Count: 1000, Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if got := Summarize(newHistogram()); got != (Summary{}) {
		t.Errorf("Summarize(empty) = %+v, want zero", got)
	}
}

// TestValueAtPercentileRank checks ValueAtPercentile against the definition
// in exact arithmetic: with the values 1 to n recorded once each (small
// enough to have a bucket each), the value at percentile p is the rank
// ⌈p/100 × n⌉, at least 1.
func TestValueAtPercentileRank(t *testing.T) {
	percentiles := []string{"0.1", "25", "33.3", "50", "90", "99", "99.9", "99.99", "100"}
	h, packed := newHistogram(), newPacked()
	for n := int64(1); n <= 1500; n++ {
		if err := h.RecordValue(n); err != nil {
			t.Fatal(err)
		}
		if err := packed.RecordValue(n); err != nil {
			t.Fatal(err)
		}
		for _, ps := range percentiles {
			p, _ := strconv.ParseFloat(ps, 64)
			exact, _ := new(big.Rat).SetString(ps)
			exact.Mul(exact, big.NewRat(n, 100))
			want := new(big.Int).Quo(exact.Num(), exact.Denom()).Int64() // floor
			if !exact.IsInt() {
				want++
			}
			want = max(want, 1)
			if got := ValueAtPercentile(h, p); got != want {
				t.Fatalf("p%s of 1..%d = %d, want %d", ps, n, got, want)
			}
			if got := ValueAtPercentile(packed, p); got != want {
				t.Fatalf("packed: p%s of 1..%d = %d, want %d", ps, n, got, want)
			}
		}
	}
	if got := ValueAtPercentile(newHistogram(), 99); got != 0 {
		t.Errorf("p99 of an empty histogram = %d, want 0", got)
	}
}

// The drain after the cool-down, the replies to requests still in flight
// when issuing stops, belongs to the cool-down's last slot: no slot a few
// milliseconds long, whose rate and percentiles rest on a handful of
// stragglers, ends the timeline, and none is empty.
func TestTimelineEndsWithDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		_, cs := fakeCallers(4, func() *fakeCaller { return &fakeCaller{clk: clk, behaviour: behaviour{delay: 70 * time.Millisecond}} })
		cfg := Config{Mode: Closed, Outstanding: 1, Warmup: time.Second, Duration: time.Second, Cooldown: time.Second}
		res, err := runFake(t, context.Background(), clk, cs, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tl := res.Timeline
		if len(tl) != 3 {
			t.Fatalf("%d slots, want 3 (warm-up, measure, cool-down with the drain): %+v", len(tl), tl)
		}
		last := tl[2]
		el := res.End.Sub(res.Start).Seconds()
		if last.Phase != "cooldown" || last.T != 2 || math.Abs(last.T+last.Length-el) > 1e-9 || last.Length <= 1 {
			t.Errorf("last slot %+v, want the cool-down from 2s to the run's end at %gs", last, el)
		}
		var ops uint64
		for _, s := range tl {
			ops += s.Ops
		}
		if want := res.Phases[Warmup].Completed + res.Phases[Measure].Completed + res.Phases[Cooldown].Completed; ops != want {
			t.Errorf("slots hold %d completions, the phases %d", ops, want)
		}
	})
}
