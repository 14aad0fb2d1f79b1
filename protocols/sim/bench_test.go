package sim

import (
	"encoding/binary"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// quorumCore is PBFT's normal case without view changes: the primary sends
// a pre-prepare, backups broadcast prepares, a replica with the pre-prepare
// and 2f prepares broadcasts a commit, and 2f+1 commits let it execute in
// order. It is correct without loss or crashes, and sends as many messages
// per request as PBFT does, which makes it the benchmark's load.
type quorumCore struct {
	*orderCore
	n, f    int
	entries map[uint64]*quorumEntry
}

type quorumEntry struct {
	body              []byte // the pre-prepare's fields
	prepares, commits uint64 // bitmasks of senders
	committed         bool
}

const (
	typePrepare wire.Type = 0xf2 // seq(8)
	typeCommit  wire.Type = 0xf3 // seq(8)
)

func newQuorumCore(n int) func(uint32, protocols.App) protocols.Core {
	return func(id uint32, app protocols.App) protocols.Core {
		return &quorumCore{orderCore: newOrderCore(id, app), n: n, f: (n - 1) / 3, entries: map[uint64]*quorumEntry{}}
	}
}

func (c *quorumCore) entry(seq uint64) *quorumEntry {
	e := c.entries[seq]
	if e == nil {
		e = &quorumEntry{}
		c.entries[seq] = e
	}
	return e
}

func (c *quorumCore) Request(req *wire.Request, out *protocols.Effects) {
	if s := c.sessions[req.Client]; s != nil && s.reqseq == req.Seq {
		c.reply(req.Client, s, out)
		return
	}
	if c.id != 0 || req.Seq <= c.assigned[req.Client] {
		return
	}
	c.assigned[req.Client] = req.Seq
	c.nextSeq++
	body := orderBody(c.nextSeq, req)
	out.Messages = append(out.Messages, protocols.Message{To: protocols.Broadcast, Frame: toyFrame(typeOrder, c.id, body)})
	c.entry(c.nextSeq).body = body
}

func (c *quorumCore) Message(from uint32, frame []byte, out *protocols.Effects) {
	body := toyBody(frame)
	if len(body) < 8 || from >= 64 {
		return
	}
	seq := binary.BigEndian.Uint64(body)
	if seq <= c.executed {
		return
	}
	e := c.entry(seq)
	switch wire.TypeOf(frame) {
	case typeOrder:
		if e.body != nil || len(body) < 20 {
			return
		}
		e.body = append([]byte(nil), body...)
		out.Messages = append(out.Messages, protocols.Message{To: protocols.Broadcast, Frame: toyFrame(typePrepare, c.id, body[:8])})
		e.prepares |= 1 << c.id
	case typePrepare:
		e.prepares |= 1 << from
	case typeCommit:
		e.commits |= 1 << from
	}
	c.advance(seq, e, out)
}

func (c *quorumCore) advance(seq uint64, e *quorumEntry, out *protocols.Effects) {
	if e.body != nil && e.commits&(1<<c.id) == 0 && popcount(e.prepares&^1) >= 2*c.f {
		e.commits |= 1 << c.id
		out.Messages = append(out.Messages, protocols.Message{To: protocols.Broadcast,
			Frame: toyFrame(typeCommit, c.id, binary.BigEndian.AppendUint64(nil, seq))})
	}
	if e.body != nil && popcount(e.commits) >= 2*c.f+1 {
		e.committed = true
	}
	for {
		next := c.entries[c.executed+1]
		if next == nil || !next.committed {
			return
		}
		delete(c.entries, c.executed+1)
		c.execute(next.body, out)
	}
}

func popcount(x uint64) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestQuorumCorePasses(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		cfg := Config{Seed: seed, N: 4, New: newQuorumCore(4), Clients: 3, Requests: 10, Faults: Dup | Reorder, FaultTicks: 500}
		rep, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Completed != 30 || rep.Executions != 120 {
			t.Fatalf("seed %d: %d completed, %d executions; want 30 and 120", seed, rep.Completed, rep.Executions)
		}
	}
}

// BenchmarkRun is one seed of a PBFT-sized run: 4 replicas, 3 clients of
// 10 requests, duplication and reordering, the default 3000-tick fault phase.
func BenchmarkRun(b *testing.B) {
	var msgs uint64
	for i := 0; b.Loop(); i++ {
		rep, err := Run(Config{Seed: uint64(i), N: 4, New: newQuorumCore(4), Clients: 3, Requests: 10, Faults: Dup | Reorder})
		if err != nil {
			b.Fatal(err)
		}
		msgs += rep.Sent
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "frames/op")
}

func TestQueueOrder(t *testing.T) {
	r := newRNG(9)
	var q queue
	for i := range 1000 {
		q.push(event{at: r.below(50), seq: uint64(i)})
	}
	var last event
	for i := 0; len(q) > 0; i++ {
		e := q.pop()
		if i > 0 && (e.at < last.at || e.at == last.at && e.seq < last.seq) {
			t.Fatalf("pop %d: (%d,%d) after (%d,%d)", i, e.at, e.seq, last.at, last.seq)
		}
		last = e
	}
}

func TestRNG(t *testing.T) {
	a, b := newRNG(42), newRNG(42)
	counts := make([]int, 6)
	for range 60000 {
		x := a.below(6)
		if x != b.below(6) {
			t.Fatal("equal seeds diverged")
		}
		counts[x]++
	}
	for v, n := range counts {
		if n < 9000 || n > 11000 {
			t.Fatalf("value %d drawn %d times in 60000, want about 10000", v, n)
		}
	}
	if newRNG(1).uint64() == newRNG(2).uint64() {
		t.Fatal("different seeds start alike")
	}
	if got := a.between(5, 5); got != 5 {
		t.Fatalf("between(5, 5) = %d", got)
	}
}

func TestChainAppSnapshot(t *testing.T) {
	a, b := NewChainApp(), NewChainApp()
	ra := a.Execute(nil, []byte("x"))
	a.Execute(nil, []byte("y"))
	b.Execute(nil, []byte("y"))
	rb := b.Execute(nil, []byte("x"))
	if a.Digest() == b.Digest() || string(ra) == string(rb) {
		t.Fatal("different orders gave the same state or result")
	}
	c := NewChainApp()
	if err := c.Restore(a.Snapshot()); err != nil || c.Digest() != a.Digest() || c.Ops() != 2 {
		t.Fatalf("restore: %v, digest equal %v, ops %d", err, c.Digest() == a.Digest(), c.Ops())
	}
	if err := c.Restore([]byte("short")); err == nil {
		t.Fatal("short snapshot restored")
	}
}
