package transport

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/replbench/replbench/keys"
)

// arrival is one frame as a handler saw it, with the time it got it.
type arrival struct {
	seq uint64
	at  time.Time
}

// timedSink is a Handler that records when each frame arrives.
type timedSink chan arrival

func (s timedSink) handle(_ keys.Principal, frame []byte) { s <- arrival{frameSeq(frame), time.Now()} }

func (s timedSink) next(t testing.TB) arrival {
	t.Helper()
	select {
	case a := <-s:
		return a
	case <-time.After(patience):
		t.Fatalf("no frame arrived within %v", patience)
		return arrival{}
	}
}

// shapedPair starts replica-0 dialing replica-1, both shaping every link
// with l, and returns the transport that sends (in direction: "dialed" sends
// from the dialer, "inbound" from the acceptor over the connection it
// accepted) and the receiver's sink.
func shapedPair(t *testing.T, l Link, direction string) (sender *TCP, to keys.Principal, rx timedSink) {
	t.Helper()
	auths := generate(t, keys.None, 2, 0)
	rx = make(timedSink, 1<<15)
	shape := func(c *Config) { c.Link = func(keys.Principal) Link { return l } }
	ln := listen(t)
	h0, h1 := rx.handle, Handler(func(keys.Principal, []byte) {})
	if direction == "dialed" {
		h0, h1 = h1, rx.handle
	}
	acceptor := start(t, node{self: r1, auth: auths[r1], ln: ln, h: h1, tweak: shape})
	dialer := start(t, node{self: r0, auth: auths[r0], h: h0, tweak: shape,
		peers: map[keys.Principal]string{r1: ln.Addr().String()}})
	waitConnected(t, dialer, r1)
	waitConnected(t, acceptor, r0)
	if direction == "dialed" {
		return dialer, r1, rx
	}
	return acceptor, r0, rx
}

// sendAll sends n frames of size bytes and returns when each was sent.
func sendAll(t *testing.T, tr *TCP, to keys.Principal, n, size int) []time.Time {
	t.Helper()
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		if err := tr.Send(to, testFrame(uint64(i), size)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	return sent
}

// No frame arrives before its delay, on either kind of connection, and
// frames stay in order however the jitter falls.
func TestShapedDelayAndOrder(t *testing.T) {
	const n = 2000
	for _, tt := range []struct {
		name string
		link Link
	}{
		{"delay", Link{Delay: 5 * time.Millisecond}},
		{"jitter", Link{Delay: 5 * time.Millisecond, Jitter: 5 * time.Millisecond}},
	} {
		for _, direction := range []string{"dialed", "inbound"} {
			t.Run(tt.name+"/"+direction, func(t *testing.T) {
				tr, to, rx := shapedPair(t, tt.link, direction)
				sent := sendAll(t, tr, to, n, 64)
				least := tt.link.Delay - tt.link.Jitter
				lat := make([]time.Duration, n)
				for i := range n {
					a := rx.next(t)
					if a.seq != uint64(i) {
						t.Fatalf("frame %d arrived as number %d", a.seq, i)
					}
					if lat[i] = a.at.Sub(sent[i]); lat[i] < least {
						t.Fatalf("frame %d arrived after %v, before the least delay %v", i, lat[i], least)
					}
				}
				slices.Sort(lat)
				// The delay is added, not exceeded by much: a generous bound
				// for a loaded machine, far below what a stuck writer would take.
				if med := lat[n/2]; med > tt.link.Delay+tt.link.Jitter+100*time.Millisecond {
					t.Errorf("median delay %v for a link of %+v", med, tt.link)
				}
				if s := tr.Stats(); s.Dropped != 0 {
					t.Errorf("Dropped = %d on a lossless link", s.Dropped)
				}
			})
		}
	}
}

// The due time of every frame, computed without a clock: delay, jitter
// bounds, and bandwidth queueing in a burst and after idle time.
func TestAdmitSchedule(t *testing.T) {
	ms := time.Millisecond
	for _, tt := range []struct {
		name string
		link Link
		// sendEvery spaces the sends; want checks frame i's due time.
		sendEvery time.Duration
		want      func(i int, now, at time.Duration) bool
	}{
		{"delay", Link{Delay: 20 * ms}, ms,
			func(_ int, now, at time.Duration) bool { return at == now+20*ms }},
		{"jitter within bounds", Link{Delay: 20 * ms, Jitter: 5 * ms}, 100 * ms,
			func(_ int, now, at time.Duration) bool { return at >= now+15*ms && at <= now+25*ms }},
		{"jitter larger than delay never goes below zero", Link{Delay: ms, Jitter: 5 * ms}, 100 * ms,
			func(_ int, now, at time.Duration) bool { return at >= now && at <= now+6*ms }},
		// 1250 bytes at 1 Mbit/s is 10 ms on the wire: a burst queues up.
		{"bandwidth", Link{Bandwidth: 1e6, Delay: 5 * ms}, 0,
			func(i int, now, at time.Duration) bool { return at == now+time.Duration(i+1)*10*ms+5*ms }},
		{"bandwidth idle between frames", Link{Bandwidth: 1e6}, 100 * ms,
			func(_ int, now, at time.Duration) bool { return at == now+10*ms }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newShaper(tt.link, r0, r1)
			base := time.Hour
			var last time.Duration
			for i := range 1000 {
				now := base + time.Duration(i)*tt.sendEvery
				at, lost := s.admit(1250, now)
				if lost || !tt.want(i, now, at) || at < last {
					t.Fatalf("frame %d sent at +%v: due at +%v (lost %v, previous due +%v)", i, now-base, at-base, lost, last-base)
				}
				last = at
			}
		})
	}
}

