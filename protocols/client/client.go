// Package client is the client's protocol logic as a deterministic state
// machine: request numbering within a session, sealing, where requests go
// (the primary the replies' views point to, or every replica), the quorum
// of matching replies, retransmission to every replica and giving up.
// Time enters as ticks and everything to send comes back as values, so
// clients.Client runs it over sockets and the simulator runs the same code
// under faults.
package client

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// Config describes one client.
type Config struct {
	ID      uint32
	Session uint64 // see wire.Request
	N       int    // replicas
	Quorum  int    // matching replies that make a result
	// SendToAll sends every request to every replica at once
	// (protocols.Protocol.ClientsSendToAll); otherwise to the primary.
	SendToAll bool
	// Timeout is how many ticks a request waits before it is sent again,
	// to every replica, so a primary that is down cannot hide it.
	Timeout uint64
	// GiveUp is how many ticks a request may take before it fails; 0 never.
	GiveUp uint64
	// Auth authenticates requests; nil sends them unauthenticated (the
	// simulator's replicas take them as verified).
	Auth keys.Authenticator
}

// Stats counts what a client saw.
type Stats struct {
	Sent, Retransmits, Completed, GaveUp uint64
	BadReplies                           uint64 // replies that failed to decode or verify
	Mismatched                           uint64 // verified replies whose result differed from the quorum's
}

// Send is a sealed request for the runtime to send.
type Send struct {
	To    keys.Principal
	Frame []byte // kept by the core for retransmission: do not modify
}

// Outcome ends a request: its result (aliasing the reply frame, valid until
// the Output is reset), or GaveUp.
type Outcome struct {
	Seq    uint64
	Result []byte
	GaveUp bool
}

// Output collects what one call asks of the runtime.
type Output struct {
	Sends []Send
	Done  []Outcome
}

// Reset empties o for reuse.
func (o *Output) Reset() {
	clear(o.Sends)
	clear(o.Done)
	o.Sends, o.Done = o.Sends[:0], o.Done[:0]
}

type call struct {
	payload     []byte
	frame       []byte // sealed, ready to resend
	flags       uint8
	first, last uint64 // ticks of the first and the latest transmission
	retries     int
	replies     []reply // one per replica that answered
}

type reply struct {
	replica uint32
	result  []byte
}

// Core is one client. It is not safe for concurrent use.
type Core struct {
	cfg     Config
	seq     uint64 // the last request number used
	view    uint64 // the highest view a reply carried
	pending map[uint64]*call
	stats   Stats
	buf     []byte
	authBuf []byte
}

// New returns a client with nothing sent.
func New(cfg Config) *Core {
	return &Core{cfg: cfg, pending: make(map[uint64]*call)}
}

// Submit seals payload as the session's next request, sends it at tick now
// to the primary (or every replica) and returns its request number. The
// payload is copied.
func (c *Core) Submit(now uint64, payload []byte, out *Output) (uint64, error) {
	seq := c.seq + 1
	cl := &call{payload: bytes.Clone(payload), first: now, last: now}
	frame, err := c.seal(seq, 0, cl.payload)
	if err != nil {
		return 0, err
	}
	c.seq = seq
	cl.frame = frame
	c.pending[seq] = cl
	c.stats.Sent++
	if c.cfg.SendToAll {
		c.sendAll(frame, out)
	} else {
		out.Sends = append(out.Sends, Send{c.Primary(), frame})
	}
	return seq, nil
}

// Primary is the replica the client believes leads: the highest view a
// reply carried, mod n.
func (c *Core) Primary() keys.Principal { return keys.Replica(uint32(c.view % uint64(c.cfg.N))) }

func (c *Core) sendAll(frame []byte, out *Output) {
	for i := range c.cfg.N {
		out.Sends = append(out.Sends, Send{keys.Replica(uint32(i)), frame})
	}
}

