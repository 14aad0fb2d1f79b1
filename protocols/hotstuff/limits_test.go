package hotstuff

import (
	"bytes"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// testFrame is the frame limit the large-request tests hold every message
// to, small enough that a few kilobytes of payload make blocks outgrow it.
const testFrame = 64 << 10

// TestBatchBudgetFitsFrames builds the largest message a batch within
// BatchBudget travels in — its proposal, with a QC of 2f+1 votes, inside a
// fetch answer — with authenticators of the assumed size, and checks it
// against the frame limit, and that the budget is not needlessly small.
func TestBatchBudgetFitsFrames(t *testing.T) {
	for _, tc := range []struct{ maxFrame, n, auth int }{
		{testFrame, 4, 0}, {wire.DefaultMaxFrame, 4, 64}, {wire.DefaultMaxFrame, 7, 512}, {wire.DefaultMaxFrame, 4, 4 * 32},
	} {
		budget := BatchBudget(tc.maxFrame, tc.n, tc.auth)
		f := (tc.n - 1) / 3
		auth := bytes.Repeat([]byte{1}, tc.auth)
		seal := func(b []byte) []byte { return wire.Seal(b, auth) }
		req := seal(wire.AppendRequest(nil, &wire.Request{Client: 1, Seq: 1}))
		req = seal(wire.AppendRequest(nil, &wire.Request{Client: 1, Seq: 1, Payload: make([]byte, budget-4-len(req))}))
		batch := wire.AppendFrame(nil, req)
		if len(batch) != budget {
			t.Fatalf("batch of %d bytes, want the budget %d", len(batch), budget)
		}
		var votes []byte
		for i := 0; i < 2*f+1; i++ {
			votes = wire.AppendFrame(votes, seal(wire.AppendHSVote(nil, &wire.HSVote{Replica: uint32(i), View: 1 << 40})))
		}
		p := seal(wire.AppendHSProposal(nil, &wire.HSProposal{Replica: 1, View: 1 << 40, Justify: wire.QC{View: 1 << 40, Votes: votes}, Batch: batch}))
		answer := seal(wire.AppendHSBlocks(nil, &wire.HSBlocks{Replica: 1, Proposals: wire.AppendFrame(nil, p)}))
		for _, m := range [][]byte{p, answer} {
			if _, _, err := wire.ParseHeader(m, tc.maxFrame); err != nil {
				t.Errorf("n=%d auth=%d frame %d: budget %d: %v", tc.n, tc.auth, tc.maxFrame, budget, err)
			}
		}
		if slack := tc.maxFrame - (len(answer) - 4); slack > 128*(2*f+3) {
			t.Errorf("n=%d auth=%d: fetch answer leaves %d bytes unused: the budget is too cautious", tc.n, tc.auth, slack)
		}
	}
}

// TestBatchRespectsByteCap: blocks stay within MaxBatchBytes — several
// requests when they fit — and everything executes.
func TestBatchRespectsByteCap(t *testing.T) {
	const capBytes = 3000
	c := newCluster(t, func(cfg *Config) { cfg.BatchSize = 10; cfg.MaxBatchBytes = capBytes })
	multi := false
	c.filter = func(m msg) bool {
		if isType(m, wire.TypeHSProposal) && m.to == m.from {
			var p wire.HSProposal
			if err := wire.DecodeHSProposal(m.frame, &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Batch) > capBytes {
				t.Errorf("view %d: batch of %d bytes over the cap %d", p.View, len(p.Batch), capBytes)
			}
			n := 0
			_ = p.Batch.Each(func([]byte) error { n++; return nil })
			multi = multi || n > 1
		}
		return true
	}
	payloads := map[uint32]int{0: 600, 1: 600, 2: 600, 3: 600, 4: 600, 9: 2500}
	for round := uint64(1); round <= 3; round++ {
		for client, size := range payloads {
			c.request(client, round, string(bytes.Repeat([]byte{byte('a' + client)}, size)))
		}
		c.run()
		if !c.tickUntil(50, func() bool { return c.agreed(round) && len(c.replies[round]) == 4 }) {
			t.Fatalf("round %d incomplete\n%s", round, c.status())
		}
	}
	c.tick(20)
	for _, core := range c.cores {
		if _, execs := core.Committed(); execs != uint64(3*len(payloads)) {
			t.Errorf("executed %d requests, want %d: %s", execs, 3*len(payloads), core.Status())
		}
	}
	if !multi {
		t.Error("no block holds more than one request")
	}
}

// TestOversizedRequestRefused: a request no block can carry is refused and
// counted, not kept pending, so it cannot keep the pacemaker timing out.
func TestOversizedRequestRefused(t *testing.T) {
	c := newCluster(t, func(cfg *Config) { cfg.MaxBatchBytes = 1000 })
	c.request(1, 1, string(make([]byte, 1000)))
	c.run()
	c.tick(200)
	for i, core := range c.cores {
		if core.Stats.Oversized != 1 || len(core.pending) != 0 || core.Stats.Timeouts != 0 {
			t.Errorf("replica %d: oversized %d, pending %d, timeouts %d; want 1, 0, 0", i, core.Stats.Oversized, len(core.pending), core.Stats.Timeouts)
		}
	}
	c.request(1, 1, "small")
	c.run()
	if !c.tickUntil(50, func() bool { return len(c.replies[1]) == 4 }) {
		t.Errorf("a small request after the refused one: %d replies, want 4\n%s", len(c.replies[1]), c.status())
	}
}

// TestLargeRequestsCommitInSim runs sixteen clients sending requests of a
// few kilobytes through the simulator, which drops every message over a 64
// KiB frame as the transport refuses it; one replica is down for a while
// and catches up through block fetches. Without a byte cap the leader packs
// ten requests into a proposal over the limit and nothing commits; with the
// runtime's BatchBudget every request commits and no message is dropped.
func TestLargeRequestsCommitInSim(t *testing.T) {
	const clients = 16
	const snapshotRoom = 1 << 10
	for seed := uint64(1); seed <= 20; seed++ {
		over, biggest := 0, 0
		cfg := sim.Config{
			Seed: seed, N: 4, Clients: clients, ClientTimeout: SimClientTimeout, ClientsSendToAll: true, Protocol: "hotstuff",
			New: func(id uint32, app protocols.App) protocols.Core {
				cfg := SimConfig(id, 4, app)
				// The restarted replica catches up by a state transfer, whose
				// snapshot (16 clients' sessions and the app's state, under
				// 1 KiB here) rides in a fetch answer beside the oldest block
				// and is not bounded by BatchBudget (limits.go): leave it room.
				cfg.BatchSize, cfg.MaxBatchBytes = 10, BatchBudget(testFrame-snapshotRoom, 4, 0)
				c, err := New(cfg)
				if err != nil {
					panic(err)
				}
				return c
			},
		}
		s, err := sim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.SetFilter(func(from, to keys.Principal, frame []byte) bool {
			biggest = max(biggest, len(frame))
			if _, _, err := wire.ParseHeader(frame, testFrame); err != nil {
				over++
				return false
			}
			return true
		})
		const rounds = 6
		for round := range rounds {
			for client := range uint32(clients) {
				s.Submit(client, bytes.Repeat([]byte{byte(client)}, 9000+100*round))
			}
		}
		s.Crash(3)
		s.Tick(150)
		s.Restart(3)
		if !s.RunUntil(s.Done, 20000) {
			t.Fatalf("seed %d: %d messages over the frame limit (largest %d); requests incomplete:\n%s", seed, over, biggest, s.Stuck())
		}
		if err := s.Err(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if over > 0 {
			t.Errorf("seed %d: %d messages over the %d-byte frame limit (largest %d)", seed, over, testFrame, biggest)
		}
		for client := range uint32(clients) {
			if _, ok := s.Result(client, rounds); !ok {
				t.Errorf("seed %d: client %d has no result for its last request", seed, client)
			}
		}
		// The replica that was down caught up through fetches.
		s.RunUntil(func() bool { _, e := s.Core(3).(*Core).Committed(); return e == clients*rounds }, 2000)
		if _, e := s.Core(3).(*Core).Committed(); e != clients*rounds || s.Core(3).(*Core).Stats.Fetches == 0 {
			t.Errorf("seed %d: replica 3 executed %d of %d requests after %d fetches", seed, e, clients*rounds, s.Core(3).(*Core).Stats.Fetches)
		}
	}
}
