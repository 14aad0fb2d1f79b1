package loadgen

import (
	"fmt"
	"io"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what a run measured. Latencies are in microseconds.
type Result struct {
	Mode    string
	Callers int

	// Measure phase only.
	Throughput  float64                 // successful completions per second
	Completed   uint64                  // successful completions
	Errors      uint64                  // Phases[Measure].Errors
	Latency     *hdrhistogram.Histogram // from the due time (corrected)
	Uncorrected *hdrhistogram.Histogram // from the actual send time

	Phases   map[Phase]Counts
	Timeline []Second

	Start, End time.Time
	Measured   time.Duration // the part of Duration that ran (less if cancelled)

	lay   layout
	slots []*slot
}

// Second is one slot of the timeline: a second of one phase, or less at the
// end of a phase. Latency figures are corrected, in microseconds.
//
// Throughput is Ops/Length, so a slot cut short by the end of a phase or of
// the run rests on fewer completions than a full one.
type Second struct {
	T          float64 `json:"t"`      // start, seconds since the start of the run
	Length     float64 `json:"length"` // seconds
	Phase      string  `json:"phase"`  // warmup, measure or cooldown
	Ops        uint64  `json:"ops"`    // successful completions
	Errors     uint64  `json:"errors"` // failures and drops
	Throughput float64 `json:"throughput"`
	Mean       float64 `json:"mean"`
	P50        float64 `json:"p50"`
	P90        float64 `json:"p90"`
	P99        float64 `json:"p99"`
	Max        float64 `json:"max"`
}

// Summary condenses a latency histogram; values are in microseconds.
type Summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Summarize condenses h; its percentiles are ValueAtPercentile's.
func Summarize(h *hdrhistogram.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	return Summary{
		Count: uint64(h.TotalCount()),
		Mean:  h.Mean(),
		P50:   float64(ValueAtPercentile(h, 50)),
		P90:   float64(ValueAtPercentile(h, 90)),
		P99:   float64(ValueAtPercentile(h, 99)),
		P999:  float64(ValueAtPercentile(h, 99.9)),
		Max:   float64(h.Max()),
	}
}

// Histogram is what loadgen reads of hdrhistogram-go's Histogram and
// PackedHistogram.
type Histogram interface {
	TotalCount() int64
	ValueAtPercentile(percentile float64) int64
	Mean() float64
	Max() int64
}

// ValueAtPercentile is the value at percentile p (0 to 100) of h as
// HdrHistogram's reference implementations define it (Java's
// AbstractHistogram.getValueAtPercentile since 2.1.10, and hdr-histogram-js):
// the highest value equivalent to the one at rank ⌈p/100 × count⌉, at least
// rank 1, so that at least p percent of the values are at or below it. It is
// 0 for an empty histogram.
//
// hdrhistogram-go rounds the rank to the nearest instead, which gives the
// value one rank lower whenever p/100 × count has a fraction under a half
// (p99 of 1069 values: rank 1058 where HdrHistogram's readers take 1059).
// So the rank is computed here as Java computes it, and the library is asked
// for the percentile that its own rounding turns into exactly that rank.
func ValueAtPercentile(h Histogram, p float64) int64 {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return h.ValueAtPercentile(0) // the lowest value equivalent to the smallest, as in Java
	}
	// Java takes one ulp off the percentile so that a product that should be
	// a whole number does not round up past it.
	req := min(math.Nextafter(p, math.Inf(-1)), 100)
	rank := min(max(int64(math.Ceil(req*float64(n)/100)), 1), n)
	// The library's rank is ⌊q/100 × n + ½⌋; for q = 100 × rank / n that
	// is rank + ½ up to rounding far smaller than ½, hence exactly rank.
	return h.ValueAtPercentile(100 * float64(rank) / float64(n))
}

// Summary condenses the corrected latency of the measure phase.
func (r *Result) Summary() Summary { return Summarize(r.Latency) }

// result assembles the Result once every shard is closed.
func (r *runner) result(end time.Time) *Result {
	rec := r.rec
	rec.mu.Lock()
	defer rec.mu.Unlock()

	el := int64(end.Sub(r.start))
	res := &Result{
		Mode:        r.cfg.Mode,
		Callers:     len(r.shards),
		Latency:     rec.latency,
		Uncorrected: rec.uncorrected,
		Phases:      make(map[Phase]Counts, numPhases),
		Start:       r.start,
		End:         end,
		Measured:    time.Duration(min(max(el-rec.lay.warmup, 0), rec.lay.measure)),
		lay:         rec.lay,
		slots:       rec.slots,
	}
	for p, c := range rec.counts {
		res.Phases[Phase(p)] = c
	}
	m := rec.counts[Measure]
	res.Completed, res.Errors = m.Completed, m.Errors
	if res.Measured > 0 {
		res.Throughput = float64(m.Completed) / res.Measured.Seconds()
	}

	// Every slot up to the end appears, empty or not, so the timeline has no gaps.
	n := len(rec.slots)
	if el > 0 {
		last, _ := rec.lay.locate(el - 1)
		n = max(n, last+1)
	}
	for i := range n {
		res.Timeline = append(res.Timeline, res.second(i, el))
	}
	return res
}

