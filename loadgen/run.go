package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Run drives load through callers as cfg says and returns what it measured.
//
// It issues requests for Warmup+Duration+Cooldown, then waits up to Grace for
// those in flight; the ones still out count as unfinished errors, so a dead
// system makes Run return rather than hang. Cancelling ctx stops the run at
// once: Run returns ctx.Err() with the partial result. A Call that has not
// returned when Run does may still complete; its outcome is ignored.
func Run(ctx context.Context, callers []Caller, cfg Config) (*Result, error) {
	cfg, err := cfg.normalize(len(callers))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := newRunner(callers, cfg)
	r.launch()

	issueEnd := cfg.Warmup + cfg.Duration + cfg.Cooldown
	select {
	case <-r.clk.After(issueEnd - time.Duration(r.elapsed())):
	case <-ctx.Done():
		return r.finish(), ctx.Err()
	}
	r.stopIssuing()
	drained := r.drained()
	select {
	case <-drained:
	case <-r.clk.After(cfg.Grace):
	case <-ctx.Done():
		return r.finish(), ctx.Err()
	}
	return r.finish(), nil
}

type runner struct {
	cfg    Config
	clk    Clock
	start  time.Time
	lay    layout
	rec    *recorder
	shards []*shard

	outstanding atomic.Int64  // admitted and not done, over all shards
	idle        chan struct{} // signalled when outstanding drops to zero

	stop    chan struct{} // closed when issuing ends
	stopped bool
	quit    chan struct{} // closed when the result is taken
	issuers sync.WaitGroup
}

func newRunner(callers []Caller, cfg Config) *runner {
	lay := newLayout(cfg.Warmup, cfg.Duration, cfg.Cooldown)
	r := &runner{
		cfg:  cfg,
		clk:  cfg.Clock,
		lay:  lay,
		rec:  newRecorder(lay),
		idle: make(chan struct{}, 1),
		stop: make(chan struct{}),
		quit: make(chan struct{}),
	}
	w := cfg.Workload
	if w == nil {
		w = Fixed(make([]byte, cfg.Payload))
	}
	for i, c := range callers {
		r.shards = append(r.shards, newShard(r, c, w.Source(i, len(callers))))
	}
	return r
}

// elapsed is the time since the start in nanoseconds, the unit of samples.
func (r *runner) elapsed() int64 { return int64(r.clk.Now().Sub(r.start)) }

func (r *runner) launch() {
	r.start = r.clk.Now()
	switch r.cfg.Mode {
	case Closed:
		for _, s := range r.shards {
			s.tokens = make(chan struct{}, r.cfg.Outstanding)
			for range r.cfg.Outstanding {
				s.tokens <- struct{}{}
			}
			r.issuers.Add(1)
			go r.closedLoop(s)
		}
	case Open:
		for _, s := range r.shards {
			s.queue = make(chan int64, r.cfg.MaxInFlight)
			r.issuers.Add(1)
			go r.send(s)
		}
		r.issuers.Add(1)
		go r.pace()
	}
}

// closedLoop issues a request whenever one of the shard's slots is free.
func (r *runner) closedLoop(s *shard) {
	defer r.issuers.Done()
	for {
		select {
		case <-r.stop:
			return
		case <-s.tokens:
		}
		// Both may be ready; a stopped run must not issue.
		select {
		case <-r.stop:
			return
		default:
		}
		now := r.elapsed()
		if !s.admit(now, 0) {
			return
		}
		r.call(s, now, now)
	}
}

// pace hands due times to the shards in turn until the next one falls after
// issuing ends. When it is late it catches up at once: the due times stay
// those of the schedule, which is what the corrected histogram measures from.
func (r *runner) pace() {
	defer r.issuers.Done()
	defer func() {
		for _, s := range r.shards {
			close(s.queue)
		}
	}()
	end := int64(r.cfg.Warmup + r.cfg.Duration + r.cfg.Cooldown)
	n := len(r.shards)
	for sent := uint64(0); ; {
		el := r.elapsed()
		wait := int64(r.cfg.Pacer.Due(time.Duration(el), sent))
		if wait >= end-el {
			return
		}
		if wait > 0 {
			select {
			case <-r.clk.After(time.Duration(wait)):
				continue
			case <-r.quit:
				return
			}
		}
		select {
		case <-r.quit:
			return
		default:
		}
		due := el + wait
		s := r.shards[sent%uint64(n)]
		if s.admit(due, r.cfg.MaxInFlight) {
			s.queue <- due // admit bounds the queue below its capacity
		}
		sent++
	}
}

// send issues the due times the pacer queued for one shard, late if the
// caller is slow.
func (r *runner) send(s *shard) {
	defer r.issuers.Done()
	for due := range s.queue {
		select {
		case <-r.quit:
			return
		default:
		}
		r.call(s, due, r.elapsed())
	}
}

func (r *runner) call(s *shard, intended, sent int64) {
	q := &request{shard: s, intended: intended, sent: sent}
	s.caller.Call(s.source.Next(), q.done)
}

// request is one admitted request awaiting its completion.
type request struct {
	shard          *shard
	intended, sent int64
	finished       atomic.Bool
}

func (q *request) done(err error) {
	// A second call would corrupt the in-flight accounting; ignore it.
	if q.finished.Swap(true) {
		return
	}
	q.shard.complete(q.intended, q.sent, err)
}

func (r *runner) stopIssuing() {
	if !r.stopped {
		r.stopped = true
		close(r.stop)
	}
}

// drained is closed once issuing has stopped and nothing is in flight. If a
// Call never returns, it is never closed and Run ends on the grace timer.
func (r *runner) drained() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		r.issuers.Wait()
		for r.outstanding.Load() > 0 {
			select {
			case <-r.idle:
			case <-r.quit:
				return
			}
		}
		close(ch)
	}()
	return ch
}

// finish ends the run and assembles its result.
func (r *runner) finish() *Result {
	r.stopIssuing()
	close(r.quit)
	for _, s := range r.shards {
		s.close()
	}
	end := r.clk.Now()
	return r.result(end)
}
