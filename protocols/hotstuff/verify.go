package hotstuff

import (
	"fmt"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// Verify checks the authenticators embedded in a HotStuff frame, after the
// runtime has checked the frame's own: the votes of QCs (in proposals and
// new-views), the client requests batched in proposals, and the proposals
// a blocks message carries. Votes are signed with Sign (they are sent as
// transferable), so every replica can check every vote of a QC. The
// runtime calls it on its receive goroutines, so the core only ever sees
// frames whose every signature or MAC checked out.
func Verify(frame []byte, replicas, clients keys.Authenticator) error {
	if len(frame) < wire.HeaderSize {
		return errReject
	}
	switch wire.Type(frame[5]) {
	case wire.TypeHSProposal:
		var m wire.HSProposal
		if err := wire.DecodeHSProposal(frame, &m); err != nil {
			return err
		}
		if err := verifyQC(&m.Justify, replicas); err != nil {
			return err
		}
		return m.Batch.Each(func(f []byte) error { return verifyOne(f, keys.RoleClient, clients) })
	case wire.TypeHSNewView:
		var m wire.HSNewView
		if err := wire.DecodeHSNewView(frame, &m); err != nil {
			return err
		}
		return verifyQC(&m.HighQC, replicas)
	case wire.TypeHSBlocks:
		var m wire.HSBlocks
		if err := wire.DecodeHSBlocks(frame, &m); err != nil {
			return err
		}
		return m.Proposals.Each(func(f []byte) error {
			if len(f) < wire.HeaderSize || wire.Type(f[5]) != wire.TypeHSProposal {
				return errReject
			}
			if err := verifyOne(f, keys.RoleReplica, replicas); err != nil {
				return err
			}
			return Verify(f, replicas, clients)
		})
	}
	return nil // the other types embed nothing
}

func verifyQC(q *wire.QC, replicas keys.Authenticator) error {
	return q.Votes.Each(func(f []byte) error { return verifyOne(f, keys.RoleReplica, replicas) })
}

// verifyOne checks one embedded frame's authenticator as sent by its sender.
func verifyOne(frame []byte, role keys.Role, auth keys.Authenticator) error {
	sender, signed, a, err := wire.Open(frame)
	if err != nil {
		return err
	}
	if err := auth.Verify(keys.Principal{Role: role, ID: sender}, signed, a); err != nil {
		return fmt.Errorf("embedded %v from %v: %w", wire.Type(frame[5]), keys.Principal{Role: role, ID: sender}, err)
	}
	return nil
}