// seal encodes and authenticates a request in memory of its own.
func (c *Core) seal(seq uint64, flags uint8, payload []byte) ([]byte, error) {
	c.buf = wire.AppendRequest(c.buf[:0], &wire.Request{Client: c.cfg.ID, Session: c.cfg.Session, Seq: seq, Flags: flags, Payload: payload})
	c.authBuf = c.authBuf[:0]
	if c.cfg.Auth != nil {
		var err error
		if c.authBuf, err = c.cfg.Auth.Sign(c.authBuf, wire.SignedBytes(c.buf)); err != nil {
			return nil, fmt.Errorf("sign request: %w", err)
		}
	}
	frame := make([]byte, 0, len(c.buf)+len(c.authBuf)+2)
	return wire.Seal(append(frame, c.buf...), c.authBuf), nil
}

// Reply takes a decoded reply whose sender the runtime has checked (an
// authenticated replica, for this client). A result that f+1 replicas
// returned alike ends its request in out.Done.
func (c *Core) Reply(r *wire.Reply, out *Output) {
	if r.Client != c.cfg.ID || int(r.Replica) >= c.cfg.N {
		c.stats.BadReplies++
		return
	}
	c.view = max(c.view, r.View)
	cl := c.pending[r.Seq]
	if cl == nil || r.Session != c.cfg.Session {
		return // late, or for an earlier client of this ID
	}
	if !c.record(cl, r.Replica, r.Result) {
		return
	}
	delete(c.pending, r.Seq)
	c.stats.Completed++
	out.Done = append(out.Done, Outcome{Seq: r.Seq, Result: r.Result})
}

// record adds a replica's result and reports whether a quorum of replicas
// now agrees on it; a replica's repeated reply counts once.
func (c *Core) record(cl *call, replica uint32, result []byte) bool {
	if c.cfg.Quorum <= 1 {
		return true
	}
	for _, p := range cl.replies {
		if p.replica == replica {
			return false
		}
	}
	cl.replies = append(cl.replies, reply{replica, bytes.Clone(result)})
	match := 0
	for _, p := range cl.replies {
		if bytes.Equal(p.result, result) {
			match++
		}
	}
	if match < c.cfg.Quorum && len(cl.replies) == c.cfg.N {
		c.stats.Mismatched++
	}
	return match >= c.cfg.Quorum
}

// Tick resends, to every replica and marked as retransmissions, the
// requests that waited Timeout ticks since they were last sent, and gives
// up those older than GiveUp, in request order.
func (c *Core) Tick(now uint64, out *Output) {
	for _, seq := range slices.Sorted(maps.Keys(c.pending)) {
		cl := c.pending[seq]
		switch {
		case c.cfg.GiveUp > 0 && now-cl.first > c.cfg.GiveUp:
			delete(c.pending, seq)
			c.stats.GaveUp++
			out.Done = append(out.Done, Outcome{Seq: seq, GaveUp: true})
		case now-cl.last >= c.cfg.Timeout:
			if cl.flags&wire.FlagRetransmit == 0 {
				cl.flags |= wire.FlagRetransmit
				if f, err := c.seal(seq, cl.flags, cl.payload); err == nil {
					cl.frame = f
				}
			}
			cl.last = now
			cl.retries++
			c.stats.Retransmits++
			c.sendAll(cl.frame, out)
		}
	}
}

// Forget drops request seq without an outcome (its caller stopped waiting).
func (c *Core) Forget(seq uint64) { delete(c.pending, seq) }

// BadReply counts a reply the runtime could not decode or verify.
func (c *Core) BadReply() { c.stats.BadReplies++ }

// Stats returns the counters.
func (c *Core) Stats() Stats { return c.stats }

// Outstanding lists the requests waiting for a result, in order.
func (c *Core) Outstanding() []uint64 { return slices.Sorted(maps.Keys(c.pending)) }

// Waiting describes request seq for diagnostics: when it was first sent,
// how often it was resent, and which replicas replied.
func (c *Core) Waiting(seq uint64) (first uint64, retries int, replied []uint32, ok bool) {
	cl := c.pending[seq]
	if cl == nil {
		return 0, 0, nil, false
	}
	for _, r := range cl.replies {
		replied = append(replied, r.replica)
	}
	return cl.first, cl.retries, replied, true
}
