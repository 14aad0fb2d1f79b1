package pbft

import (
	"os"
	"strconv"
	"testing"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// simConfig is one seeded simulation of four replicas running PBFT, with
// mutation naming a deliberately broken variant ("" for the real protocol).
func simConfig(seed uint64, faults sim.Faults, mutation string) sim.Config {
	return sim.Config{
		Seed: seed, N: 4, Clients: 3, Requests: 10, Faults: faults,
		ClientTimeout: SimClientTimeout, Protocol: "pbft",
		New: func(id uint32, app protocols.App) protocols.Core {
			cfg := SimConfig(id, 4, app)
			cfg.mutation = mutation
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

// TestSimulation runs PBFT under every fault mix for 10,000 seeds: no
// safety violation, and every request completes once the faults stop.
func TestSimulation(t *testing.T) {
	n := simSeeds(t)
	failures := sim.RunSeeds(1, n, func(seed uint64) sim.Config { return simConfig(seed, sim.FaultMix(seed), "") }, sim.FirstFailure)
	for _, f := range failures {
		t.Errorf("%v\n%s", f, f.Details())
	}
}

// TestMutationsAreCaught breaks PBFT on purpose: the simulator must find
// each broken variant within its seeds, or it could not find such bugs.
//
// A commit quorum of 2f is not among them: the simulator injects crashes,
// partitions and network faults but no Byzantine behaviour, and against
// those any commit quorum q with q + 2f+1 > n is safe, because every
// new-view's 2f+1 view-changes include a replica that prepared. 2f+1 is
// needed only when up to f replicas lie in their view-changes. A quorum of
// f fails that bound, and the simulator catches it.
func TestMutationsAreCaught(t *testing.T) {
	for _, m := range []struct{ name, mutation string }{
		{"commit quorum of f", "commit-quorum-f"},
		{"new view drops prepared requests", "newview-drops-prepared"},
	} {
		t.Run(m.name, func(t *testing.T) {
			failures := sim.RunSeeds(1, 5000, func(seed uint64) sim.Config { return simConfig(seed, sim.AllFaults, m.mutation) }, sim.FirstFailure)
			if len(failures) == 0 {
				t.Fatalf("5000 seeds did not catch the mutation %q", m.mutation)
			}
			t.Logf("caught: %v", failures[0])
		})
	}
}
