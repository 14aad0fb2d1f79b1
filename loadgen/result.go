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

// Summarize condenses h.
func Summarize(h *hdrhistogram.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	q := h.ValueAtPercentiles([]float64{50, 90, 99, 99.9})
	return Summary{
		Count: uint64(h.TotalCount()),
		Mean:  h.Mean(),
		P50:   float64(q[50]),
		P90:   float64(q[90]),
		P99:   float64(q[99]),
		P999:  float64(q[99.9]),
		Max:   float64(h.Max()),
	}
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
	if h := sl.latency; h.TotalCount() > 0 {
		q := h.ValueAtPercentilesSlice([]float64{50, 90, 99})
		s.Mean = h.Mean()
		s.P50, s.P90, s.P99 = float64(q[0]), float64(q[1]), float64(q[2])
		s.Max = float64(h.Max())
	}
	return s
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
