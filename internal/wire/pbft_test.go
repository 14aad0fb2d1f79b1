package wire

import (
	"bytes"
	"testing"
)

func samplePBFTFrames() [][]byte {
	req := Seal(AppendRequest(nil, &Request{Client: 3, Seq: 9, Payload: []byte("op")}), []byte{1, 2})
	batch := AppendFrame(nil, req)
	pp := Seal(AppendPrePrepare(nil, &PrePrepare{Replica: 0, View: 2, Seq: 7, Digest: [32]byte{9}, Batch: batch}), []byte{7})
	prep := Seal(AppendVote(nil, TypePrepare, &Vote{Replica: 1, View: 2, Seq: 7, Digest: [32]byte{9}}), nil)
	cp := Seal(AppendCheckpoint(nil, &Checkpoint{Replica: 2, Seq: 8, Digest: [32]byte{1}}), nil)
	vc := Seal(AppendViewChange(nil, &ViewChange{Replica: 3, View: 3, Stable: 8,
		Checkpoints: AppendFrame(nil, cp), PrePrepares: AppendFrame(nil, pp), Prepares: AppendFrame(nil, prep)}), nil)
	return [][]byte{
		pp, prep,
		Seal(AppendVote(nil, TypeCommit, &Vote{Replica: 1, View: 2, Seq: 7}), nil),
		cp, vc,
		Seal(AppendNewView(nil, &NewView{Replica: 3, View: 3, ViewChanges: AppendFrame(nil, vc)}), nil),
		Seal(AppendFetchState(nil, &FetchState{Replica: 1, Seq: 8, View: 2}), nil),
		Seal(AppendState(nil, &State{Replica: 2, Seq: 8, Checkpoints: AppendFrame(nil, cp), Snapshot: []byte("snap")}), nil),
	}
}

// TestPBFTRoundTrip decodes every PBFT message and re-encodes it to the same bytes.
func TestPBFTRoundTrip(t *testing.T) {
	for _, f := range samplePBFTFrames() {
		got, err := reencodePBFT(f)
		if err != nil {
			t.Fatalf("%v: %v", Type(f[5]), err)
		}
		if !bytes.Equal(got, f) {
			t.Errorf("%v: re-encoded\n%x\nwant\n%x", Type(f[5]), got, f)
		}
	}
}

// reencodePBFT decodes a PBFT frame and encodes it again, sealed with its auth.
func reencodePBFT(f []byte) ([]byte, error) {
	_, _, auth, err := Open(f)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch t := Type(f[5]); t {
	case TypePrePrepare:
		var m PrePrepare
		err = DecodePrePrepare(f, &m)
		out = AppendPrePrepare(nil, &m)
	case TypePrepare, TypeCommit:
		var m Vote
		err = DecodeVote(f, t, &m)
		out = AppendVote(nil, t, &m)
	case TypeCheckpoint:
		var m Checkpoint
		err = DecodeCheckpoint(f, &m)
		out = AppendCheckpoint(nil, &m)
	case TypeViewChange:
		var m ViewChange
		err = DecodeViewChange(f, &m)
		out = AppendViewChange(nil, &m)
	case TypeNewView:
		var m NewView
		err = DecodeNewView(f, &m)
		out = AppendNewView(nil, &m)
	case TypeFetchState:
		var m FetchState
		err = DecodeFetchState(f, &m)
		out = AppendFetchState(nil, &m)
	case TypeState:
		var m State
		err = DecodeState(f, &m)
		out = AppendState(nil, &m)
	default:
		return nil, errType(t, TypePrePrepare)
	}
	if err != nil {
		return nil, err
	}
	return Seal(out, auth), nil
}

// FuzzPBFTDecode: no PBFT decoder or frame list walk panics on any input,
// and whatever decodes re-encodes to the same bytes.
func FuzzPBFTDecode(f *testing.F) {
	for _, fr := range samplePBFTFrames() {
		f.Add(fr)
		f.Add(fr[:len(fr)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, err := reencodePBFT(data); err == nil && !bytes.Equal(got, data) {
			t.Fatalf("decoded frame re-encodes differently:\n%x\n%x", data, got)
		}
		_ = Frames(data).Each(func([]byte) error { return nil })
	})
}
