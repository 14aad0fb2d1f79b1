package sim

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// Toy cores for testing the simulator itself. orderCore is correct as long
// as nothing is lost and nobody crashes: replica 0 orders every request and
// the others follow. Its flags and arrivalCore break it on purpose, one way
// each, for the checkers to catch.

const (
	typeOrder wire.Type = 0xf0 // primary -> all: seq(8) client(4) reqseq(8) payload
	typeRelay wire.Type = 0xf1 // arrivalCore: a request passed on
)

// toyFrame builds an unsealed frame: header, sender, then the fields.
func toyFrame(t wire.Type, sender uint32, fields ...[]byte) []byte {
	b := []byte{0, 0, 0, 0, wire.Version, byte(t)}
	b = binary.BigEndian.AppendUint32(b, sender)
	for _, f := range fields {
		b = append(b, f...)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// toyBody returns a sealed frame's fields after the sender.
func toyBody(frame []byte) []byte {
	_, signed, _, err := wire.Open(frame)
	if err != nil {
		return nil
	}
	return signed[2+4:]
}

type toySession struct {
	reqseq uint64
	result []byte
}

type orderCore struct {
	id       uint32
	app      protocols.App
	assigned map[uint32]uint64 // primary: last request number ordered per client
	nextSeq  uint64
	executed uint64
	pending  map[uint64][]byte // orders waiting for their turn, by seq
	sessions map[uint32]*toySession
	ckpt     uint64 // checkpoint every ckpt executions; 0 for none

	silent      bool // never replies
	badCkpt     bool // replica 2 reports a wrong checkpoint digest
	wrongResult bool // replies with a hash of the operation, not the app's result
	reexecute   bool // executes duplicated orders again
}

func newOrderCore(id uint32, app protocols.App) *orderCore {
	return &orderCore{id: id, app: app, assigned: map[uint32]uint64{}, pending: map[uint64][]byte{},
		sessions: map[uint32]*toySession{}, ckpt: 4}
}

func (c *orderCore) Request(req *wire.Request, out *protocols.Effects) {
	if s := c.sessions[req.Client]; s != nil && s.reqseq == req.Seq {
		c.reply(req.Client, s, out)
		return
	}
	if c.id != 0 || req.Seq <= c.assigned[req.Client] {
		return
	}
	c.assigned[req.Client] = req.Seq
	c.nextSeq++
	order := orderBody(c.nextSeq, req)
	out.Messages = append(out.Messages, protocols.Message{To: protocols.Broadcast, Frame: toyFrame(typeOrder, c.id, order)})
	c.pending[c.nextSeq] = order
	c.drain(out)
}

// orderBody is an order's fields: seq, client, request number, payload.
func orderBody(seq uint64, req *wire.Request) []byte {
	b := binary.BigEndian.AppendUint64(nil, seq)
	b = binary.BigEndian.AppendUint32(b, req.Client)
	b = binary.BigEndian.AppendUint64(b, req.Seq)
	return append(b, req.Payload...)
}

func (c *orderCore) Message(from uint32, frame []byte, out *protocols.Effects) {
	body := toyBody(frame)
	if frame[5] != byte(typeOrder) || len(body) < 20 {
		return
	}
	seq := binary.BigEndian.Uint64(body)
	if seq <= c.executed {
		if c.reexecute {
			c.execute(body, out)
		}
		return
	}
	c.pending[seq] = body
	c.drain(out)
}

func (c *orderCore) drain(out *protocols.Effects) {
	for {
		body, ok := c.pending[c.executed+1]
		if !ok {
			return
		}
		delete(c.pending, c.executed+1)
		c.execute(body, out)
	}
}

func (c *orderCore) execute(body []byte, out *protocols.Effects) {
	seq := binary.BigEndian.Uint64(body)
	client, reqseq, payload := binary.BigEndian.Uint32(body[8:]), binary.BigEndian.Uint64(body[12:]), body[20:]
	c.executed = max(c.executed, seq)
	s := c.sessions[client]
	if s == nil {
		s = &toySession{}
		c.sessions[client] = s
	}
	s.reqseq = reqseq
	s.result = c.app.Execute(nil, payload)
	if c.wrongResult {
		h := sha256.Sum256(payload)
		s.result = h[:ResultSize]
	}
	out.Executed = append(out.Executed, protocols.Execution{Seq: seq, Request: protocols.RequestID{Client: client, Seq: reqseq}, Payload: payload})
	if c.ckpt > 0 && seq%c.ckpt == 0 {
		d := c.app.Digest()
		if c.badCkpt && c.id == 2 {
			d[0] ^= 1
		}
		out.Checkpoints = append(out.Checkpoints, protocols.Checkpoint{Seq: seq, Digest: d})
	}
	c.reply(client, s, out)
}

func (c *orderCore) reply(client uint32, s *toySession, out *protocols.Effects) {
	if !c.silent {
		out.Replies = append(out.Replies, protocols.Reply{Request: protocols.RequestID{Client: client, Seq: s.reqseq}, Result: s.result})
	}
}

func (c *orderCore) Tick(*protocols.Effects) {}

func (c *orderCore) Status() string { return "toy order core" }

// arrivalCore executes requests in the order they reach each replica: the
// replica a client sent to relays the request to the others. Reordering
// makes replicas disagree.
type arrivalCore struct {
	id       uint32
	app      protocols.App
	executed uint64
	sessions map[uint32]*toySession
}

func (c *arrivalCore) Request(req *wire.Request, out *protocols.Effects) {
	if c.run(req.Client, req.Seq, req.Payload, out) {
		relay := binary.BigEndian.AppendUint32(nil, req.Client)
		relay = binary.BigEndian.AppendUint64(relay, req.Seq)
		relay = append(relay, req.Payload...)
		out.Messages = append(out.Messages, protocols.Message{To: protocols.Broadcast, Frame: toyFrame(typeRelay, c.id, relay)})
	}
}

func (c *arrivalCore) Message(from uint32, frame []byte, out *protocols.Effects) {
	if body := toyBody(frame); len(body) >= 12 {
		c.run(binary.BigEndian.Uint32(body), binary.BigEndian.Uint64(body[4:]), body[12:], out)
	}
}

// run executes a request new to this replica and reports whether it was new.
func (c *arrivalCore) run(client uint32, reqseq uint64, payload []byte, out *protocols.Effects) bool {
	s := c.sessions[client]
	if s == nil {
		s = &toySession{}
		c.sessions[client] = s
	}
	if reqseq <= s.reqseq {
		if reqseq == s.reqseq {
			out.Replies = append(out.Replies, protocols.Reply{Request: protocols.RequestID{Client: client, Seq: reqseq}, Result: s.result})
		}
		return false
	}
	c.executed++
	s.reqseq, s.result = reqseq, c.app.Execute(nil, payload)
	out.Executed = append(out.Executed, protocols.Execution{Seq: c.executed, Request: protocols.RequestID{Client: client, Seq: reqseq}, Payload: payload})
	out.Replies = append(out.Replies, protocols.Reply{Request: protocols.RequestID{Client: client, Seq: reqseq}, Result: s.result})
	return true
}

func (c *arrivalCore) Tick(*protocols.Effects) {}

// toyCores names the factories the tests use.
var toyCores = map[string]func(id uint32, app protocols.App) protocols.Core{
	"order": func(id uint32, app protocols.App) protocols.Core { return newOrderCore(id, app) },
	"arrival": func(id uint32, app protocols.App) protocols.Core {
		return &arrivalCore{id: id, app: app, sessions: map[uint32]*toySession{}}
	},
	"silent":       orderWith(func(c *orderCore) { c.silent = true }),
	"bad-ckpt":     orderWith(func(c *orderCore) { c.badCkpt = true }),
	"wrong-result": orderWith(func(c *orderCore) { c.wrongResult = true }),
	"reexecute":    orderWith(func(c *orderCore) { c.reexecute = true }),
}

func orderWith(set func(*orderCore)) func(uint32, protocols.App) protocols.Core {
	return func(id uint32, app protocols.App) protocols.Core {
		c := newOrderCore(id, app)
		set(c)
		return c
	}
}
