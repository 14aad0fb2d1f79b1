// Package unreplicated is the baseline core: one server executes requests in
// arrival order and answers at once. It has the same client API, dedup
// semantics and crypto options as the replicated cores, so the difference
// measured against it is the cost of replication.
package unreplicated

import (
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// Core executes requests on one application. It is deterministic.
type Core struct {
	app     protocols.App
	clients map[uint32]*session
	// Stale counts requests older than the client's last executed one (dropped);
	// Resent counts retransmissions answered from the reply cache.
	Stale, Resent, Executed uint64
}

// session remembers a client's last request and its result, so a
// retransmission is answered without executing it twice.
type session struct {
	session uint64 // the client run whose requests these are
	seq     uint64
	result  []byte
}

var _ protocols.Core = (*Core)(nil)

// New returns a core that executes on app.
func New(app protocols.App) *Core {
	return &Core{app: app, clients: make(map[uint32]*session)}
}

// Request executes req unless it was already executed.
func (c *Core) Request(req *wire.Request, out *protocols.Effects) {
	s := c.clients[req.Client]
	if s == nil {
		s = &session{}
		c.clients[req.Client] = s
	}
	if req.Session > s.session { // a new run of this client: it numbers from 1 again
		*s = session{session: req.Session, result: s.result[:0]}
	}
	switch {
	case req.Session < s.session || req.Seq < s.seq:
		c.Stale++
		return
	case req.Seq == s.seq && s.seq != 0:
		c.Resent++
	default:
		s.seq = req.Seq
		s.result = c.app.Execute(s.result[:0], req.Payload)
		c.Executed++
		out.Executed = append(out.Executed, protocols.Execution{
			Seq: c.Executed, Request: protocols.IDOf(req), Payload: req.Payload})
	}
	out.Replies = append(out.Replies, protocols.Reply{Request: protocols.IDOf(req), Result: s.result})
}

// Message ignores protocol frames: there are no peers.
func (c *Core) Message(uint32, []byte, *protocols.Effects) {}

// Tick does nothing: there are no timers.
func (c *Core) Tick(*protocols.Effects) {}
