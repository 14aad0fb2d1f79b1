package hotstuff

import (
	"fmt"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// Scripted tests for the cases the randomised simulator reaches only by
// chance. Each drives four replicas (f = 1) by hand: batches of one, view
// timeout 50 ticks, fetch timeout 20. Replica 0 leads views 0-3, replica 1
// views 4-7, and so on; the first view is 1.

// executed is how many requests a replica executed.
func executed(core *Core) uint64 {
	_, n := core.Committed()
	return n
}

// voteView is the view of a vote frame.
func voteView(m msg) uint64 {
	var v wire.HSVote
	if wire.DecodeHSVote(m.frame, &v) != nil {
		return 0
	}
	return v.View
}

// TestSilentLeader: the leader of the first views receives everything and
// votes, but its proposals never arrive. The others time out, move to the
// next leader together, and the request executes everywhere; the silent
// leader's later turns are skipped the same way.
func TestSilentLeader(t *testing.T) {
	c := newCluster(t, nil)
	c.filter = func(m msg) bool { return !(m.from == 0 && isType(m, wire.TypeHSProposal)) }
	for seq := uint64(1); seq <= 30; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
		c.run()
		if !c.tickUntil(2000, func() bool { return c.agreed(seq) }) {
			t.Fatalf("request %d never completed with a silent leader\n%s", seq, c.status())
		}
	}
	c.tick(300)
	for _, core := range c.cores {
		if executed(core) != 30 {
			t.Errorf("want 30 executed: %s", core.Status())
		}
		if core.Stats.Timeouts == 0 {
			t.Errorf("no timeout, yet replica 0 never proposed: %s", core.Status())
		}
	}
	if v := c.cores[1].View(); v < 16 {
		t.Errorf("30 requests took only %d views: the silent leader's second turn was not reached", v)
	}
	c.sameState(t)
}

// TestLeaderCrashMidChain: the leader proposes three blocks in a row and
// crashes as it sends the third. The first block is certified at every
// replica, the second only at the leader. The next leader extends the
// first and orders the other two requests again; each executes once. The
// crashed leader, back, catches up.
func TestLeaderCrashMidChain(t *testing.T) {
	c := newCluster(t, nil)
	proposals := 0
	c.filter = func(m msg) bool {
		if m.from == 0 && m.to == 0 && isType(m, wire.TypeHSProposal) {
			proposals++
			if proposals == 3 { // its own copy comes first: nobody gets the third
				c.down[0] = true
				return false
			}
		}
		return true
	}
	for seq := uint64(1); seq <= 3; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
	}
	c.run()
	if !c.down[0] || c.cores[1].highQC.view != 1 || c.cores[0].highQC.view != 2 {
		t.Fatalf("setup: want replica 0 down with QC 2, the others with QC 1\n%s", c.status())
	}
	if !c.tickUntil(1000, func() bool { return c.agreed(1) && c.agreed(2) && c.agreed(3) }) {
		t.Fatalf("requests never completed after the leader crashed\n%s", c.status())
	}
	for _, core := range c.cores[1:] {
		if executed(core) != 3 || core.View() < 4 {
			t.Errorf("want 3 executed in view 4 or later: %s", core.Status())
		}
	}
	// Back up, replica 0 finds its second block abandoned and follows.
	c.filter = nil
	c.down[0] = false
	for seq := uint64(4); seq <= 8; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
		c.run()
		c.tickUntil(500, func() bool { return executed(c.cores[0]) == seq && c.agreed(seq) })
	}
	for _, core := range c.cores {
		if executed(core) != 8 {
			t.Errorf("want 8 executed: %s", core.Status())
		}
	}
	c.sameState(t)
}

