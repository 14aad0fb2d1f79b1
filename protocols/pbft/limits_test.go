package pbft

import (
	"bytes"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// testFrame is the frame limit the large-request tests hold every message
// to, small enough that a few kilobytes of payload make batches outgrow it.
const testFrame = 64 << 10

// TestBatchBudgetFitsFrames builds the largest messages a batch within
// BatchBudget travels in — its pre-prepare, a view-change reporting it
// prepared with a stable checkpoint, and a new-view of 2f+1 such
// view-changes — with authenticators of the assumed size, and checks each
// against the frame limit, and that the budget is not needlessly small.
func TestBatchBudgetFitsFrames(t *testing.T) {
	for _, tc := range []struct{ maxFrame, n, auth int }{
		{testFrame, 4, 0}, {wire.DefaultMaxFrame, 4, 64}, {wire.DefaultMaxFrame, 7, 512}, {wire.DefaultMaxFrame, 4, 4 * 32},
	} {
		budget := BatchBudget(tc.maxFrame, tc.n, tc.auth)
		f := (tc.n - 1) / 3
		auth := bytes.Repeat([]byte{1}, tc.auth)
		seal := func(b []byte) []byte { return wire.Seal(b, auth) }
		// One request filling the budget exactly.
		req := seal(wire.AppendRequest(nil, &wire.Request{Client: 1, Seq: 1}))
		pad := budget - 4 - len(req)
		req = seal(wire.AppendRequest(nil, &wire.Request{Client: 1, Seq: 1, Payload: make([]byte, pad)}))
		batch := wire.AppendFrame(nil, req)
		if len(batch) != budget {
			t.Fatalf("batch of %d bytes, want the budget %d", len(batch), budget)
		}
		pp := seal(wire.AppendPrePrepare(nil, &wire.PrePrepare{Replica: 1, View: 1 << 40, Seq: 1 << 40, Batch: batch}))
		var cps, prs []byte
		for i := 0; i < 2*f+1; i++ {
			cps = wire.AppendFrame(cps, seal(wire.AppendCheckpoint(nil, &wire.Checkpoint{Replica: uint32(i), Seq: 1 << 40})))
		}
		for i := 0; i < 2*f; i++ {
			prs = wire.AppendFrame(prs, seal(wire.AppendVote(nil, wire.TypePrepare, &wire.Vote{Replica: uint32(i), View: 1 << 40, Seq: 1 << 40})))
		}
		vc := seal(wire.AppendViewChange(nil, &wire.ViewChange{Replica: 1, View: 1 << 40, Stable: 1 << 40,
			Checkpoints: cps, PrePrepares: wire.AppendFrame(nil, pp), Prepares: prs}))
		var vcs []byte
		for i := 0; i < 2*f+1; i++ {
			vcs = wire.AppendFrame(vcs, vc)
		}
		nv := seal(wire.AppendNewView(nil, &wire.NewView{Replica: 1, View: 1 << 40, ViewChanges: vcs}))
		for _, m := range [][]byte{pp, vc, nv} {
			if _, _, err := wire.ParseHeader(m, tc.maxFrame); err != nil {
				t.Errorf("n=%d auth=%d frame %d: budget %d: %v", tc.n, tc.auth, tc.maxFrame, budget, err)
			}
		}
		// The estimate is close: a few hundred bytes of slack per frame at most.
		if slack := tc.maxFrame - (len(nv) - 4); slack > 2048*(2*f+1)*(4*f+3) {
			t.Errorf("n=%d auth=%d: new-view leaves %d bytes unused: the budget is too cautious", tc.n, tc.auth, slack)
		}
	}
}

// TestBatchRespectsByteCap: a primary with many requests queued builds
// batches within MaxBatchBytes — several requests when they fit, one alone
// when it is larger than the rest of a batch — and everything executes.
func TestBatchRespectsByteCap(t *testing.T) {
	const capBytes = 3000
	c := newCluster(t, 4, func(cfg *Config) { cfg.BatchSize = 10; cfg.BatchTimeout = 2; cfg.MaxBatchBytes = capBytes })
	var sizes []int // requests per pre-prepare
	c.filter = func(m msg) bool {
		if wire.Type(m.frame[5]) == wire.TypePrePrepare && m.to == m.from {
			var pp wire.PrePrepare
			if err := wire.DecodePrePrepare(m.frame, &pp); err != nil {
				t.Fatal(err)
			}
			if len(pp.Batch) > capBytes {
				t.Errorf("pre-prepare %d: batch of %d bytes over the cap %d", pp.Seq, len(pp.Batch), capBytes)
			}
			n := 0
			_ = pp.Batch.Each(func([]byte) error { n++; return nil })
			sizes = append(sizes, n)
		}
		return true
	}
	// Client 9's second request is larger than a batch of the others leaves room for.
	payloads := map[uint32]int{0: 600, 1: 600, 2: 600, 3: 600, 4: 600, 9: 2500}
	for round := uint64(1); round <= 3; round++ {
		for client, size := range payloads {
			c.request(0, client, round, string(bytes.Repeat([]byte{byte('a' + client)}, size)))
		}
		c.tick(3)
	}
	c.tick(10)
	for _, core := range c.cores {
		if core.execs != uint64(3*len(payloads)) {
			t.Errorf("executed %d requests, want %d: %s", core.execs, 3*len(payloads), core.Status())
		}
	}
	multi := false
	for _, n := range sizes {
		multi = multi || n > 1
	}
	if !multi {
		t.Errorf("batches %v: none holds more than one request", sizes)
	}
}

// TestOversizedRequestRefused: a request no batch can carry is refused and
// counted, not queued, so it cannot stall the primary or trigger view changes.
func TestOversizedRequestRefused(t *testing.T) {
	c := newCluster(t, 4, func(cfg *Config) { cfg.MaxBatchBytes = 1000 })
	c.request(0, 1, 1, string(make([]byte, 1000)))
	c.request(1, 1, 1, string(make([]byte, 1000)))
	c.run()
	c.tick(200)
	for _, i := range []int{0, 1} {
		core := c.cores[i]
		if core.Stats.Oversized != 1 || len(core.pending) != 0 || core.Stats.ViewChanges != 0 {
			t.Errorf("replica %d: oversized %d, pending %d, view changes %d; want 1, 0, 0", i, core.Stats.Oversized, len(core.pending), core.Stats.ViewChanges)
		}
	}
	c.request(0, 1, 1, "small")
	c.run()
	if len(c.replies[1]) != 4 {
		t.Errorf("a small request after the refused one: %d replies, want 4\n%s", len(c.replies[1]), c.status())
	}
}

// TestLargeRequestsCommitInSim runs sixteen clients sending requests of a few
// kilobytes through the simulator, which drops every message over a 64 KiB
// frame as the transport refuses it. Without a byte cap the primary batches
// ten of them into a pre-prepare over the limit and nothing commits; with
// the runtime's BatchBudget every request commits.
func TestLargeRequestsCommitInSim(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		var over int
		var biggest int
		cfg := sim.Config{
			Seed: seed, N: 4, Clients: 16, ClientTimeout: SimClientTimeout, Protocol: "pbft",
			New: func(id uint32, app protocols.App) protocols.Core {
				cfg := SimConfig(id, 4, app)
				cfg.BatchSize, cfg.MaxBatchBytes = 10, BatchBudget(testFrame, 4, 0)
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
		for round := range 4 {
			for client := range uint32(16) {
				s.Submit(client, bytes.Repeat([]byte{byte(client)}, 9000+100*round))
			}
		}
		if !s.RunUntil(s.Done, 20000) {
			t.Fatalf("seed %d: %d messages over the frame limit; requests incomplete:\n%s", seed, over, s.Stuck())
		}
		if err := s.Err(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if over > 0 {
			t.Errorf("seed %d: %d messages over the %d-byte frame limit (largest %d)", seed, over, testFrame, biggest)
		}
		for client := range uint32(16) {
			if _, ok := s.Result(client, 4); !ok {
				t.Errorf("seed %d: client %d has no result for its 4th request", seed, client)
			}
		}
	}
}

// TestResendSkipsCommittedBatches: a primary stuck on one batch resends
// that pre-prepare, not those of batches already committed, which with
// large requests would mean signing megabytes every state timeout.
func TestResendSkipsCommittedBatches(t *testing.T) {
	c := newCluster(t, 4, func(cfg *Config) { cfg.StateTimeout = 20 })
	c.request(0, 1, 1, "committed")
	c.run()
	if len(c.replies[1]) != 4 {
		t.Fatalf("first request: %d replies\n%s", len(c.replies[1]), c.status())
	}
	resent := map[uint64]int{} // seq -> pre-prepares the primary sent after the first request
	c.filter = func(m msg) bool {
		if wire.Type(m.frame[5]) == wire.TypePrePrepare && m.to == 1 {
			var pp wire.PrePrepare
			if err := wire.DecodePrePrepare(m.frame, &pp); err != nil {
				t.Fatal(err)
			}
			resent[pp.Seq]++
			return pp.Seq != 2 // replica 1 never gets the second batch
		}
		return !(wire.Type(m.frame[5]) == wire.TypePrePrepare && m.to == 2 && m.from == 0) // nor does replica 2
	}
	c.request(0, 1, 2, "stuck")
	c.run()
	c.tick(45) // two state timeouts without progress
	if resent[1] != 0 || resent[2] < 2 {
		t.Errorf("pre-prepares sent to replica 1: %v; want the stuck seq 2 resent, the committed seq 1 never\n%s", resent, c.status())
	}
}
