package pbft

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/replbench/replbench/internal/wire"
)

// Scripted tests for the cases the randomised simulator reaches only by
// chance. Each drives four replicas (f = 1) by hand: period-4 checkpoints,
// a window of 8 sequence numbers, batch size 1, view-change timeout 50 ticks.

// requestAll is a client retransmission: the request reaches every live replica.
func (c *cluster) requestAll(client uint32, seq uint64, payload string) {
	for i := range c.cores {
		if !c.down[uint32(i)] {
			c.request(uint32(i), client, seq, payload)
		}
	}
	c.run()
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

// sameState checks that the live replicas that executed through the same
// point hold the same application state.
func (c *cluster) sameState(t *testing.T) {
	t.Helper()
	var ref *Core
	for i, core := range c.cores {
		if c.down[uint32(i)] {
			continue
		}
		if ref == nil {
			ref = core
			continue
		}
		if core.LastExecuted() == ref.LastExecuted() && !bytes.Equal(core.snapshot(), ref.snapshot()) {
			t.Errorf("replicas %d and %d executed through %d but differ", ref.id, core.id, ref.LastExecuted())
		}
	}
}

func isType(m msg, t wire.Type) bool { return wire.Type(m.frame[5]) == t }

func TestPrimaryCrashDuringBatch(t *testing.T) {
	c := newCluster(t, 4, nil)
	c.request(0, 1, 1, "a")
	c.run()
	// The primary's pre-prepare for the second request reaches replica 1
	// only, then the primary crashes.
	c.filter = func(m msg) bool { return !(isType(m, wire.TypePrePrepare) && m.to > 1) }
	c.request(0, 1, 2, "b")
	c.run()
	c.down[0] = true
	c.filter = nil
	c.requestAll(1, 2, "b") // the client times out and retransmits to all
	c.tick(200)
	if !c.agreed(2) {
		t.Fatalf("request 2 never completed after the primary crashed\n%s", c.status())
	}
	for _, core := range c.cores[1:] {
		if v, changing := core.View(); v != 1 || changing || core.LastExecuted() < 2 {
			t.Errorf("want view 1 and request 2 executed: %s", core.Status())
		}
	}
	c.sameState(t)
}

func TestViewChangeWithCheckpointInFlight(t *testing.T) {
	c := newCluster(t, 4, nil)
	for seq := uint64(1); seq <= 3; seq++ {
		c.request(0, 1, seq, fmt.Sprint(seq))
		c.run()
	}
	// Sequence number 4 executes everywhere, but its checkpoint messages
	// are lost, so no replica holds a stable checkpoint at 4 ...
	c.filter = func(m msg) bool { return !isType(m, wire.TypeCheckpoint) }
	c.request(0, 1, 4, "4")
	c.run()
	c.filter = nil
	for _, core := range c.cores {
		if core.LowWatermark() != 0 || core.LastExecuted() != 4 {
			t.Fatalf("setup: %s", core.Status())
		}
	}
	// ... when the primary crashes and the others change views.
	c.down[0] = true
	c.requestAll(1, 5, "5")
	c.tick(200)
	if !c.agreed(5) {
		t.Fatalf("request 5 never completed\n%s", c.status())
	}
	// The new view re-proposed 1..4 from the prepared certificates; nothing
	// executed twice, and the next checkpoint becomes stable.
	for seq := uint64(6); seq <= 9; seq++ {
		c.request(1, 1, seq, fmt.Sprint(seq))
		c.run()
	}
	for _, core := range c.cores[1:] {
		if core.execs != 9 {
			t.Errorf("executed %d requests, want 9: %s", core.execs, core.Status())
		}
		if core.LowWatermark() < 8 {
			t.Errorf("checkpoint at 8 not stable: %s", core.Status())
		}
	}
	c.sameState(t)
}

func TestLaggingReplicaCatchesUpByStateTransfer(t *testing.T) {
	c := newCluster(t, 4, nil)
	// Replica 3 is cut off while 12 requests execute: the others' low
	// watermark passes everything it has.
	c.filter = func(m msg) bool { return m.to != 3 && m.from != 3 }
	for seq := uint64(1); seq <= 12; seq++ {
		c.request(0, 1, seq, fmt.Sprint(seq))
		c.run()
	}
	if c.cores[0].LowWatermark() != 12 || c.cores[3].LastExecuted() != 0 {
		t.Fatalf("setup: %s\n%s", c.cores[0].Status(), c.cores[3].Status())
	}
	c.filter = nil
	for seq := uint64(13); seq <= 16; seq++ {
		c.request(0, 1, seq, fmt.Sprint(seq))
		c.run()
	}
	c.tick(100)
	lag := c.cores[3]
	if lag.Stats.StateTransfers == 0 || lag.LastExecuted() != 16 {
		t.Fatalf("replica 3 did not catch up: %s", lag.Status())
	}
	if !bytes.Equal(lag.snapshot(), c.cores[0].snapshot()) {
		t.Fatal("replica 3's state after transfer differs from the primary's")
	}
	// It takes part again: the next requests execute there normally.
	c.request(0, 1, 17, "17")
	c.run()
	if lag.LastExecuted() != 17 {
		t.Fatalf("replica 3 did not execute after catching up: %s", lag.Status())
	}
}

func TestPartitionedPrimaryReturnsInOldView(t *testing.T) {
	c := newCluster(t, 4, nil)
	c.request(0, 1, 1, "1")
	c.run()
	// The primary is partitioned away; the others elect replica 1.
	c.filter = func(m msg) bool { return (m.from == 0) == (m.to == 0) }
	c.requestAll(1, 2, "2")
	c.tick(200)
	if !c.agreed(2) {
		t.Fatalf("request 2 never completed without the old primary\n%s", c.status())
	}
	for seq := uint64(3); seq <= 9; seq++ {
		c.request(1, 1, seq, fmt.Sprint(seq))
		c.run()
	}
	// The partition heals. The old primary, still in view 0, takes a client
	// request as primary and proposes it in view 0: the others answer with
	// the new view, which it installs.
	c.filter = nil
	old := c.cores[0]
	if v, _ := old.View(); v != 0 {
		t.Fatalf("setup: old primary left view 0 on its own: %s", old.Status())
	}
	c.request(0, 1, 10, "10")
	c.run()
	if v, changing := old.View(); v != 1 || changing {
		t.Fatalf("old primary did not adopt view 1: %s", old.Status())
	}
	// The request reaches the new primary on retransmission; at the next
	// stable checkpoint the old primary transfers the state it missed.
	c.requestAll(1, 10, "10")
	for seq := uint64(11); seq <= 16; seq++ {
		c.request(1, 1, seq, fmt.Sprint(seq))
		c.run()
	}
	c.tick(100)
	if old.LastExecuted() != c.cores[1].LastExecuted() {
		t.Fatalf("old primary did not catch up:\n%s", c.status())
	}
	c.sameState(t)
}
