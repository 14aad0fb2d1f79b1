package protocols

import (
	"fmt"

	"github.com/replbench/replbench/keys"
)

// Protocol describes one protocol to everything that runs it: the replica
// runtime, the client library, cluster and spec validation, the simulator
// and the command line all read a Protocol (from protocols/registry) and
// none of them switches on protocol names. Adding a protocol is one
// package that exports its Protocol and one line in the registry.
type Protocol struct {
	Name    string // as specs, cluster files and --protocol spell it
	Summary string // one line for help and docs

	// DefaultReplicas is n when a spec or the simulator does not say.
	DefaultReplicas int
	// CheckReplicas says why the protocol cannot run n replicas, or nil.
	CheckReplicas func(n int) error
	// Faults is how many faulty replicas n replicas tolerate; clients wait
	// for Faults(n)+1 matching replies.
	Faults func(n int) int
	// ClientsSendToAll makes clients send every request to every replica
	// at once, for protocols with no primary to aim at (a rotating leader).
	ClientsSendToAll bool

	// New builds replica p.ID's core.
	New func(p Params) (Core, error)
	// Verify checks the authenticators a replica's frame embeds (batched
	// requests, quorum certificates) once the frame's own has verified;
	// nil when frames embed none.
	Verify func(frame []byte, replicas, clients keys.Authenticator) error
	// BatchBudget is the largest batch, in bytes of its encoding, whose
	// every carrying message fits a frame of maxFrame for n replicas with
	// authenticators of at most auth bytes, and why; nil when the protocol
	// does not batch.
	BatchBudget func(maxFrame, n, auth int) (budget int, bound string)

	// SimNew builds replica id's core with the simulator's timing, for n
	// replicas executing on app.
	SimNew func(id uint32, n int, app App) (Core, error)
	// SimClientTimeout is the simulated clients' retransmission timeout,
	// in ticks, fitted to the protocol's timers; 0 keeps the simulator's.
	SimClientTimeout uint64
}

// Params configures one replica's core. Times are in ticks.
type Params struct {
	ID                 uint32
	N                  int // replicas
	App                App
	BatchSize          int
	MaxBatchBytes      int // 0: no cap
	BatchTimeout       uint64
	CheckpointInterval int
	ViewChangeTimeout  uint64
}

// Gated is a core whose runtime can skip verifying frames it no longer
// needs (PBFT's votes for slots that already have their certificate).
type Gated interface {
	Gate() Gate
}

// Gate tells, safely from any goroutine, whether a verified replica frame
// would still change anything in the core.
type Gate interface {
	Needed(frame []byte) bool
}

// BFTFaults is f for n = 3f+1 replicas (rounded down for other n).
func BFTFaults(n int) int { return (n - 1) / 3 }

// CheckBFTReplicas accepts n = 3f+1 >= 4.
func CheckBFTReplicas(n int) error {
	if n < 4 || (n-1)%3 != 0 {
		return fmt.Errorf("needs n = 3f+1 replicas (4, 7, 10, ...), got %d", n)
	}
	return nil
}
