package loadgen

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is a discrete-event clock. Time moves only in step, which jumps
// to the earliest pending timer, fires it, and waits (synctest.Wait) until
// every goroutine it woke has blocked again, so each event sees the effects
// of all earlier ones. It must be used inside a synctest bubble.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []fakeTimer
}

type fakeTimer struct {
	when time.Time
	seq  int // fires timers due at the same time in the order they were set
	fire func(now time.Time)
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.at(d, func(now time.Time) { ch <- now })
	return ch
}

// AfterFunc calls f from the stepping goroutine d after now.
func (c *fakeClock) AfterFunc(d time.Duration, f func()) {
	c.at(d, func(time.Time) { f() })
}

func (c *fakeClock) at(d time.Duration, fire func(time.Time)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.timers = append(c.timers, fakeTimer{when: c.now.Add(max(d, 0)), seq: c.seq, fire: fire})
}

// step fires the earliest timer and lets its effects settle; it reports false
// when no timer is pending.
func (c *fakeClock) step() bool {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	sort.Slice(c.timers, func(i, j int) bool {
		a, b := c.timers[i], c.timers[j]
		if !a.when.Equal(b.when) {
			return a.when.Before(b.when)
		}
		return a.seq < b.seq
	})
	t := c.timers[0]
	c.timers = c.timers[1:]
	if t.when.After(c.now) {
		c.now = t.when
	}
	now := c.now
	c.mu.Unlock()
	t.fire(now)
	synctest.Wait()
	return true
}

// runFake runs Run on a fake clock to completion.
func runFake(t *testing.T, ctx context.Context, clk *fakeClock, callers []Caller, cfg Config) (*Result, error) {
	t.Helper()
	cfg.Clock = clk
	var (
		res  *Result
		err  error
		done = make(chan struct{})
	)
	go func() {
		res, err = Run(ctx, callers, cfg)
		close(done)
	}()
	synctest.Wait()
	for {
		select {
		case <-done:
			return res, err
		default:
		}
		if !clk.step() {
			t.Fatal("Run blocks with no timer pending")
		}
	}
}

var errFake = errors.New("fake failure")

// behaviour is how a fake server answers.
type behaviour struct {
	delay     time.Duration
	delayOf   func(n int64) time.Duration // if set, the delay of the n-th call, in place of delay
	failEvery int                         // fail every n-th request; 0: never
	never     bool                        // never complete: a dead server
}

// fakeCaller is a server simulated on a fake clock. It tracks how many of its
// requests are in flight and the most there ever were.
type fakeCaller struct {
	clk *fakeClock
	behaviour

	// Calls made during [stallFrom, stallTo) since start block until stallTo,
	// as a client's send would while the server stops reading.
	start              time.Time
	stallFrom, stallTo time.Duration
	unstall            chan struct{}

	calls, inFlight, maxInFlight atomic.Int64
	payload                      atomic.Int64
}

func (f *fakeCaller) Call(payload []byte, done func(error)) {
	n := f.calls.Add(1)
	f.payload.Store(int64(len(payload)))
	cur := f.inFlight.Add(1)
	for m := f.maxInFlight.Load(); cur > m && !f.maxInFlight.CompareAndSwap(m, cur); m = f.maxInFlight.Load() {
	}
	if f.unstall != nil {
		if el := f.clk.Now().Sub(f.start); el >= f.stallFrom && el < f.stallTo {
			<-f.unstall
		}
	}
	if f.never {
		return
	}
	var err error
	if f.failEvery > 0 && n%int64(f.failEvery) == 0 {
		err = errFake
	}
	delay := f.delay
	if f.delayOf != nil {
		delay = f.delayOf(n)
	}
	f.clk.AfterFunc(delay, func() {
		f.inFlight.Add(-1) // before done, which may start the next request
		done(err)
	})
}

// stall makes calls block between from and to after the clock's current time.
func (f *fakeCaller) stall(from, to time.Duration) {
	f.start = f.clk.Now()
	f.stallFrom, f.stallTo = from, to
	f.unstall = make(chan struct{})
	f.clk.AfterFunc(to, func() { close(f.unstall) })
}

func fakeCallers(n int, mk func() *fakeCaller) ([]*fakeCaller, []Caller) {
	fs := make([]*fakeCaller, n)
	cs := make([]Caller, n)
	for i := range fs {
		fs[i] = mk()
		cs[i] = fs[i]
	}
	return fs, cs
}
