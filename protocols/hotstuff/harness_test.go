package hotstuff

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

type msg struct {
	from, to uint32
	frame    []byte
}

// cluster delivers messages in FIFO order with no faults; tests drop
// messages through the filter and stop replicas with down.
type cluster struct {
	t       *testing.T
	cores   []*Core
	apps    []*sim.ChainApp
	queue   []msg
	replies map[uint64]map[uint32][]byte // request number -> replica -> result (client ids are not told apart)
	down    map[uint32]bool
	filter  func(m msg) bool // false drops the message
	sent    int              // messages the cores sent
}

// newCluster builds four replicas (f = 1) with batches of one and a view
// timeout of 50 ticks, adjusted by mod.
func newCluster(t *testing.T, mod func(*Config)) *cluster {
	c := &cluster{t: t, replies: make(map[uint64]map[uint32][]byte), down: make(map[uint32]bool)}
	for i := 0; i < 4; i++ {
		app := sim.NewChainApp()
		cfg := Config{ID: uint32(i), N: 4, App: app, BatchSize: 1, ViewTimeout: 50, FetchTimeout: 20}
		if mod != nil {
			mod(&cfg)
		}
		core, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.cores = append(c.cores, core)
		c.apps = append(c.apps, app)
	}
	return c
}

func (c *cluster) effects(from uint32, e *protocols.Effects) {
	for _, m := range e.Messages {
		c.sent++
		frame := wire.Seal(append([]byte(nil), m.Frame...), nil)
		if m.To == protocols.Broadcast {
			for i := range c.cores {
				c.queue = append(c.queue, msg{from, uint32(i), frame})
			}
		} else {
			c.queue = append(c.queue, msg{from, m.To.ID, frame})
		}
	}
	for _, r := range e.Replies {
		if c.replies[r.Request.Seq] == nil {
			c.replies[r.Request.Seq] = make(map[uint32][]byte)
		}
		c.replies[r.Request.Seq][from] = r.Result
	}
}

// request sends a client request to every live replica, as clients do
// for HotStuff; run delivers what follows.
func (c *cluster) request(client uint32, seq uint64, payload string) {
	frame := wire.Seal(wire.AppendRequest(nil, &wire.Request{Client: client, Seq: seq, Payload: []byte(payload)}), nil)
	for i, core := range c.cores {
		if c.down[uint32(i)] {
			continue
		}
		var r wire.Request
		if err := wire.DecodeRequest(frame, &r); err != nil {
			c.t.Fatal(err)
		}
		var e protocols.Effects
		core.Request(&r, &e)
		c.effects(uint32(i), &e)
	}
}

// run delivers queued messages until none are left.
func (c *cluster) run() {
	for steps := 0; len(c.queue) > 0; steps++ {
		if steps > 1_000_000 {
			c.t.Fatal("messages never stop")
		}
		m := c.queue[0]
		c.queue = c.queue[1:]
		if c.down[m.to] || c.down[m.from] || (c.filter != nil && !c.filter(m)) {
			continue
		}
		var e protocols.Effects
		c.cores[m.to].Message(m.from, m.frame, &e)
		c.effects(m.to, &e)
	}
}

func (c *cluster) tick(n int) {
	for ; n > 0; n-- {
		for i, core := range c.cores {
			if c.down[uint32(i)] {
				continue
			}
			var e protocols.Effects
			core.Tick(&e)
			c.effects(uint32(i), &e)
		}
		c.run()
	}
}

// tickUntil ticks until cond holds, at most n ticks.
func (c *cluster) tickUntil(n int, cond func() bool) bool {
	for ; n > 0 && !cond(); n-- {
		c.tick(1)
	}
	return cond()
}

func (c *cluster) status() string {
	s := ""
	for i, core := range c.cores {
		if c.down[uint32(i)] {
			s += "(down) "
		}
		s += core.Status() + "\n"
	}
	return s
}

// agreed checks that a client got f+1 = 2 matching replies for seq.
func (c *cluster) agreed(seq uint64) bool {
	votes := map[string]int{}
	for _, res := range c.replies[seq] {
		votes[string(res)]++
		if votes[string(res)] >= 2 {
			return true
		}
	}
	return false
}

