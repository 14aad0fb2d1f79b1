package pbft

import (
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

// cluster delivers messages in FIFO order with no faults; tests drop or
// hold messages through the filter.
type cluster struct {
	t       *testing.T
	cores   []*Core
	queue   []msg
	replies map[uint64]map[uint32][]byte // request number -> replica -> result (client ids are not told apart)
	down    map[uint32]bool
	filter  func(m msg) bool // false drops the message
}

func newCluster(t *testing.T, n int, mod func(*Config)) *cluster {
	c := &cluster{t: t, replies: make(map[uint64]map[uint32][]byte), down: make(map[uint32]bool)}
	for i := 0; i < n; i++ {
		cfg := Config{ID: uint32(i), N: n, App: sim.NewChainApp(), BatchSize: 1, CheckpointInterval: 4, ViewChangeTimeout: 50}
		if mod != nil {
			mod(&cfg)
		}
		core, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.cores = append(c.cores, core)
	}
	return c
}

func (c *cluster) effects(from uint32, e *protocols.Effects) {
	for _, m := range e.Messages {
		frame := wire.Seal(m.Frame, nil)
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

func (c *cluster) request(to uint32, client uint32, seq uint64, payload string) {
	frame := wire.Seal(wire.AppendRequest(nil, &wire.Request{Client: client, Seq: seq, Payload: []byte(payload)}), nil)
	var r wire.Request
	if err := wire.DecodeRequest(frame, &r); err != nil {
		c.t.Fatal(err)
	}
	var e protocols.Effects
	c.cores[to].Request(&r, &e)
	c.effects(to, &e)
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

func TestNormalCase(t *testing.T) {
	c := newCluster(t, 4, nil)
	for seq := uint64(1); seq <= 10; seq++ {
		c.request(0, 7, seq, fmt.Sprint("op", seq))
		c.run()
		if got := len(c.replies[seq]); got != 4 {
			t.Fatalf("request %d: %d replies, want 4\n%s", seq, got, c.status())
		}
	}
	for _, core := range c.cores {
		if core.LastExecuted() != 10 || core.LowWatermark() != 8 {
			t.Errorf("%s", core.Status())
		}
	}
}

func (c *cluster) status() string {
	s := ""
	for _, core := range c.cores {
		s += core.Status() + "\n"
	}
	return s
}

func TestConcurrentClients(t *testing.T) {
	for _, batch := range []int{1, 3, 10} {
		c := newCluster(t, 4, func(cfg *Config) { cfg.BatchSize = batch; cfg.BatchTimeout = 2 })
		for round := uint64(1); round <= 20; round++ {
			for client := uint32(0); client < 5; client++ {
				c.request(0, client, round, fmt.Sprint(client, "/", round))
			}
			c.run()
			c.tick(3)
			if got := len(c.replies[round]); got != 4 {
				t.Fatalf("batch %d round %d: replies from %d replicas, want 4\n%s", batch, round, got, c.status())
			}
		}
		for _, core := range c.cores {
			if core.execs != 100 {
				t.Errorf("batch %d: executed %d requests, want 100: %s", batch, core.execs, core.Status())
			}
		}
		if batch > 1 && c.cores[0].Stats.Batches >= 100 {
			t.Errorf("batch %d: %d pre-prepares for 100 requests: nothing was batched", batch, c.cores[0].Stats.Batches)
		}
	}
}

// TestGate: once a slot prepared (committed), the gate turns away further
// prepares (commits) for it, and nothing else.
func TestGate(t *testing.T) {
	gate := NewGate()
	c := newCluster(t, 4, func(cfg *Config) {
		if cfg.ID == 1 {
			cfg.Gate = gate
		}
	})
	vote := func(typ wire.Type, view, seq uint64) []byte {
		return wire.Seal(wire.AppendVote(nil, typ, &wire.Vote{Replica: 2, View: view, Seq: seq}), nil)
	}
	if !gate.Needed(vote(wire.TypePrepare, 0, 1)) || !gate.Needed(vote(wire.TypeCommit, 0, 1)) {
		t.Fatal("gate refused votes before anything happened")
	}
	c.request(0, 1, 1, "a")
	c.run()
	for _, v := range [][]byte{vote(wire.TypePrepare, 0, 1), vote(wire.TypeCommit, 0, 1)} {
		if gate.Needed(v) {
			t.Errorf("%v for a committed slot still needed", wire.Type(v[5]))
		}
	}
	for _, v := range [][]byte{vote(wire.TypePrepare, 1, 1), vote(wire.TypeCommit, 0, 2)} {
		if !gate.Needed(v) {
			t.Errorf("%v for another slot refused", wire.Type(v[5]))
		}
	}
}
