package pbft

import (
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
)

// Verify checks the authenticators embedded in a PBFT frame, after the
// runtime has checked the frame's own: the client requests batched in a
// pre-prepare, the checkpoint proofs of state and view-change messages, the
// prepared certificates of view-changes, and the view-changes of a
// new-view. The runtime calls it on its receive goroutines, so the core
// only ever sees frames whose every signature or MAC checked out.
func Verify(frame []byte, replicas, clients keys.Authenticator) error {
	if len(frame) < wire.HeaderSize {
		return errReject
	}
	switch wire.TypeOf(frame) {
	case wire.TypePrePrepare:
		var m wire.PrePrepare
		if err := wire.DecodePrePrepare(frame, &m); err != nil {
			return err
		}
		return m.Batch.Each(func(f []byte) error { return protocols.VerifyEmbedded(f, keys.RoleClient, clients) })
	case wire.TypeViewChange:
		return verifyViewChange(frame, replicas, clients)
	case wire.TypeNewView:
		var m wire.NewView
		if err := wire.DecodeNewView(frame, &m); err != nil {
			return err
		}
		return m.ViewChanges.Each(func(f []byte) error {
			if err := protocols.VerifyEmbedded(f, keys.RoleReplica, replicas); err != nil {
				return err
			}
			return verifyViewChange(f, replicas, clients)
		})
	case wire.TypeState:
		var m wire.State
		if err := wire.DecodeState(frame, &m); err != nil {
			return err
		}
		return m.Checkpoints.Each(func(f []byte) error { return protocols.VerifyEmbedded(f, keys.RoleReplica, replicas) })
	}
	return nil // the other types embed nothing
}

func verifyViewChange(frame []byte, replicas, clients keys.Authenticator) error {
	var m wire.ViewChange
	if err := wire.DecodeViewChange(frame, &m); err != nil {
		return err
	}
	replica := func(f []byte) error { return protocols.VerifyEmbedded(f, keys.RoleReplica, replicas) }
	if err := m.Checkpoints.Each(replica); err != nil {
		return err
	}
	if err := m.Prepares.Each(replica); err != nil {
		return err
	}
	return m.PrePrepares.Each(func(f []byte) error {
		if err := replica(f); err != nil {
			return err
		}
		return Verify(f, replicas, clients) // its batch's requests
	})
}
