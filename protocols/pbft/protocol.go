package pbft

import (
	"fmt"

	"github.com/replbench/replbench/protocols"
)

// Protocol describes PBFT to the runtime, clients, validation and the
// simulator (protocols/registry lists it).
var Protocol = protocols.Protocol{
	Name:            "pbft",
	Summary:         "PBFT (Castro & Liskov): batching, checkpoints, view change, state transfer; n = 3f+1",
	DefaultReplicas: 4,
	CheckReplicas:   protocols.CheckBFTReplicas,
	Faults:          protocols.BFTFaults,
	New:             newCore,
	Verify:          Verify,
	BatchBudget:     batchBudget,
	SimNew: func(id uint32, n int, app protocols.App) (protocols.Core, error) {
		return core(New(SimConfig(id, n, app)))
	},
	SimClientTimeout: SimClientTimeout,
}

func newCore(p protocols.Params) (protocols.Core, error) {
	return core(New(Config{
		ID: p.ID, N: p.N, App: p.App, Gate: NewGate(),
		BatchSize: p.BatchSize, MaxBatchBytes: p.MaxBatchBytes, BatchTimeout: p.BatchTimeout,
		CheckpointInterval: p.CheckpointInterval, ViewChangeTimeout: p.ViewChangeTimeout,
	}))
}

// core returns c as a protocols.Core, nil (not a nil *Core) on error.
func core(c *Core, err error) (protocols.Core, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}

func batchBudget(maxFrame, n, auth int) (int, string) {
	return BatchBudget(maxFrame, n, auth),
		fmt.Sprintf("a PBFT new-view carries %d view-changes, each with a prepared batch", 2*protocols.BFTFaults(n)+1)
}

// Gate is the gate the runtime consults before verifying replica frames;
// nil when the core was built without one.
func (c *Core) Gate() protocols.Gate {
	if c.cfg.Gate == nil {
		return nil
	}
	return c.cfg.Gate
}