// TestPartitionSplitsVotes: a 2-2 partition leaves every leader short of a
// quorum of votes and of new-views. Nothing commits and no replica runs
// ahead of its side; once healed, the replicas meet in one view and the
// request completes.
func TestPartitionSplitsVotes(t *testing.T) {
	c := newCluster(t, nil)
	c.request(1, 1, "before")
	c.run()
	c.tick(10)
	if !c.agreed(1) {
		t.Fatalf("setup: request 1 did not complete\n%s", c.status())
	}
	side := func(id uint32) bool { return id < 2 }
	c.filter = func(m msg) bool { return side(m.from) == side(m.to) }
	var start uint64
	for _, core := range c.cores {
		start = max(start, core.View())
	}
	c.request(1, 2, "during")
	c.run()
	c.tick(2000)
	for _, core := range c.cores {
		if executed(core) != 1 {
			t.Fatalf("a request executed without a quorum: %s", core.Status())
		}
		// Voting ends a view, but nothing else can: no QC, no 2f+1 new-views.
		if core.View() > start+1 {
			t.Fatalf("a replica went from view %d to %d without a quorum: %s", start, core.View(), core.Status())
		}
	}
	c.filter = nil
	if !c.tickUntil(3000, func() bool { return c.agreed(2) }) {
		t.Fatalf("request 2 never completed after the partition healed\n%s", c.status())
	}
	c.tick(50)
	for _, core := range c.cores {
		if executed(core) != 2 || core.View() != c.cores[0].View() {
			t.Errorf("want 2 executed, all in one view: %s", core.Status())
		}
	}
	c.sameState(t)
}

// TestLaggingReplicaCatchesUpByStateTransfer: replica 3 is cut off while
// 20 requests commit and the others prune their blocks. Healed, it cannot
// fetch the pruned ancestors; it installs another replica's state and then
// executes like the others.
func TestLaggingReplicaCatchesUpByStateTransfer(t *testing.T) {
	c := newCluster(t, nil)
	c.filter = func(m msg) bool { return m.to != 3 && m.from != 3 }
	for seq := uint64(1); seq <= 20; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
		c.run()
		c.tickUntil(500, func() bool { return executed(c.cores[0]) == seq })
	}
	if executed(c.cores[0]) != 20 || executed(c.cores[3]) != 0 {
		t.Fatalf("setup:\n%s", c.status())
	}
	c.filter = nil
	for seq := uint64(21); seq <= 25; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
		c.run()
		c.tickUntil(200, func() bool { return executed(c.cores[3]) == seq })
	}
	lag := c.cores[3]
	if lag.Stats.StateTransfers == 0 || executed(lag) != 25 {
		t.Fatalf("replica 3 did not catch up by state transfer: %s (%+v)", lag.Status(), lag.Stats)
	}
	if c.apps[3].Digest() != c.apps[0].Digest() {
		t.Fatal("replica 3's state after transfer differs from replica 0's")
	}
	// The client's last request is answered from the sessions, which the
	// transfer carried, and not executed again.
	c.replies = make(map[uint64]map[uint32][]byte)
	c.request(1, 25, "25")
	c.run()
	if len(c.replies[25]) != 4 || executed(lag) != 25 {
		t.Errorf("retransmitted request 25: %d replies, replica 3 executed %d", len(c.replies[25]), executed(lag))
	}
}

