package transport

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/replbench/replbench/keys"
)

// Link is how one direction of a link behaves. The sender applies it to the
// frames it sends to one peer, so each direction is shaped by its own sender
// and the receiving side needs nothing. Negative durations count as zero.
type Link struct {
	Delay  time.Duration // one-way delay added to every frame
	Jitter time.Duration // each frame's delay varies uniformly within ±Jitter, never below 0
	// Loss is the fraction of frames dropped at Send, in [0, 1]. Whole
	// frames are dropped, so the TCP stream stays well framed; the protocols
	// see a message that never arrives and recover as they would from a
	// lost packet.
	Loss float64
	// Bandwidth is the link's rate in bits per second, counting frame bytes
	// (not TCP/IP headers); 0 is unlimited.
	Bandwidth float64
}

// Zero reports whether l adds nothing to a link.
func (l Link) Zero() bool { return l == Link{} }

// errLost is what enqueue returns for a frame the emulated link dropped;
// Send counts it and reports success, as a lossy wire would.
var errLost = errors.New("transport: frame lost on the emulated link")

// epoch anchors the shaper's clock: durations since it are monotonic and
// cheaper to keep per frame than time.Time.
var epoch = time.Now()

func clock() time.Duration { return time.Since(epoch) }

// shaper is the emulated link to one peer. It lives in the peer and is
// guarded by peer.mu. Queued frames keep their due times in due, in queue
// order; the writer takes the prefix that is due and sleeps until the next.
type shaper struct {
	link Link
	rng  *rand.Rand
	free time.Duration // when the link has finished sending the last frame
	last time.Duration // due time of the last frame, so frames stay in order

	due  []stamp // one per frame of peer.pending, oldest first
	next int     // first entry of due not yet taken by the writer
	head int     // bytes of peer.pending already taken by the writer
}

// stamp is one queued frame: its size and when it may be written.
type stamp struct {
	size int
	at   time.Duration
}

// newShaper returns the shaper for the link from self to peer, or nil when
// the link adds nothing: a nil shaper is the unshaped fast path. Each link
// draws loss and jitter from its own source, seeded by its two ends, so a
// link's draws repeat from run to run.
func newShaper(l Link, self, peer keys.Principal) *shaper {
	l.Delay, l.Jitter, l.Bandwidth = max(l.Delay, 0), max(l.Jitter, 0), max(l.Bandwidth, 0)
	if l.Zero() {
		return nil
	}
	return &shaper{link: l, rng: rand.New(rand.NewPCG(principalSeed(self), principalSeed(peer)))}
}

func principalSeed(p keys.Principal) uint64 { return uint64(p.Role)<<32 | uint64(p.ID) }

// admit decides the fate of a frame of size bytes sent at now: lost, or due
// at the returned time.
func (s *shaper) admit(size int, now time.Duration) (at time.Duration, lost bool) {
	l := &s.link
	if l.Loss > 0 && s.rng.Float64() < l.Loss {
		return 0, true
	}
	depart := now
	if l.Bandwidth > 0 {
		depart = max(now, s.free) + time.Duration(float64(size)*8*float64(time.Second)/l.Bandwidth)
		s.free = depart
	}
	delay := l.Delay
	if l.Jitter > 0 {
		delay += time.Duration(s.rng.Int64N(2*int64(l.Jitter)+1)) - l.Jitter
	}
	// A frame may not overtake the one before it: TCP delivers in order, so
	// a late frame holds back the next, as on a real path.
	at = max(depart+max(delay, 0), s.last)
	s.last = at
	return at, false
}

// reset forgets the queue after peer.pending was dropped.
func (s *shaper) reset() {
	s.due, s.next, s.head = nil, 0, 0
}

// enqueueShaped is enqueue for a shaped peer: the frame is lost, or queued
// with its due time. The writer is woken only when the queue was empty: due
// times never decrease, so a writer waiting for an earlier frame will see
// this one in time.
func (p *peer) enqueueShaped(frame []byte, limit int) (chan<- struct{}, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.shape
	queued := len(p.pending) - s.head
	switch {
	case p.out == nil && !p.dialed:
		return nil, ErrUnknownPeer
	case queued > 0 && queued+len(frame) > limit:
		// Frames waiting out their delay count against the bound too, so
		// at most limit bytes are in flight per link and delay.
		return nil, ErrQueueFull
	}
	at, lost := s.admit(len(frame), clock())
	if lost {
		return nil, errLost
	}
	p.pending = append(p.pending, frame...)
	p.frames++
	s.due = append(s.due, stamp{len(frame), at})
	if p.out == nil || queued > 0 {
		return nil, nil
	}
	return p.out.wake, nil
}

// takeDue hands the writer of c a copy of every queued frame due by now, in
// one buffer so they leave in one write. wait is how long until the next
// frame is due, or -1 when nothing else is queued. ok is false once c no
// longer carries p's frames. The frames are copied out rather than handed
// over, so that the queue can be compacted under the lock at any time.
func (p *peer) takeDue(c *conn, now time.Duration) (buf []byte, frames int, wait time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out != c {
		return nil, 0, 0, false
	}
	s := p.shape
	n := 0
	for _, f := range s.due[s.next:] {
		if f.at > now {
			break
		}
		n += f.size
		frames++
	}
	if frames > 0 {
		buf = append(p.spare[:0], p.pending[s.head:s.head+n]...)
		p.spare = nil
		s.head += n
		s.next += frames
		p.frames -= frames
	}
	switch {
	case s.next == len(s.due):
		p.pending, s.due, s.next, s.head = p.pending[:0], s.due[:0], 0, 0
		if cap(p.pending) > shrinkAbove {
			// As recycle does: one burst does not pin its peak memory.
			p.pending, s.due = nil, nil
		}
		return buf, frames, -1, true
	case s.head > len(p.pending)/2:
		// Most of the buffer is taken: move the rest to the front, so each
		// byte moves at most about once.
		p.pending = p.pending[:copy(p.pending, p.pending[s.head:])]
		s.due = s.due[:copy(s.due, s.due[s.next:])]
		s.next, s.head = 0, 0
	}
	return buf, frames, max(s.due[s.next].at-now, 0), true
}

// writeShaped is writeLoop for a shaped peer: it writes every frame as soon
// as it is due, all frames due together in one write, and sleeps until the
// next is due or a frame is queued.
func (t *TCP) writeShaped(c *conn, p *peer) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		buf, frames, wait, ok := p.takeDue(c, clock())
		if !ok {
			return
		}
		if frames > 0 {
			if !t.write(c, p, buf, frames) {
				return
			}
			continue
		}
		var due <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			due = timer.C
		}
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-due:
		}
	}
}
