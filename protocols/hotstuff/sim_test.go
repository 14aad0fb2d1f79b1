package hotstuff

import (
	"os"
	"strconv"
	"testing"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// simConfig is one seeded simulation of four replicas running HotStuff,
// with mutation naming a deliberately broken variant ("" for the real
// protocol).
func simConfig(seed uint64, faults sim.Faults, mutation mutations) sim.Config {
	return sim.Config{
		Seed: seed, N: 4, Clients: 3, Requests: 10, Faults: faults,
		ClientTimeout: SimClientTimeout, ClientsSendToAll: true, Protocol: "hotstuff",
		New: func(id uint32, app protocols.App) protocols.Core {
			cfg := SimConfig(id, 4, app)
			cfg.mutations = mutation
			c, err := New(cfg)
			if err != nil {
				panic(err) // SimConfig is valid for n = 4
			}
			return c
		},
	}
}

// simSeeds is how many seeds TestSimulation runs: 10,000 by default (CI);
// REPLBENCH_SIM_SEEDS sets another number (scripts/sim-soak.sh runs more).
func simSeeds(t *testing.T) int {
	if s := os.Getenv("REPLBENCH_SIM_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("REPLBENCH_SIM_SEEDS=%q: want a positive number", s)
		}
		return n
	}
	if testing.Short() {
		return 500
	}
	return 10000
}

// TestSimulation runs HotStuff under every fault mix for 10,000 seeds: no
// safety violation, and every request completes once the faults stop.
func TestSimulation(t *testing.T) {
	n := simSeeds(t)
	failures := sim.RunSeeds(1, n, func(seed uint64) sim.Config { return simConfig(seed, sim.FaultMix(seed), mutations{}) }, sim.FirstFailure)
	for _, f := range failures {
		t.Errorf("%v\n%s", f, f.Details())
	}
}

// busy makes the clients send 40 requests each with short pauses, so the
// cluster works through the whole fault phase: the mutations below break
// only runs in which a fault strikes at a particular moment of a commit.
func busy(cfg sim.Config) sim.Config {
	cfg.Requests, cfg.ThinkTicks = 40, 20
	return cfg
}

// The simulator injects crashes, partitions and network faults but no
// Byzantine behaviour, and the two safeguards one would mutate first only
// matter against the latter. Committing on a two-chain (of consecutive
// views) and voting without the locking rule both stay safe as long as
// every leader extends the highest QC among the 2f+1 new-views that
// started its view: a QC that committed a block, or could have, is always
// among them, since each of its 2f+1 voters reports it, or a later one, in
// every new-view it sends after voting. Thousands of seeds of either
// mutation pass. So the tests use catchable variants:
//
//   - committing on a one-chain (a block as soon as it has a QC): the QC may
//     die with the leader that formed it, and the next leader extends the
//     block's parent;
//   - voting without the locking rule while leaders ignore the QCs of
//     new-views (staleLeader), proposing on whatever QC they hold, as a
//     Byzantine leader may. TestStaleLeadersAreSafe shows that the real
//     protocol survives such leaders: the lock is what makes it.
//
// Two-chain commits with stale leaders break too, but only when a
// proposal carrying the QC is lost to 2f replicas at once: too rarely for
// a test of a few seconds.

// TestStaleLeadersAreSafe: leaders that propose on old QCs cost views, not
// safety or liveness: the locked replicas refuse their blocks.
func TestStaleLeadersAreSafe(t *testing.T) {
	n := min(simSeeds(t), 1000)
	failures := sim.RunSeeds(1, n, func(seed uint64) sim.Config {
		return busy(simConfig(seed, sim.FaultMix(seed), mutations{staleLeader: true}))
	}, sim.FirstFailure)
	for _, f := range failures {
		t.Errorf("%v\n%s", f, f.Details())
	}
}

// TestMutationsAreCaught breaks HotStuff on purpose: the simulator must
// find a safety violation in each broken variant within its seeds, or it
// could not find such bugs.
func TestMutationsAreCaught(t *testing.T) {
	for _, m := range []struct {
		name string
		mut  mutations
	}{
		{"commit on a one-chain", mutations{oneChain: true}},
		{"vote without the locking rule, stale leaders", mutations{noLock: true, staleLeader: true}},
	} {
		t.Run(m.name, func(t *testing.T) {
			safety := func(f *sim.Failure) bool { return f.Kind == sim.Safety }
			failures := sim.RunSeeds(1, 1000, func(seed uint64) sim.Config {
				return busy(simConfig(seed, sim.AllFaults, m.mut))
			}, safety)
			for _, f := range failures {
				if safety(f) {
					t.Logf("caught: %v", f)
					return
				}
			}
			t.Fatalf("1000 seeds found no safety violation in the mutation %+v (%d other failures)", m.mut, len(failures))
		})
	}
}
