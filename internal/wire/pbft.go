package wire

import (
	"encoding/binary"
	"fmt"
)

// PBFT message types (0x20-0x5f). All are authenticated frames whose first
// field is the sending replica.
const (
	TypePrePrepare Type = 0x20
	TypePrepare    Type = 0x21
	TypeCommit     Type = 0x22
	TypeCheckpoint Type = 0x23
	TypeViewChange Type = 0x24
	TypeNewView    Type = 0x25
	TypeFetchState Type = 0x26
	TypeState      Type = 0x27
)

// DigestSize is the size of the SHA-256 digests PBFT messages carry.
const DigestSize = 32

// Frames is a list of whole sealed frames embedded in a message: each item
// is a uint32 length and the frame. Decoders return it aliasing the
// message; Next walks it without allocating.
type Frames []byte

// Next returns the first frame of f and the rest. It fails on a truncated
// item; the frame itself is checked by whoever decodes it.
func (f Frames) Next() (frame []byte, rest Frames, err error) {
	if len(f) < 4 {
		return nil, nil, fmt.Errorf("wire: frame list: truncated item length (%d bytes left)", len(f))
	}
	n := binary.BigEndian.Uint32(f)
	if uint64(n) > uint64(len(f)-4) {
		return nil, nil, fmt.Errorf("wire: frame list: item of %d bytes, only %d left", n, len(f)-4)
	}
	end := 4 + int(n)
	return []byte(f[4:end:end]), f[end:], nil
}

// Each calls fn for every frame in f, stopping at the first error.
func (f Frames) Each(fn func(frame []byte) error) error {
	for len(f) > 0 {
		frame, rest, err := f.Next()
		if err != nil {
			return err
		}
		if err := fn(frame); err != nil {
			return err
		}
		f = rest
	}
	return nil
}

// AppendFrame appends one item (length and frame) to a Frames list.
func AppendFrame(list []byte, frame []byte) []byte { return appendBytes(list, frame) }

// PrePrepare assigns a batch of client requests to sequence number Seq in
// View. Digest is SHA-256 of Batch, the encoded list of sealed requests; an
// empty batch is the null request a new view uses to fill gaps.
type PrePrepare struct {
	Replica   uint32
	View, Seq uint64
	Digest    [DigestSize]byte
	Batch     Frames
}

// Vote is a prepare or a commit: Replica agrees to Digest at (View, Seq).
type Vote struct {
	Replica   uint32
	View, Seq uint64
	Digest    [DigestSize]byte
}

// Checkpoint states the state digest after executing through Seq.
type Checkpoint struct {
	Replica uint32
	Seq     uint64
	Digest  [DigestSize]byte
}

// ViewChange moves Replica to View. It proves its stable checkpoint at
// Stable with 2f+1 checkpoint frames and carries, for every sequence number
// above it that prepared, the pre-prepare and the 2f prepares that prove it.
type ViewChange struct {
	Replica     uint32
	View        uint64
	Stable      uint64
	Checkpoints Frames
	PrePrepares Frames
	Prepares    Frames
}

// NewView installs View with the 2f+1 view-change messages that justify
// it; receivers derive the view's first pre-prepares from them.
type NewView struct {
	Replica     uint32
	View        uint64
	ViewChanges Frames
}

// FetchState asks a replica to help the sender catch up: with its stable
// checkpoint at Seq or later (Seq 0 asks for none), and with the new-view of
// its installed view if that is newer than View, the sender's.
type FetchState struct {
	Replica uint32
	Seq     uint64
	View    uint64
}

// State answers FetchState: a stable checkpoint, its proof and the snapshot.
type State struct {
	Replica     uint32
	Seq         uint64
	Checkpoints Frames
	Snapshot    []byte
}

// AppendPrePrepare appends an unsealed pre-prepare frame.
func AppendPrePrepare(dst []byte, m *PrePrepare) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypePrePrepare)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	dst = append(dst, m.Digest[:]...)
	dst = appendBytes(dst, m.Batch)
	return endFrame(dst, start)
}