// Jitter spreads frames over the whole window, and a burst under jitter
// keeps its order: due times never decrease.
func TestAdmitJitterSpreadAndOrder(t *testing.T) {
	ms := time.Millisecond
	s := newShaper(Link{Delay: 20 * ms, Jitter: 5 * ms}, r0, r1)
	lo, hi := time.Hour, time.Duration(0)
	for i := range 10000 {
		now := time.Duration(i) * 100 * ms
		at, _ := s.admit(100, now)
		lo, hi = min(lo, at-now), max(hi, at-now)
	}
	if lo > 16*ms || hi < 24*ms {
		t.Errorf("delays span [%v, %v], want about [15ms, 25ms]", lo, hi)
	}
	var last time.Duration
	for i := range 10000 {
		at, _ := s.admit(100, time.Hour+time.Duration(i)*100*time.Microsecond)
		if at < last {
			t.Fatalf("frame %d due at %v, before the frame ahead of it (%v)", i, at, last)
		}
		last = at
	}
}

// Loss drops about the configured fraction of frames, counts each one, and
// delivers the rest in order.
func TestShapedLoss(t *testing.T) {
	const n, loss = 10000, 0.1
	tr, to, rx := shapedPair(t, Link{Loss: loss}, "dialed")
	sendAll(t, tr, to, n, 32)
	dropped := tr.Stats().Dropped
	// The binomial's standard deviation is 30 frames; the seed is fixed,
	// so these five-sigma bounds hold or fail the same way every run.
	if dropped < 850 || dropped > 1150 {
		t.Fatalf("dropped %d of %d frames at loss %g", dropped, n, loss)
	}
	var last int64 = -1
	for range n - int(dropped) {
		a := rx.next(t)
		if int64(a.seq) <= last {
			t.Fatalf("frame %d arrived after frame %d", a.seq, last)
		}
		last = int64(a.seq)
	}
	tr.Close() // settles the write counters
	if s := tr.Stats(); s.FramesOut != n-dropped {
		t.Errorf("FramesOut = %d, want %d sent minus %d dropped", s.FramesOut, n, dropped)
	}
}

// N bytes at B bit/s take at least N*8/B to cross.
func TestShapedBandwidth(t *testing.T) {
	const n, size, bw = 200, 1000, 16e6 // 200 kB at 16 Mbit/s: 100 ms
	tr, to, rx := shapedPair(t, Link{Bandwidth: bw}, "dialed")
	sent := sendAll(t, tr, to, n, size)
	var last arrival
	for range n {
		last = rx.next(t)
	}
	want := time.Duration(n * size * 8 * float64(time.Second) / bw)
	if took := last.at.Sub(sent[0]); took < want {
		t.Errorf("%d bytes took %v at %g bit/s, want at least %v", n*size, took, bw, want)
	}
}

// A zero link takes the unshaped path: no shaper, frames go at once.
func TestZeroLinkAddsNothing(t *testing.T) {
	for _, direction := range []string{"dialed", "inbound"} {
		t.Run(direction, func(t *testing.T) {
			tr, to, rx := shapedPair(t, Link{}, direction)
			tr.mu.RLock()
			p := tr.peers[to]
			tr.mu.RUnlock()
			if p == nil || p.shape != nil {
				t.Fatalf("peer %v: %+v, want a peer without a shaper", to, p)
			}
			sendAll(t, tr, to, 10, 64)
			for i := range 10 {
				if a := rx.next(t); a.seq != uint64(i) {
					t.Fatalf("frame %d arrived as number %d", a.seq, i)
				}
			}
		})
	}
}

// Frames waiting out their delay count against the queue bound.
func TestShapedQueueFull(t *testing.T) {
	auths := generate(t, keys.None, 2, 0)
	ln := listen(t)
	start(t, node{self: r1, auth: auths[r1], ln: ln})
	tr := start(t, node{self: r0, auth: auths[r0], peers: map[keys.Principal]string{r1: ln.Addr().String()},
		tweak: func(c *Config) {
			c.QueueBytes = 250
			c.Link = func(keys.Principal) Link { return Link{Delay: time.Hour} }
		}})
	waitConnected(t, tr, r1)
	for i := range 2 {
		if err := tr.Send(r1, testFrame(uint64(i), 100)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := tr.Send(r1, testFrame(2, 100)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third frame: %v, want ErrQueueFull", err)
	}
	if s := tr.Stats(); s.QueueFull != 1 || s.FramesOut != 0 {
		t.Errorf("QueueFull %d, FramesOut %d; want 1, 0", s.QueueFull, s.FramesOut)
	}
}

// BenchmarkTCPSend100BShaped is BenchmarkTCPSend100B over a link with 1 ms
// delay: the cost of stamping, copying out and timing every frame.
func BenchmarkTCPSend100BShaped(b *testing.B) {
	benchTCPSend(b, func(keys.Principal) Link { return Link{Delay: time.Millisecond} })
}
