package sim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// client is a simulated closed-loop client with one request outstanding.
// It behaves like clients.Client: it sends to the replica it believes is
// primary (view mod n, the view learned from replies), or to every replica
// with Config.ClientsSendToAll, accepts a result once F+1 replicas returned
// the same one, and on a timeout resends to every replica with the
// retransmit flag.
type client struct {
	id      uint32
	view    uint64
	seq     uint64   // the last request number used
	auto    int      // generated requests still to send
	backlog [][]byte // submitted payloads waiting their turn
	nextAt  uint64   // earliest tick for the next request

	busy    bool // a request is outstanding
	flags   uint8
	payload []byte
	frame   []byte // the outstanding request, sealed
	firstAt uint64 // first transmission
	sentAt  uint64 // last transmission
	retries int
	replies []clientReply // by replica, for the outstanding request

	results [][]byte // accepted results, by request number - 1
}

type clientReply struct {
	have   bool
	result []byte // aliases a delivered frame, which is never reused
}

// Submit queues payload as client's next request and returns the request
// number it will carry. An idle client sends it at once (to be delivered by
// the next Tick or DeliverAll); a busy one sends it after its outstanding
// requests. It returns 0 for a client that does not exist.
func (s *Sim) Submit(client uint32, payload []byte) uint64 {
	if int(client) >= len(s.clients) {
		return 0
	}
	c := &s.clients[client]
	seq := c.seq + uint64(len(c.backlog)) + 1
	c.backlog = append(c.backlog, bytes.Clone(payload))
	s.clientNext(c)
	return seq
}

// Result returns the result client accepted for its request reqseq, if it
// has accepted one.
func (s *Sim) Result(client uint32, reqseq uint64) ([]byte, bool) {
	if int(client) >= len(s.clients) || reqseq == 0 || reqseq > uint64(len(s.clients[client].results)) {
		return nil, false
	}
	return s.clients[client].results[reqseq-1], true
}

// Done reports whether every client has accepted a result for every
// request it was given.
func (s *Sim) Done() bool {
	for i := range s.clients {
		c := &s.clients[i]
		if c.busy || c.auto > 0 || len(c.backlog) > 0 {
			return false
		}
	}
	return true
}

// Stuck describes what keeps Done false: every outstanding request (since
// when, how often resent, who replied) and every replica's Status.
func (s *Sim) Stuck() string {
	var b strings.Builder
	for i := range s.clients {
		c := &s.clients[i]
		if c.busy {
			fmt.Fprintf(&b, "c%d #%d outstanding since t=%d, %d retransmissions, replies from [", c.id, c.seq, c.firstAt, c.retries)
			sep := ""
			for r, cr := range c.replies {
				if cr.have {
					fmt.Fprintf(&b, "%sr%d=%x", sep, r, cr.result[:min(len(cr.result), 4)])
					sep = " "
				}
			}
			b.WriteString("]")
		} else if c.auto > 0 || len(c.backlog) > 0 {
			fmt.Fprintf(&b, "c%d idle until t=%d", c.id, c.nextAt)
		} else {
			continue
		}
		if waiting := c.auto + len(c.backlog); waiting > 0 {
			fmt.Fprintf(&b, ", %d more queued", waiting)
		}
		b.WriteByte('\n')
	}
	b.WriteString(s.replicaStates())
	return b.String()
}

// replicaStates is one line per replica: its Status.
func (s *Sim) replicaStates() string {
	var b strings.Builder
	for id := range s.replicas {
		if id > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "r%d %s", id, s.Status(uint32(id)))
	}
	return b.String()
}

func (s *Sim) clientTick(c *client) {
	if c.busy {
		if s.now-c.sentAt >= s.cfg.ClientTimeout {
			s.retransmit(c)
		}
		return
	}
	s.clientNext(c)
}

