package msgdump

import (
	"net/netip"
	"slices"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// maxPending bounds the out-of-order bytes held for one direction; beyond
// it the hole before them is taken as lost and reported as a gap.
const maxPending = 4 << 20

// segment is one TCP segment's payload.
type segment struct {
	seq  uint32
	data []byte
	// missing counts payload bytes after data that the capture did not keep
	// (snap length): a gap known at once rather than from the next segment.
	missing int
	fin     bool
	rst     bool
	syn     bool
	time    time.Time
}

// endpoint is one side of a TCP connection.
type endpoint = netip.AddrPort

// tcpConn is what the two directions of a connection share: the principals
// at either end, learned from the handshake.
type tcpConn struct {
	names map[endpoint]keys.Principal
}

// flow reassembles one direction of a TCP connection into a byte stream
// and cuts it into frames. Segments are placed by sequence number, so
// retransmissions are dropped, out-of-order segments wait for the hole
// before them, and a hole that never fills is reported as a gap.
type flow struct {
	src, dst endpoint
	label    string
	conn     *tcpConn
	started  bool   // next is known
	next     uint32 // sequence number of the next byte expected
	finAt    uint32 // sequence number of the FIN, when finSeen
	finSeen  bool
	ended    bool
	pending  []segment // out of order, sorted by distance from next
	held     int       // bytes in pending
	now      time.Time // time of the segment being processed
	fr       *framer
}

// tcpStreams reassembles every TCP direction in a capture.
type tcpStreams struct {
	limit int
	flows map[[2]endpoint]*flow
	order []*flow // in order of first appearance, for the end of input
	conns map[[2]endpoint]*tcpConn
	out   sink
}

func newTCPStreams(limit int, out sink) *tcpStreams {
	return &tcpStreams{limit: limit, flows: make(map[[2]endpoint]*flow), conns: make(map[[2]endpoint]*tcpConn), out: out}
}

// connKey orders the endpoints so both directions find the same connection.
func connKey(a, b endpoint) [2]endpoint {
	if a.Addr().Less(b.Addr()) || (a.Addr() == b.Addr() && a.Port() < b.Port()) {
		return [2]endpoint{a, b}
	}
	return [2]endpoint{b, a}
}

// add takes one segment from src to dst. ack reports a SYN+ACK (the
// acceptor's side of a new connection).
func (t *tcpStreams) add(src, dst endpoint, s segment, ack bool) {
	key := [2]endpoint{src, dst}
	f := t.flows[key]
	if f != nil && f.ended && !s.syn {
		return // late retransmissions after the stream finished
	}
	if s.syn && f != nil && f.started && f.next != s.seq+1 {
		// A new connection between the same ports: finish the old one.
		f.finish()
		f = nil
	}
	if s.syn && !ack {
		// The dialer's SYN starts a connection: forget who the ends were.
		t.conns[connKey(src, dst)] = &tcpConn{names: make(map[endpoint]keys.Principal)}
	}
	if f == nil || f.ended {
		c := t.conns[connKey(src, dst)]
		if c == nil {
			c = &tcpConn{names: make(map[endpoint]keys.Principal)}
			t.conns[connKey(src, dst)] = c
		}
		f = &flow{src: src, dst: dst, label: src.String() + ">" + dst.String(), conn: c}
		t.flows[key] = f
		t.order = append(t.order, f)
	}
	f.now = s.time
	if !f.started {
		if !s.syn && len(s.data) == 0 {
			return // a bare ACK tells nothing about where the stream is
		}
		f.start(t, s)
	}
	if s.syn {
		s.seq++ // the SYN takes one sequence number; data follow it
	}
	if s.fin {
		f.finSeen, f.finAt = true, s.seq+uint32(len(s.data)+s.missing)
	}
	f.add(s)
	if s.rst {
		f.finish()
		return
	}
	if f.finSeen && f.next == f.finAt {
		f.finish()
	}
}

// end finishes every stream at the end of the input.
func (t *tcpStreams) end() {
	for _, f := range t.order {
		f.finish()
	}
}

func (f *flow) start(t *tcpStreams, s segment) {
	f.started = true
	f.next = s.seq
	if s.syn {
		f.next = s.seq + 1
	}
	f.fr = newFramer(t.limit, s.syn, func(off int64, b []byte) { f.emit(t.out, off, b) },
		func(off int64, msg string) { t.out.problem(problem{off: off, conn: f.label, msg: msg}) })
}

// emit passes a frame on, and learns the principals at either end from the
// handshake frames that name them.
func (f *flow) emit(out sink, off int64, b []byte) {
	switch wire.TypeOf(b) {
	case wire.TypeHello:
		if h, err := wire.DecodeHello(b); err == nil {
			f.conn.names[f.src], f.conn.names[f.dst] = h.From, h.To
		}
	case wire.TypeChallenge:
		if c, err := wire.DecodeChallenge(b); err == nil {
			f.conn.names[f.src] = c.From
		}
	case wire.TypeReply:
		// Replies go to clients only, so they name the far end of a
		// connection whose handshake the capture missed.
		var r wire.Reply
		if _, ok := f.conn.names[f.dst]; !ok && wire.DecodeReply(b, &r) == nil {
			f.conn.names[f.dst] = keys.Client(r.Client)
		}
	}
	out.frame(frame{off: off, time: f.now, conn: f.label, from: f.conn.names[f.src], to: f.conn.names[f.dst], bytes: b})
}

func (f *flow) add(s segment) {
	if len(s.data) == 0 {
		return // a truncated segment that kept no payload is found as a gap later
	}
	d := int32(s.seq - f.next)
	if d < 0 {
		if int(-d) >= len(s.data) {
			return // all seen before: a retransmission
		}
		s.data, s.seq = s.data[-d:], f.next
		d = 0
	}
	if d > 0 {
		s.data = slices.Clone(s.data)
		i, _ := slices.BinarySearchFunc(f.pending, d, func(p segment, d int32) int { return int(int32(p.seq-f.next)) - int(d) })
		f.pending = slices.Insert(f.pending, i, s)
		f.held += len(s.data)
		if f.held > maxPending {
			f.skipGap()
		}
		return
	}
	f.deliver(s)
	f.drain()
}

func (f *flow) deliver(s segment) {
	f.fr.push(s.data)
	f.next += uint32(len(s.data))
	if s.missing > 0 {
		f.fr.gap(int64(s.missing))
		f.next += uint32(s.missing)
	}
}

// drain delivers the waiting segments that the stream has reached.
func (f *flow) drain() {
	for len(f.pending) > 0 {
		p := f.pending[0]
		d := int32(p.seq - f.next)
		if d > 0 {
			return
		}
		f.pending = f.pending[1:]
		f.held -= len(p.data)
		if int(-d) < len(p.data) {
			p.data = p.data[-d:]
			f.deliver(p)
		}
	}
}

// skipGap gives up on the hole before the first waiting segment.
func (f *flow) skipGap() {
	n := int32(f.pending[0].seq - f.next)
	f.fr.gap(int64(n))
	f.next = f.pending[0].seq
	f.drain()
}

// finish ends the stream: holes still open are gaps, and a frame cut off
// by the end is reported.
func (f *flow) finish() {
	if f.ended || !f.started {
		f.ended = true
		return
	}
	for len(f.pending) > 0 {
		f.skipGap()
	}
	if f.finSeen && f.next != f.finAt && int32(f.finAt-f.next) > 0 {
		f.fr.gap(int64(int32(f.finAt - f.next)))
	}
	f.fr.end()
	f.ended = true
}

// streams counts the directions that carried data.
func (t *tcpStreams) streams() int {
	n := 0
	for _, f := range t.order {
		if f.started {
			n++
		}
	}
	return n
}
