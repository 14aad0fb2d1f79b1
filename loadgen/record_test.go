package loadgen

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

func TestConstantPacer(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		rate    float64
		elapsed time.Duration
		sent    uint64
		want    time.Duration
	}{
		{1000, 0, 0, 0},
		{1000, 0, 1, ms},
		{1000, 5 * ms, 1, -4 * ms}, // late: due 4 ms ago
		{1000, 999 * ms, 1000, ms},
		{3, 0, 1, 333333333 * time.Nanosecond},
		{3, 0, 2, 666666667 * time.Nanosecond}, // rounded, not truncated
		{0.5, time.Second, 1, time.Second},
		{0, 0, 0, math.MaxInt64},
		{-1, 0, 5, math.MaxInt64},
		{1e-9, 0, math.MaxUint64, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := (ConstantPacer{Rate: tt.rate}).Due(tt.elapsed, tt.sent); got != tt.want {
			t.Errorf("ConstantPacer{%g}.Due(%v, %d) = %v, want %v", tt.rate, tt.elapsed, tt.sent, got, tt.want)
		}
	}
}

func TestLayout(t *testing.T) {
	const s = time.Second
	l := newLayout(2500*time.Millisecond, 2*s, 1500*time.Millisecond)
	locate := []struct {
		t     time.Duration
		slot  int
		phase Phase
	}{
		{-s, 0, Warmup},
		{0, 0, Warmup},
		{2499 * time.Millisecond, 2, Warmup},
		{2500 * time.Millisecond, 3, Measure},
		{3499 * time.Millisecond, 3, Measure},
		{3500 * time.Millisecond, 4, Measure},
		{4499 * time.Millisecond, 4, Measure},
		{4500 * time.Millisecond, 5, Cooldown},
		{5499 * time.Millisecond, 5, Cooldown},
		{5500 * time.Millisecond, 6, Cooldown},
		{6 * s, 6, Cooldown}, // the drain: in the cool-down's last slot
		{10 * s, 6, Cooldown},
	}
	for _, tt := range locate {
		if slot, p := l.locate(int64(tt.t)); slot != tt.slot || p != tt.phase {
			t.Errorf("locate(%v) = %d, %v; want %d, %v", tt.t, slot, p, tt.slot, tt.phase)
		}
	}
	spans := []struct {
		slot       int
		start, end time.Duration
		phase      Phase
	}{
		{0, 0, s, Warmup},
		{2, 2 * s, 2500 * time.Millisecond, Warmup},
		{3, 2500 * time.Millisecond, 3500 * time.Millisecond, Measure},
		{4, 3500 * time.Millisecond, 4500 * time.Millisecond, Measure},
		{5, 4500 * time.Millisecond, 5500 * time.Millisecond, Cooldown},
		{6, 5500 * time.Millisecond, math.MaxInt64, Cooldown}, // ends with the run
	}
	for _, tt := range spans {
		start, end, p := l.span(tt.slot)
		if start != int64(tt.start) || end != int64(tt.end) || p != tt.phase {
			t.Errorf("span(%d) = %v..%v %v; want %v..%v %v", tt.slot,
				time.Duration(start), time.Duration(end), p, tt.start, tt.end, tt.phase)
		}
	}
}

// Without a cool-down, the drain still has a slot of its own, in the
// cool-down phase, ending with the run.
func TestLayoutNoCooldown(t *testing.T) {
	l := newLayout(time.Second, time.Second, 0)
	if slot, p := l.locate(int64(5 * time.Second)); slot != 2 || p != Cooldown {
		t.Errorf("locate(5s) = %d, %v; want 2, cooldown", slot, p)
	}
	if start, end, p := l.span(2); start != int64(2*time.Second) || end != math.MaxInt64 || p != Cooldown {
		t.Errorf("span(2) = %v..%d %v; want 2s..MaxInt64 cooldown", time.Duration(start), end, p)
	}
}

func TestMicros(t *testing.T) {
	for _, tt := range []struct{ ns, us int64 }{
		{-5, 0}, {0, 0}, {499, 0}, {500, 1}, {1499, 1}, {10_000_000, 10_000},
		{int64(time.Hour), maxLatency},
	} {
		if got := micros(tt.ns); got != tt.us {
			t.Errorf("micros(%d) = %d, want %d", tt.ns, got, tt.us)
		}
	}
}

// fixedClock stands still, so that a benchmark measures recording alone.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                         { return c.t }
func (c fixedClock) After(d time.Duration) <-chan time.Time { return nil }

// BenchmarkRecord measures the accounting of one request, admission and
// completion, with every goroutine completing into its own caller's shard as
// the callers of a run do. With the real clock, the two clock readings a
// request needs anyway are part of the cost; with a fixed one, latencies are
// spread over 1..1000 µs so the histograms see varied values.
func BenchmarkRecord(b *testing.B) {
	for _, clk := range []struct {
		name string
		c    Clock
	}{{"real-clock", realClock{}}, {"fixed-clock", fixedClock{time.Now()}}} {
		b.Run(clk.name, func(b *testing.B) {
			r := newRunner(make([]Caller, 64), Config{Duration: time.Hour, Clock: clk.c})
			r.start = r.clk.Now().Add(-time.Second)
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := r.shards[int(next.Add(1)-1)%len(r.shards)]
				for i := int64(0); pb.Next(); i++ {
					due := r.elapsed() - (i%1000)*int64(time.Microsecond)
					s.admit(due, 0)
					s.complete(due, due, nil)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "completions/s")
			if got := uint64(r.rec.latency.TotalCount()) + uint64(len(r.shards))*batchSize; got < uint64(b.N) {
				b.Fatalf("recorded %d of %d completions", got, b.N)
			}
		})
	}
}

// instantCaller completes every request within Call.
type instantCaller struct{}

func (instantCaller) Call(_ []byte, done func(error)) { done(nil) }

// BenchmarkClosedLoop measures the most a closed loop can drive on the real
// clock: the load generator's own ceiling.
func BenchmarkClosedLoop(b *testing.B) {
	callers := []Caller{instantCaller{}, instantCaller{}}
	var total float64
	b.ReportAllocs()
	for b.Loop() {
		res, err := Run(b.Context(), callers, Config{Outstanding: 4, Duration: 100 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		total += res.Throughput
	}
	b.ReportMetric(total/float64(b.N), "req/s")
}
