package hotstuff

import (
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
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
	switch wire.TypeOf(frame) {
	case wire.TypeHSProposal:
		var m wire.HSProposal
		if err := wire.DecodeHSProposal(frame, &m); err != nil {
			return err
		}
		if err := verifyQC(&m.Justify, replicas); err != nil {
			return err
		}
		return m.Batch.Each(func(f []byte) error { return protocols.VerifyEmbedded(f, keys.RoleClient, clients) })
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
			if len(f) < wire.HeaderSize || wire.TypeOf(f) != wire.TypeHSProposal {
				return errReject
			}
			if err := protocols.VerifyEmbedded(f, keys.RoleReplica, replicas); err != nil {
				return err
			}
			return Verify(f, replicas, clients)
		})
	}
	return nil // the other types embed nothing
}

func verifyQC(q *wire.QC, replicas keys.Authenticator) error {
	return q.Votes.Each(func(f []byte) error { return protocols.VerifyEmbedded(f, keys.RoleReplica, replicas) })
}
