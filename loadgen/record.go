package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision; values are microseconds.
const (
	minLatency = 1
	maxLatency = int64(60 * time.Second / time.Microsecond)
	sigFigs    = 3
)

func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(minLatency, maxLatency, sigFigs) }

func newPacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(minLatency, maxLatency, sigFigs)
}

// micros converts a latency in nanoseconds to the histogram unit, rounding to
// the nearest microsecond and clamping to the histogram's range.
func micros(ns int64) int64 {
	us := (ns + 500) / 1000
	return min(max(us, 0), maxLatency)
}

// Phase is a part of a run; see the package documentation.
type Phase uint8

// Phases in run order.
const (
	Warmup Phase = iota
	Measure
	Cooldown
	numPhases
)

var phaseNames = [numPhases]string{"warmup", "measure", "cooldown"}

func (p Phase) String() string {
	if p < numPhases {
		return phaseNames[p]
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText makes phases readable as JSON map keys.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a phase name written by MarshalText.
func (p *Phase) UnmarshalText(b []byte) error {
	for i, n := range phaseNames {
		if string(b) == n {
			*p = Phase(i)
			return nil
		}
	}
	return fmt.Errorf("loadgen: unknown phase %q", b)
}

// layout maps a time since the start of a run to its phase and its timeline
// slot. Slots are one second long and aligned to phase starts, so no slot
// straddles two phases; the last slot of a phase may be shorter. The
// cool-down has no end: its last slot also holds the drain after issuing
// stops and ends when the run does, so that the stragglers of the drain are
// not a slot of their own, a few milliseconds long, whose rate and
// percentiles would stand for a second of load.
type layout struct {
	warmup, measure             int64 // phase lengths in nanoseconds
	nWarmup, nMeasure, nCooling int   // slots per phase; the cool-down has at least one
}

const slotLength = int64(time.Second)

func newLayout(warmup, measure, cooldown time.Duration) layout {
	ceil := func(d time.Duration) int { return int((int64(d) + slotLength - 1) / slotLength) }
	return layout{
		warmup:   int64(warmup),
		measure:  int64(measure),
		nWarmup:  ceil(warmup),
		nMeasure: ceil(measure),
		nCooling: max(ceil(cooldown), 1),
	}
}

func (l layout) phase(t int64) Phase {
	switch {
	case t < l.warmup:
		return Warmup
	case t < l.warmup+l.measure:
		return Measure
	default:
		return Cooldown
	}
}

// locate returns the slot and phase of time t.
func (l layout) locate(t int64) (int, Phase) {
	t = max(t, 0)
	switch p := l.phase(t); p {
	case Warmup:
		return int(t / slotLength), p
	case Measure:
		return l.nWarmup + int((t-l.warmup)/slotLength), p
	default:
		return l.nWarmup + l.nMeasure + min(int((t-l.warmup-l.measure)/slotLength), l.nCooling-1), p
	}
}

// span returns the bounds and phase of slot i; the last slot ends at
// math.MaxInt64, that is when the run ends.
func (l layout) span(i int) (start, end int64, p Phase) {
	switch {
	case i < l.nWarmup:
		start = int64(i) * slotLength
		return start, min(start+slotLength, l.warmup), Warmup
	case i < l.nWarmup+l.nMeasure:
		start = l.warmup + int64(i-l.nWarmup)*slotLength
		return start, min(start+slotLength, l.warmup+l.measure), Measure
	default:
		j := i - l.nWarmup - l.nMeasure
		start = l.warmup + l.measure + int64(j)*slotLength
		if j >= l.nCooling-1 {
			return start, math.MaxInt64, Cooldown
		}
		return start, start + slotLength, Cooldown
	}
}

// Counts are the outcomes of the requests of one phase. Completions and
// failures belong to the phase in which they happened; dropped and unfinished
// requests to the phase in which they were due.
type Counts struct {
	Completed  uint64 `json:"completed"`  // done without error
	Errors     uint64 `json:"errors"`     // Failed + Dropped + Unfinished
	Failed     uint64 `json:"failed"`     // done with an error
	Dropped    uint64 `json:"dropped"`    // open loop: not sent, MaxInFlight reached
	Unfinished uint64 `json:"unfinished"` // not done when the run ended
}

type outcome uint8

const (
	succeeded outcome = iota
	failed
	dropped
)

// sample is one request's outcome; times are nanoseconds since the start.
type sample struct {
	intended, sent, done int64
	outcome              outcome
}

// slot holds what completed in one timeline slot.
type slot struct {
	latency, uncorrected *hdrhistogram.PackedHistogram
	completed, errors    uint64
}

// recorder turns samples into histograms and counts. Samples arrive in
// batches, so its lock is taken once per batch, not once per request; slots
// use sparse histograms so that a long run's timeline stays small.
type recorder struct {
	mu                   sync.Mutex
	lay                  layout
	latency, uncorrected *hdrhistogram.Histogram // measure phase only
	counts               [numPhases]Counts
	slots                []*slot
}

func newRecorder(lay layout) *recorder {
	return &recorder{lay: lay, latency: newHistogram(), uncorrected: newHistogram()}
}

func (r *recorder) record(batch []sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range batch {
		r.add(s)
	}
}

func (r *recorder) add(s sample) {
	i, p := r.lay.locate(s.done)
	for len(r.slots) <= i {
		r.slots = append(r.slots, nil)
	}
	sl := r.slots[i]
	if sl == nil {
		sl = &slot{latency: newPacked(), uncorrected: newPacked()}
		r.slots[i] = sl
	}
	c := &r.counts[p]
	switch s.outcome {
	case succeeded:
		c.Completed++
		sl.completed++
		// micros clamps into the histograms' range, so recording cannot fail.
		lat, unc := micros(s.done-s.intended), micros(s.done-s.sent)
		_ = sl.latency.RecordValue(lat)
		_ = sl.uncorrected.RecordValue(unc)
		if p == Measure {
			_ = r.latency.RecordValue(lat)
			_ = r.uncorrected.RecordValue(unc)
		}
	case failed:
		c.Failed++
		c.Errors++
		sl.errors++
	case dropped:
		c.Dropped++
		c.Errors++
		sl.errors++
	}
}

func (r *recorder) addUnfinished(pending *[numPhases]uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p, n := range pending {
		r.counts[p].Unfinished += n
		r.counts[p].Errors += n
	}
}

// batchSize trades the recorder lock's traffic against how much a shard buffers.
const batchSize = 256

// shard is one caller's side of the accounting. Completions of a caller take
// only its shard's lock; the shard hands full batches to the recorder.
type shard struct {
	run    *runner
	caller Caller
	source Source // payloads; used only by the goroutine that issues the caller's requests

	mu       sync.Mutex
	closed   bool
	pending  [numPhases]uint64 // admitted, not done, by phase of the due time
	inFlight int
	buf      []sample

	tokens chan struct{} // closed loop: one per free request slot
	queue  chan int64    // open loop: due times admitted, not yet sent
}

func newShard(run *runner, c Caller, src Source) *shard {
	return &shard{run: run, caller: c, source: src, buf: make([]sample, 0, batchSize)}
}

// admit accounts for a request due at intended, or refuses it when the shard
// is closed or, with limit > 0, when limit requests are already in flight:
// that one is recorded as dropped.
func (s *shard) admit(intended int64, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if limit > 0 && s.inFlight >= limit {
		s.add(sample{intended: intended, sent: intended, done: intended, outcome: dropped})
		return false
	}
	s.pending[s.run.lay.phase(intended)]++
	s.inFlight++
	s.run.outstanding.Add(1)
	return true
}

// complete records an admitted request's outcome. After the shard is closed
// it records nothing: the run's result is already out.
func (s *shard) complete(intended, sent int64, err error) {
	smp := sample{intended: intended, sent: sent, done: s.run.elapsed()}
	if err != nil {
		smp.outcome = failed
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.pending[s.run.lay.phase(intended)]--
	s.inFlight--
	s.add(smp)
	s.mu.Unlock()

	if s.run.outstanding.Add(-1) == 0 {
		select {
		case s.run.idle <- struct{}{}:
		default:
		}
	}
	if s.tokens != nil {
		select {
		case s.tokens <- struct{}{}:
		default:
		}
	}
}

// add buffers a sample; s.mu is held. Flushing under the shard lock orders
// every flush before close returns.
func (s *shard) add(smp sample) {
	s.buf = append(s.buf, smp)
	if len(s.buf) == cap(s.buf) {
		s.run.rec.record(s.buf)
		s.buf = s.buf[:0]
	}
}

// close stops the shard's accounting, flushes it and counts what is still
// in flight as unfinished.
func (s *shard) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.run.rec.record(s.buf)
	s.buf = nil
	s.run.rec.addUnfinished(&s.pending)
}