// clientNext sends the client's next request if it is free to.
func (s *Sim) clientNext(c *client) {
	if c.busy || s.now < c.nextAt {
		return
	}
	var payload []byte
	switch {
	case len(c.backlog) > 0:
		payload = c.backlog[0]
		c.backlog[0] = nil
		c.backlog = c.backlog[1:]
	case c.auto > 0:
		c.auto--
		payload = s.payload(c.id, c.seq+1)
	default:
		return
	}
	c.seq++
	c.busy, c.flags, c.payload, c.retries = true, 0, payload, 0
	clear(c.replies)
	c.frame = s.requestFrame(c, payload)
	c.firstAt, c.sentAt = s.now, s.now
	from, to := keys.Client(c.id), keys.Replica(uint32(c.view%uint64(len(s.replicas))))
	s.event(&Event{Kind: EvSubmit, From: from, To: to, ReqSeq: c.seq, Size: len(payload)}, nil)
	if !s.cfg.ClientsSendToAll {
		s.send(from, to, c.frame)
		return
	}
	for id := range s.replicas {
		s.send(from, keys.Replica(uint32(id)), c.frame)
	}
}

// payload makes a generated request's operation: the client and request
// number (so every operation is unique), then up to 16 random bytes.
func (s *Sim) payload(client uint32, seq uint64) []byte {
	n := int(s.rng.below(17))
	p := s.alloc(12 + n)
	binary.BigEndian.PutUint32(p, client)
	binary.BigEndian.PutUint64(p[4:], seq)
	for i := 12; i < len(p); i++ {
		p[i] = byte(s.rng.uint64())
	}
	return p
}

func (s *Sim) requestFrame(c *client, payload []byte) []byte {
	b := s.alloc(requestOverhead + len(payload))
	b = wire.AppendRequest(b[:0], &wire.Request{Client: c.id, Seq: c.seq, Flags: c.flags, Payload: payload})
	return wire.Seal(b, nil)
}

// retransmit resends the outstanding request to every replica, so that a
// primary that is down or cut off cannot hide it from the others.
func (s *Sim) retransmit(c *client) {
	if c.flags&wire.FlagRetransmit == 0 {
		c.flags |= wire.FlagRetransmit
		c.frame = s.requestFrame(c, c.payload)
	}
	c.retries++
	c.sentAt = s.now
	s.stats.Retransmits++
	from := keys.Client(c.id)
	s.event(&Event{Kind: EvRetransmit, From: from, ReqSeq: c.seq}, nil)
	for id := range s.replicas {
		s.send(from, keys.Replica(uint32(id)), c.frame)
	}
}

func (s *Sim) deliverReply(c *client, frame []byte) {
	r := &s.rep
	if err := wire.DecodeReply(frame, r); err != nil || r.Client != c.id || int(r.Replica) >= len(s.replicas) {
		s.stats.Malformed++
		return
	}
	if r.View > c.view {
		c.view = r.View
	}
	if !c.busy || r.Seq != c.seq || c.replies[r.Replica].have {
		return // late, early or repeated: a duplicate counts once
	}
	c.replies[r.Replica] = clientReply{have: true, result: r.Result}
	match := 0
	for _, o := range c.replies {
		if o.have && bytes.Equal(o.result, r.Result) {
			match++
		}
	}
	if match >= s.cfg.quorum() {
		s.accept(c, r.Result)
	}
}

func (s *Sim) accept(c *client, result []byte) {
	c.busy = false
	c.frame, c.payload = nil, nil
	c.results = append(c.results, result)
	s.stats.Completed++
	s.event(&Event{Kind: EvAccept, From: keys.Client(c.id), ReqSeq: c.seq, Size: len(result)}, nil)
	s.checkAccepted(c.id, c.seq, result)
	c.nextAt = s.now
	if s.cfg.ThinkTicks > 0 {
		c.nextAt += s.rng.below(s.cfg.ThinkTicks + 1)
	}
	s.clientNext(c)
}
