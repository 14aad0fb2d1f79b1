package hotstuff

import (
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// TestVerify seals real messages as the runtime would (votes with Sign,
// since they are transferable) and checks that Verify accepts them at a
// replica that received none of the votes, and rejects any embedded
// authenticator that was tampered with or names the wrong sender.
func TestVerify(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.HMAC, keys.Ed25519} {
		t.Run(string(scheme), func(t *testing.T) {
			auth, err := keys.GenerateInMemory(scheme, 4, 1)
			if err != nil {
				t.Fatal(err)
			}
			seal := func(p keys.Principal, unsealed []byte) []byte {
				a, err := auth[p].Sign(nil, wire.SignedBytes(unsealed))
				if err != nil {
					t.Fatal(err)
				}
				return wire.Seal(unsealed, a)
			}
			block := [32]byte{7}
			var votes []byte
			for id := uint32(0); id < 3; id++ {
				votes = wire.AppendFrame(votes, seal(keys.Replica(id), wire.AppendHSVote(nil, &wire.HSVote{Replica: id, View: 4, Block: block})))
			}
			req := seal(keys.Client(0), wire.AppendRequest(nil, &wire.Request{Client: 0, Seq: 1, Payload: []byte("op")}))
			proposal := func(votes, batch []byte) []byte {
				return seal(keys.Replica(1), wire.AppendHSProposal(nil, &wire.HSProposal{Replica: 1, View: 5, Parent: block,
					Justify: wire.QC{View: 4, Block: block, Votes: votes}, Batch: batch}))
			}
			good := proposal(votes, wire.AppendFrame(nil, req))
			tampered := func(b []byte, i int) []byte {
				b = append([]byte(nil), b...)
				b[i] ^= 1
				return b
			}
			// The first vote, sealed by replica 0 but claiming replica 2.
			forged := wire.AppendFrame(nil, seal(keys.Replica(0), wire.AppendHSVote(nil, &wire.HSVote{Replica: 2, View: 4, Block: block})))

			verifier := auth[keys.Replica(3)] // got none of the votes
			for _, tc := range []struct {
				name  string
				frame []byte
				ok    bool
			}{
				{"proposal", good, true},
				{"new-view", seal(keys.Replica(2), wire.AppendHSNewView(nil, &wire.HSNewView{Replica: 2, View: 8, HighQC: wire.QC{View: 4, Block: block, Votes: votes}})), true},
				{"blocks", seal(keys.Replica(2), wire.AppendHSBlocks(nil, &wire.HSBlocks{Replica: 2, Proposals: wire.AppendFrame(nil, good)})), true},
				{"vote altered", proposal(tampered(votes, 20), nil), false},
				{"vote from another sender", proposal(forged, nil), false},
				{"request altered", proposal(votes, wire.AppendFrame(nil, tampered(req, 12))), false},
				{"proposal in blocks altered", seal(keys.Replica(2), wire.AppendHSBlocks(nil, &wire.HSBlocks{Replica: 2, Proposals: wire.AppendFrame(nil, tampered(good, 12))})), false},
			} {
				err := Verify(tc.frame, verifier, verifier)
				if (err == nil) != tc.ok {
					t.Errorf("%s: Verify = %v, want ok %t", tc.name, err, tc.ok)
				}
			}
		})
	}
}