// DecodePrePrepare decodes a sealed pre-prepare in place.
func DecodePrePrepare(frame []byte, m *PrePrepare) error {
	d, _, err := fields(frame, TypePrePrepare)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	m.Seq = d.uint64("seq")
	copy(m.Digest[:], d.take(DigestSize, "digest"))
	m.Batch = d.bytes("batch")
	return d.finish("batch")
}

// AppendVote appends an unsealed prepare or commit (t says which).
func AppendVote(dst []byte, t Type, m *Vote) []byte {
	start := len(dst)
	dst = beginFrame(dst, t)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	dst = append(dst, m.Digest[:]...)
	return endFrame(dst, start)
}

// DecodeVote decodes a sealed prepare or commit of type t in place.
func DecodeVote(frame []byte, t Type, m *Vote) error {
	d, _, err := fields(frame, t)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	m.Seq = d.uint64("seq")
	copy(m.Digest[:], d.take(DigestSize, "digest"))
	return d.finish("digest")
}

// AppendCheckpoint appends an unsealed checkpoint.
func AppendCheckpoint(dst []byte, m *Checkpoint) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeCheckpoint)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	dst = append(dst, m.Digest[:]...)
	return endFrame(dst, start)
}

// DecodeCheckpoint decodes a sealed checkpoint.
func DecodeCheckpoint(frame []byte, m *Checkpoint) error {
	d, _, err := fields(frame, TypeCheckpoint)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.Seq = d.uint64("seq")
	copy(m.Digest[:], d.take(DigestSize, "digest"))
	return d.finish("digest")
}

// AppendViewChange appends an unsealed view-change.
func AppendViewChange(dst []byte, m *ViewChange) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeViewChange)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = binary.BigEndian.AppendUint64(dst, m.Stable)
	dst = appendBytes(dst, m.Checkpoints)
	dst = appendBytes(dst, m.PrePrepares)
	dst = appendBytes(dst, m.Prepares)
	return endFrame(dst, start)
}

// DecodeViewChange decodes a sealed view-change in place.
func DecodeViewChange(frame []byte, m *ViewChange) error {
	d, _, err := fields(frame, TypeViewChange)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	m.Stable = d.uint64("stable")
	m.Checkpoints = d.bytes("checkpoints")
	m.PrePrepares = d.bytes("pre-prepares")
	m.Prepares = d.bytes("prepares")
	return d.finish("prepares")
}

// AppendNewView appends an unsealed new-view.
func AppendNewView(dst []byte, m *NewView) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeNewView)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = appendBytes(dst, m.ViewChanges)
	return endFrame(dst, start)
}

// DecodeNewView decodes a sealed new-view in place.
func DecodeNewView(frame []byte, m *NewView) error {
	d, _, err := fields(frame, TypeNewView)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	m.ViewChanges = d.bytes("view-changes")
	return d.finish("view-changes")
}

// AppendFetchState appends an unsealed fetch-state.
func AppendFetchState(dst []byte, m *FetchState) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeFetchState)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	return endFrame(dst, start)
}

// DecodeFetchState decodes a sealed fetch-state.
func DecodeFetchState(frame []byte, m *FetchState) error {
	d, _, err := fields(frame, TypeFetchState)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.Seq = d.uint64("seq")
	m.View = d.uint64("view")
	return d.finish("view")
}

// AppendState appends an unsealed state message.
func AppendState(dst []byte, m *State) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeState)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	dst = appendBytes(dst, m.Checkpoints)
	dst = appendBytes(dst, m.Snapshot)
	return endFrame(dst, start)
}

// DecodeState decodes a sealed state message in place.
func DecodeState(frame []byte, m *State) error {
	d, _, err := fields(frame, TypeState)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.Seq = d.uint64("seq")
	m.Checkpoints = d.bytes("checkpoints")
	m.Snapshot = d.bytes("snapshot")
	return d.finish("snapshot")
}