func (r *Result) second(i int, runEnd int64) Second {
	start, end, p := r.lay.span(i)
	end = min(end, max(runEnd, start)) // the slot the run ended in is cut short
	s := Second{
		T:      float64(start) / float64(time.Second),
		Length: float64(end-start) / float64(time.Second),
		Phase:  p.String(),
	}
	if i >= len(r.slots) || r.slots[i] == nil {
		return s
	}
	sl := r.slots[i]
	s.Ops, s.Errors = sl.completed, sl.errors
	if s.Length > 0 {
		s.Throughput = float64(sl.completed) / s.Length
	}
	s.SetLatency(sl.latency)
	return s
}

// SetLatency sets s's latency figures from the slot's corrected histogram h;
// an empty h leaves them zero.
func (s *Second) SetLatency(h Histogram) {
	if h.TotalCount() == 0 {
		return
	}
	s.Mean = h.Mean()
	s.P50 = float64(ValueAtPercentile(h, 50))
	s.P90 = float64(ValueAtPercentile(h, 90))
	s.P99 = float64(ValueAtPercentile(h, 99))
	s.Max = float64(h.Max())
}

// Tags of the interval histograms in the log written by WriteHlog.
// UncorrectedSuffix ends the tags of the uncorrected histograms in a
// latency log: "<phase>" is corrected latency, "<phase>-uncorrected" not.
const UncorrectedSuffix = "-uncorrected"

// NewHlogWriter starts a latency log of a run that started at start: it
// writes the header WriteHlog's logs have and returns the writer and the
// start in Unix milliseconds, from which interval times are counted. Other
// writers of such logs (the merge of several load generators') use it, so
// that every latency log reads the same.
func NewHlogWriter(w io.Writer, start time.Time) (*hdrhistogram.HistogramLogWriter, int64, error) {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	startMs := start.UnixMilli()
	// The log states its base time in whole seconds; interval times are
	// written relative to that same second so that readers recover them.
	baseMs := startMs - startMs%1000
	lw.SetBaseTime(baseMs)
	steps := []func() error{
		lw.OutputLogFormatVersion,
		func() error {
			return lw.OutputComment("[Values in microseconds; Interval_Max in seconds. Tag <phase>: latency from the due time (corrected); <phase>" +
				UncorrectedSuffix + ": from the send time]")
		},
		func() error { return lw.OutputStartTime(startMs) },
		func() error { return lw.OutputBaseTime(baseMs) },
		lw.OutputLegend,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, 0, fmt.Errorf("write hlog header: %w", err)
		}
	}
	return lw, startMs, nil
}

// WriteHlog writes the timeline's histograms as an HdrHistogram interval log.
// Each slot gives two histograms: the corrected one, tagged with its phase
// ("warmup", "measure", "cooldown"), and the uncorrected one, tagged with the
// phase and "-uncorrected". Values are microseconds, so the log's
// Interval_Max column, which hdrhistogram-go divides by a million, is in
// seconds, and HdrHistogram's HistogramLogProcessor reports milliseconds
// with -outputValueUnitRatio 1000.
func (r *Result) WriteHlog(w io.Writer) error {
	lw, startMs, err := NewHlogWriter(w, r.Start)
	if err != nil {
		return err
	}
	for i, sec := range r.Timeline {
		// Copies, so that writing stamps no tag or time on the result's own.
		lat, unc := newPacked(), newPacked()
		if i < len(r.slots) && r.slots[i] != nil {
			lat, unc = r.slots[i].latency.Clone(), r.slots[i].uncorrected.Clone()
		}
		from := startMs + int64(math.Round(sec.T*1000))
		to := from + int64(math.Round(sec.Length*1000))
		for _, h := range []struct {
			h   *hdrhistogram.PackedHistogram
			tag string
		}{{lat, sec.Phase}, {unc, sec.Phase + UncorrectedSuffix}} {
			h.h.SetStartTimeMs(from)
			h.h.SetEndTimeMs(to)
			h.h.SetTag(h.tag)
			if err := lw.OutputIntervalPackedHistogram(h.h); err != nil {
				return fmt.Errorf("write hlog interval at %.3fs: %w", sec.T, err)
			}
		}
	}
	return nil
}