// TestFetchLongChain: with the votes of every leader's third view lost, no
// three consecutive views get QCs and nothing commits, so the chain grows
// unpruned while replica 3 is cut off. Reconnected (still without
// commits), replica 3 fetches the chain, a bounded number of blocks per
// answer, and votes again; once the votes flow, everyone commits.
func TestFetchLongChain(t *testing.T) {
	c := newCluster(t, nil)
	third := func(m msg) bool { return isType(m, wire.TypeHSVote) && voteView(m)%viewsPerLeader == 2 }
	c.filter = func(m msg) bool { return m.to != 3 && m.from != 3 && !third(m) }
	for seq := uint64(1); seq <= 2*maxFetchChain; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
	}
	c.run()
	c.tickUntil(100_000, func() bool { return c.cores[0].BlocksHeld() > 2*maxFetchChain })
	if executed(c.cores[0]) != 0 || c.cores[0].BlocksHeld() <= 2*maxFetchChain {
		t.Fatalf("setup: want a long chain and nothing committed\n%s", c.status())
	}
	c.filter = func(m msg) bool { return !third(m) }
	lag := c.cores[3]
	if !c.tickUntil(3000, func() bool { return lag.voted+viewsPerLeader > c.cores[0].voted }) {
		t.Fatalf("replica 3 did not catch up\n%s", c.status())
	}
	if lag.Stats.Fetches < 2 || lag.BlocksHeld() <= maxFetchChain+1 { // more than one answer's worth
		t.Errorf("want the chain fetched in several answers: %d blocks, %+v", lag.BlocksHeld(), lag.Stats)
	}
	c.filter = nil
	seq := uint64(2*maxFetchChain + 1)
	c.request(1, seq, "last")
	c.run()
	if !c.tickUntil(3000, func() bool { return executed(lag) == seq }) {
		t.Fatalf("replica 3 did not execute\n%s", c.status())
	}
	if lag.Stats.StateTransfers != 0 {
		t.Errorf("replica 3 transferred state, but it had every block: %+v", lag.Stats)
	}
	c.sameState(t)
}

// TestParentAfterItsChildren: replica 3 gets a leader's proposal only after
// the four that follow it (and its fetches go unanswered). When it comes,
// the waiting children are taken in one cascade that commits past the
// late block itself, which is pruned before its own handling ends.
func TestParentAfterItsChildren(t *testing.T) {
	c := newCluster(t, nil)
	var held []msg
	c.filter = func(m msg) bool {
		switch {
		case m.to == 3 && isType(m, wire.TypeHSProposal) && len(held) == 0:
			held = append(held, m) // the first proposal replica 3 would see
			return false
		case m.from == 3 && isType(m, wire.TypeHSFetch):
			return false
		}
		return true
	}
	for seq := uint64(1); seq <= 4; seq++ {
		c.request(1, seq, fmt.Sprint(seq))
		c.run()
	}
	if executed(c.cores[0]) < 2 || executed(c.cores[3]) != 0 || len(c.cores[3].missing) == 0 {
		t.Fatalf("setup: want replica 3 waiting for a block while the others commit\n%s", c.status())
	}
	c.filter = nil
	c.queue = append(c.queue, held...)
	c.run()
	if executed(c.cores[3]) != executed(c.cores[0]) {
		t.Fatalf("replica 3 did not catch up when the block came\n%s", c.status())
	}
	c.sameState(t)
}

// TestEquivocatingLeader: a leader sends more blocks for a view it already
// proposed in. A replica keeps and votes for the first only, so a faulty
// leader cannot make it hold blocks without end.
func TestEquivocatingLeader(t *testing.T) {
	c := newCluster(t, nil)
	c.request(1, 1, "a")
	var first msg
	for _, m := range c.queue {
		if m.to == 2 && isType(m, wire.TypeHSProposal) {
			first = m
		}
	}
	var p wire.HSProposal
	if err := wire.DecodeHSProposal(first.frame, &p); err != nil {
		t.Fatal(err)
	}
	core := c.cores[2]
	var e protocols.Effects
	core.Message(first.from, first.frame, &e)
	for i := byte(0); i < 3; i++ {
		other := wire.Seal(wire.AppendRequest(nil, &wire.Request{Client: 2, Seq: 1, Payload: []byte{i}}), nil)
		q := p
		q.Batch = wire.AppendFrame(nil, other)
		core.Message(first.from, wire.Seal(wire.AppendHSProposal(nil, &q), nil), &e)
	}
	if core.Stats.Votes != 1 || core.BlocksHeld() != 2 {
		t.Errorf("after 4 blocks for view %d: %d votes, %d blocks held (genesis and the first)", p.View, core.Stats.Votes, core.BlocksHeld())
	}
}
