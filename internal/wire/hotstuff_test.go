package wire

import (
	"bytes"
	"errors"
	"testing"
)

func sampleHotStuffFrames() [][]byte {
	req := Seal(AppendRequest(nil, &Request{Client: 3, Seq: 9, Payload: []byte("op")}), []byte{1, 2})
	vote := Seal(AppendHSVote(nil, &HSVote{Replica: 1, View: 4, Block: [32]byte{9}}), []byte{5})
	qc := QC{View: 4, Block: [32]byte{9}, Votes: AppendFrame(AppendFrame(nil, vote), vote)}
	prop := Seal(AppendHSProposal(nil, &HSProposal{Replica: 1, View: 5, Parent: [32]byte{9}, Justify: qc,
		Batch: AppendFrame(nil, req)}), []byte{7})
	return [][]byte{
		prop, vote,
		Seal(AppendHSProposal(nil, &HSProposal{Replica: 1, View: 1}), nil), // genesis QC, empty batch
		Seal(AppendHSNewView(nil, &HSNewView{Replica: 2, View: 6, HighQC: qc}), []byte{1}),
		Seal(AppendHSFetch(nil, &HSFetch{Replica: 3, Block: [32]byte{9}, Have: 2}), nil),
		Seal(AppendHSBlocks(nil, &HSBlocks{Replica: 0, Proposals: AppendFrame(nil, prop)}), nil),
		Seal(AppendHSBlocks(nil, &HSBlocks{Replica: 0, Snapshot: []byte("snap"), Proposals: AppendFrame(nil, prop)}), nil),
	}
}

// TestHotStuffRoundTrip decodes every HotStuff message and re-encodes it to the same bytes.
func TestHotStuffRoundTrip(t *testing.T) {
	for _, f := range sampleHotStuffFrames() {
		got, err := reencodeHotStuff(f)
		if err != nil {
			t.Fatalf("%v: %v", Type(f[5]), err)
		}
		if !bytes.Equal(got, f) {
			t.Errorf("%v: re-encoded\n%x\nwant\n%x", Type(f[5]), got, f)
		}
	}
}

// TestHotStuffDecodeErrors: truncation, trailing bytes and a wrong type are
// errors that say where decoding stopped (Seal sets the length field, so
// only the body is wrong).
func TestHotStuffDecodeErrors(t *testing.T) {
	prop := sampleHotStuffFrames()[0]
	var m HSProposal
	for _, tc := range []struct {
		name  string
		frame []byte
		want  error
	}{
		{"wrong type", sampleHotStuffFrames()[1], ErrType},
		{"truncated", Seal(AppendHSProposal(nil, &HSProposal{})[:40], nil), ErrTruncated},
		{"trailing", Seal(append(AppendHSProposal(nil, &HSProposal{}), 0), nil), ErrTrailing},
		{"cut short", prop[:len(prop)-1], ErrTruncated},
	} {
		err := DecodeHSProposal(tc.frame, &m)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestBlockHash: the hash covers every block field except the QC's votes.
func TestBlockHash(t *testing.T) {
	base := HSProposal{Replica: 1, View: 5, Parent: [32]byte{1}, Justify: QC{View: 4, Block: [32]byte{1}}, Batch: []byte{0, 0, 0, 1, 7}}
	h := base.BlockHash()
	same := base
	same.Replica, same.Justify.Votes = 2, []byte{0, 0, 0, 0}
	if same.BlockHash() != h {
		t.Error("hash depends on the sender or the QC's votes")
	}
	for name, mod := range map[string]func(*HSProposal){
		"view":          func(p *HSProposal) { p.View++ },
		"parent":        func(p *HSProposal) { p.Parent[0]++ },
		"justify view":  func(p *HSProposal) { p.Justify.View++ },
		"justify block": func(p *HSProposal) { p.Justify.Block[31]++ },
		"batch":         func(p *HSProposal) { p.Batch = []byte{0, 0, 0, 1, 8} },
	} {
		p := base
		mod(&p)
		if p.BlockHash() == h {
			t.Errorf("changing the %s keeps the hash", name)
		}
	}
}

// reencodeHotStuff decodes a HotStuff frame and encodes it again, sealed with its auth.
func reencodeHotStuff(f []byte) ([]byte, error) {
	_, _, auth, err := Open(f)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch t := Type(f[5]); t {
	case TypeHSProposal:
		var m HSProposal
		err = DecodeHSProposal(f, &m)
		out = AppendHSProposal(nil, &m)
	case TypeHSVote:
		var m HSVote
		err = DecodeHSVote(f, &m)
		out = AppendHSVote(nil, &m)
	case TypeHSNewView:
		var m HSNewView
		err = DecodeHSNewView(f, &m)
		out = AppendHSNewView(nil, &m)
	case TypeHSFetch:
		var m HSFetch
		err = DecodeHSFetch(f, &m)
		out = AppendHSFetch(nil, &m)
	case TypeHSBlocks:
		var m HSBlocks
		err = DecodeHSBlocks(f, &m)
		out = AppendHSBlocks(nil, &m)
	default:
		return nil, errType(t, TypeHSProposal)
	}
	if err != nil {
		return nil, err
	}
	return Seal(out, auth), nil
}

// FuzzHotStuffDecode: no HotStuff decoder panics on any input, and
// whatever decodes re-encodes to the same bytes.
func FuzzHotStuffDecode(f *testing.F) {
	for _, fr := range sampleHotStuffFrames() {
		f.Add(fr)
		f.Add(fr[:len(fr)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := reencodeHotStuff(data)
		if err == nil && !bytes.Equal(got, data) {
			t.Fatalf("decoded frame re-encodes differently:\n%x\n%x", data, got)
		}
		if err != nil && !isFrameError(err) {
			t.Fatalf("%v is not a *FrameError", err)
		}
	})
}