// sameState checks that replicas that executed the same number of
// requests hold the same application state.
func (c *cluster) sameState(t *testing.T) {
	t.Helper()
	for i, a := range c.cores {
		_, ea := a.Committed()
		for j, b := range c.cores[i+1:] {
			if _, eb := b.Committed(); ea == eb && !bytes.Equal(c.apps[i].Snapshot(), c.apps[i+1+j].Snapshot()) {
				t.Errorf("replicas %d and %d executed %d requests but differ", i, i+1+j, ea)
			}
		}
	}
}

func isType(m msg, t wire.Type) bool { return wire.Type(m.frame[5]) == t }

func TestNormalCase(t *testing.T) {
	c := newCluster(t, nil)
	for seq := uint64(1); seq <= 20; seq++ {
		c.request(7, seq, fmt.Sprint("op", seq))
		c.run()
		if !c.tickUntil(10, func() bool { return len(c.replies[seq]) == 4 }) {
			t.Fatalf("request %d: %d replies, want 4\n%s", seq, len(c.replies[seq]), c.status())
		}
	}
	for _, core := range c.cores {
		if _, execs := core.Committed(); execs != 20 || core.Stats.Timeouts != 0 {
			t.Errorf("want 20 executed and no timeouts: %s (%+v)", core.Status(), core.Stats)
		}
	}
	c.sameState(t)
	// With nothing left to do the cluster goes quiet: no timers, no messages.
	before := c.sent
	c.tick(1000)
	if c.sent != before {
		t.Errorf("an idle cluster sent %d messages in 1000 ticks\n%s", c.sent-before, c.status())
	}
}

func TestBatching(t *testing.T) {
	for _, batch := range []int{1, 3, 10} {
		c := newCluster(t, func(cfg *Config) { cfg.BatchSize = batch })
		for round := uint64(1); round <= 20; round++ {
			for client := uint32(0); client < 5; client++ {
				c.request(client, round, fmt.Sprint(client, "/", round))
			}
			c.run()
			if !c.tickUntil(20, func() bool { return len(c.replies[round]) == 4 && c.agreed(round) }) {
				t.Fatalf("batch %d round %d: replies from %d replicas, want 4\n%s", batch, round, len(c.replies[round]), c.status())
			}
		}
		c.tick(5)
		for _, core := range c.cores {
			if _, execs := core.Committed(); execs != 100 {
				t.Errorf("batch %d: executed %d requests, want 100: %s", batch, execs, core.Status())
			}
		}
		// Unbatched, every request takes a block, and the last of each
		// round three empty ones after it to commit: 100 + 3*20.
		p := c.cores[0].Stats.Proposals + c.cores[1].Stats.Proposals + c.cores[2].Stats.Proposals + c.cores[3].Stats.Proposals
		if batch == 1 && p != 160 || batch > 1 && p > 120 {
			t.Errorf("batch %d: %d proposals for 100 requests in rounds of 5", batch, p)
		}
	}
}

// TestBlocksBounded: over a long run, pruning keeps a replica's blocks to
// the committed one and the few above it.
func TestBlocksBounded(t *testing.T) {
	c := newCluster(t, nil)
	most := 0
	for seq := uint64(1); seq <= 500; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
		c.run()
		c.tickUntil(10, func() bool { return c.agreed(seq) })
		for _, core := range c.cores {
			most = max(most, core.BlocksHeld())
		}
	}
	if _, execs := c.cores[0].Committed(); execs != 500 {
		t.Fatalf("executed %d of 500 requests\n%s", execs, c.status())
	}
	if most > 8 {
		t.Errorf("a replica held %d blocks at once; pruning should keep it under 8", most)
	}
	for _, core := range c.cores {
		if len(core.pending) != 0 || len(core.queue) > 64 || len(core.votes) > 1 || len(core.missing) != 0 {
			t.Errorf("state left over: pending %d queue %d votes %d missing %d", len(core.pending), len(core.queue), len(core.votes), len(core.missing))
		}
	}
}
