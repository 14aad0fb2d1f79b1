// Package protocols holds what every protocol core shares: the deterministic
// application interface and the effects a core returns to its runtime. The
// cores themselves live in subpackages and do no I/O: time enters as ticks,
// messages arrive already verified, and everything to send comes back as values.
package protocols

import (
	"fmt"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// App is the replicated state machine. It must be deterministic: the same
// operations in the same order give the same results and the same Digest.
// Cores call it from their single goroutine.
type App interface {
	// Execute applies op and appends its result to dst.
	Execute(dst, op []byte) []byte
	// Snapshot returns the state for checkpoints and state transfer.
	Snapshot() []byte
	// Restore replaces the state by a snapshot.
	Restore(snapshot []byte) error
	// Digest summarises the state; equal states have equal digests.
	Digest() [32]byte
}

// Broadcast as a destination means every replica, the sender included: the
// runtime (or simulator) hands the sender its own sealed copy back through
// Core.Message, without the network. Cores thus count their own votes the
// way they count everyone's and hold their own sealed frames for the
// certificates they forward in view changes.
var Broadcast = keys.Principal{Role: keys.RoleReplica, ID: ^uint32(0)}

// Message is a protocol message for the runtime to authenticate and send.
// Frame is a wire frame without its authenticator; the runtime seals it
// (wire.Seal) with Sign for Broadcast or SignFor for a single receiver.
// A message To the sender itself comes back through Core.Message like its
// own broadcasts, sealed, without the network.
type Message struct {
	To    keys.Principal
	Frame []byte
	// Transferable asks for an authenticator every replica can verify (Sign)
	// even though one replica receives the message: it will be embedded in
	// others (a HotStuff vote in a quorum certificate). With signatures this
	// changes nothing; with HMAC it is a MAC vector instead of a single MAC.
	Transferable bool
}

// Reply is an executed request's answer for the runtime to seal and send.
type Reply struct {
	Request RequestID // the request answered
	View    uint64
	Result  []byte
}

// Execution records one request a core executed, at position Seq of the
// agreed order (1, 2, 3, ... with no gaps). The simulator's safety checker
// compares executions across replicas; the runtime only counts them.
type Execution struct {
	Seq     uint64    // position in the total order
	Request RequestID // the client's request
	Payload []byte    // the operation, so equal (client, number) with different content is caught; valid until Reset
}

// Checkpoint reports the application state digest after executing
// everything up to Seq; correct replicas must agree on it.
type Checkpoint struct {
	Seq    uint64
	Digest [32]byte
}

// Effects collects what one step asks of the runtime. Cores append to it;
// the runtime acts on it and calls Reset before the next step. Slices in it
// are valid until Reset.
type Effects struct {
	Messages    []Message
	Replies     []Reply
	Executed    []Execution
	Checkpoints []Checkpoint
}

// Reset empties e, keeping its capacity.
func (e *Effects) Reset() {
	e.Messages = e.Messages[:0]
	e.Replies = e.Replies[:0]
	e.Executed = e.Executed[:0]
	e.Checkpoints = e.Checkpoints[:0]
}

// Core is the shape every protocol core has. A core is not safe for
// concurrent use: one goroutine (the replica runtime, or the simulator)
// owns it and calls these methods one at a time.
type Core interface {
	// Request delivers a client request whose authenticator was verified.
	Request(req *wire.Request, out *Effects)
	// Message delivers a verified, sealed protocol frame from replica from.
	Message(from uint32, frame []byte, out *Effects)
	// Tick advances the core's clock by one tick.
	Tick(out *Effects)
}

// VerifyEmbedded checks the authenticator of a sealed frame embedded in
// another (a vote in a certificate, a request in a batch) as sent by its
// own sender, a principal of role.
func VerifyEmbedded(frame []byte, role keys.Role, auth keys.Authenticator) error {
	sender, signed, a, err := wire.Open(frame)
	if err != nil {
		return err
	}
	from := keys.Principal{Role: role, ID: sender}
	if err := auth.Verify(from, signed, a); err != nil {
		return fmt.Errorf("embedded %v from %v: %w", wire.TypeOf(frame), from, err)
	}
	return nil
}
