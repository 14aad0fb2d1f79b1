package hotstuff

import "github.com/replbench/replbench/protocols"

// Protocol describes chained HotStuff to the runtime, clients, validation
// and the simulator (protocols/registry lists it).
var Protocol = protocols.Protocol{
	Name:            "hotstuff",
	Summary:         "chained HotStuff: pacemaker, leader rotation, three-chain commit; n = 3f+1",
	DefaultReplicas: 4,
	CheckReplicas:   protocols.CheckBFTReplicas,
	Faults:          protocols.BFTFaults,
	// The leader rotates: every replica needs every request.
	ClientsSendToAll: true,
	New:              newCore,
	Verify:           Verify,
	BatchBudget: func(maxFrame, n, auth int) (int, string) {
		return BatchBudget(maxFrame, n, auth), "a HotStuff block travels with a QC inside a fetch answer"
	},
	SimNew: func(id uint32, n int, app protocols.App) (protocols.Core, error) {
		return core(New(SimConfig(id, n, app)))
	},
	SimClientTimeout: SimClientTimeout,
}

func newCore(p protocols.Params) (protocols.Core, error) {
	return core(New(Config{
		ID: p.ID, N: p.N, App: p.App,
		BatchSize: p.BatchSize, MaxBatchBytes: p.MaxBatchBytes, ViewTimeout: p.ViewChangeTimeout,
	}))
}

// core returns c as a protocols.Core, nil (not a nil *Core) on error.
func core(c *Core, err error) (protocols.Core, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}
