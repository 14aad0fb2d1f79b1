package sim

import (
	"bytes"
	"fmt"

	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
)

// checker holds what the safety checks compare against. Faults are crashes
// and partitions only, so every replica counts as correct and is checked.
type checker struct {
	bySeq     map[uint64]int32 // position in the order -> index into agreed
	agreed    []placement
	where     map[reqKey]uint64 // request -> its position in the order
	results   map[reqKey][]byte // what the application returned for the request
	last      []uint64          // per replica: the position it executed last
	ckpts     map[uint64]ckpt
	unchecked int
}

type reqKey struct {
	client uint32
	seq    uint64
}

// placement is what the first replica to execute a position executed there.
type placement struct {
	client  uint32
	reqseq  uint64
	payload []byte
	replica uint32
}

type ckpt struct {
	digest  [32]byte
	replica uint32
}

func newChecker(n int) checker {
	return checker{
		bySeq:   make(map[uint64]int32),
		where:   make(map[reqKey]uint64),
		results: make(map[reqKey][]byte),
		last:    make([]uint64, n),
		ckpts:   make(map[uint64]ckpt),
	}
}

// Kind tells safety violations from liveness failures.
type Kind uint8

const (
	Safety   Kind = iota + 1 // replicas disagree, or a client accepted a wrong result
	Liveness                 // requests did not complete once faults stopped
)

func (k Kind) String() string {
	switch k {
	case Safety:
		return "safety violation"
	case Liveness:
		return "liveness failure"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// failf records the run's first failure, with the trace as it stands.
func (s *Sim) failf(kind Kind, detail, format string, args ...any) {
	if s.fail != nil {
		return
	}
	if detail == "" {
		detail = s.replicaStates()
	}
	s.fail = &Failure{
		Seed:   s.cfg.Seed,
		Kind:   kind,
		Tick:   s.now,
		What:   fmt.Sprintf(format, args...),
		Detail: detail,
		Trace:  s.trace.lines(),
		Repro:  s.cfg.repro(),
	}
}

// checkExecuted checks one step's executions: each replica's positions
// strictly increase (a replica may skip ahead after state transfer, never
// back); every replica that executes a position executes the same request
// there; no request takes two positions; and the application's result for
// a request is the same on every replica.
func (s *Sim) checkExecuted(id uint32, e *protocols.Effects, app *recorder) {
	ch := &s.check
	next := 0 // app calls before next are matched or skipped (null operations)
	for i := range e.Executed {
		x := &e.Executed[i]
		s.stats.Executions++
		s.event(&Event{Kind: EvExecute, From: keys.Replica(id), Seq: x.Seq, Client: x.Request.Client, ReqSeq: x.Request.Seq}, x.Payload)
		if x.Seq <= ch.last[id] {
			s.failf(Safety, "", "r%d executed seq %d after seq %d", id, x.Seq, ch.last[id])
		}
		ch.last[id] = max(ch.last[id], x.Seq)
		k := reqKey{x.Request.Client, x.Request.Seq}
		if at, ok := ch.bySeq[x.Seq]; ok {
			if p := &ch.agreed[at]; p.client != x.Request.Client || p.reqseq != x.Request.Seq || !bytes.Equal(p.payload, x.Payload) {
				s.failf(Safety, "", "seq %d: r%d executed c%d #%d (%x) but r%d executed c%d #%d (%x)",
					x.Seq, id, x.Request.Client, x.Request.Seq, short8(x.Payload), p.replica, p.client, p.reqseq, short8(p.payload))
			}
		} else {
			if prev, ok := ch.where[k]; ok {
				s.failf(Safety, "", "c%d #%d executed at seq %d and again at seq %d (by r%d)", x.Request.Client, x.Request.Seq, prev, x.Seq, id)
			} else {
				ch.where[k] = x.Seq
			}
			ch.bySeq[x.Seq] = int32(len(ch.agreed))
			ch.agreed = append(ch.agreed, placement{x.Request.Client, x.Request.Seq, bytes.Clone(x.Payload), id})
		}
		result, ok := resultOf(x, app, &next, e)
		if !ok {
			continue
		}
		if want, seen := ch.results[k]; !seen {
			ch.results[k] = bytes.Clone(result)
		} else if !bytes.Equal(want, result) {
			s.failf(Safety, "", "c%d #%d at seq %d returned %x on r%d but %x on another replica",
				x.Request.Client, x.Request.Seq, x.Seq, short8(result), id, short8(want))
		}
	}
}

// resultOf finds what the application returned for execution x: the next
// Execute call of the step with x's payload as its operation. A core that
// executed elsewhere (in another step, or with a rewritten operation) is
// judged by the reply it sent for x in this step, if any.
func resultOf(x *protocols.Execution, app *recorder, next *int, e *protocols.Effects) ([]byte, bool) {
	for j := *next; j < len(app.calls); j++ {
		if c := app.calls[j]; bytes.Equal(c.op, x.Payload) {
			*next = j + 1
			return app.results[c.start:c.end], true
		}
	}
	for i := range e.Replies {
		if r := &e.Replies[i]; r.Request == x.Request {
			return r.Result, true
		}
	}
	return nil, false
}

// checkCheckpoint checks that replicas agree on the state at each checkpoint.
func (s *Sim) checkCheckpoint(id uint32, c *protocols.Checkpoint) {
	s.event(&Event{Kind: EvCheckpoint, From: keys.Replica(id), Seq: c.Seq, Digest: c.Digest}, nil)
	prev, ok := s.check.ckpts[c.Seq]
	if !ok {
		s.check.ckpts[c.Seq] = ckpt{c.Digest, id}
		s.stats.Checkpoints++
		return
	}
	if prev.digest != c.Digest {
		s.failf(Safety, "", "checkpoint at seq %d: r%d has digest %x, r%d has %x",
			c.Seq, id, c.Digest[:8], prev.replica, prev.digest[:8])
	}
}

// checkAccepted checks that a result a client accepted is the one the
// application produced for that request at its place in the agreed order.
func (s *Sim) checkAccepted(client uint32, reqseq uint64, result []byte) {
	k := reqKey{client, reqseq}
	seq, ok := s.check.where[k]
	if !ok {
		s.failf(Safety, "", "c%d accepted %x for #%d, which no replica executed", client, short8(result), reqseq)
		return
	}
	want, ok := s.check.results[k]
	if !ok {
		s.check.unchecked++
		return
	}
	if !bytes.Equal(want, result) {
		s.failf(Safety, "", "c%d accepted %x for #%d, but the application returned %x at seq %d",
			client, short8(result), reqseq, short8(want), seq)
	}
}

// short8 trims a byte string for a one-line message.
func short8(b []byte) []byte { return b[:min(len(b), 8)] }
