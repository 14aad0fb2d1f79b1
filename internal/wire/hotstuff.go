package wire

import (
	"crypto/sha256"
	"encoding/binary"
)

// HotStuff message types (0x60-0x9f). All are authenticated frames whose
// first field is the sending replica.
const (
	TypeHSProposal Type = 0x60
	TypeHSVote     Type = 0x61
	TypeHSNewView  Type = 0x62
	TypeHSFetch    Type = 0x63
	TypeHSBlocks   Type = 0x64
)

// QC is a quorum certificate: 2f+1 sealed votes from distinct replicas for
// Block in View. It travels inside proposals and new-views; the genesis QC
// (view 0, the genesis block) carries no votes.
type QC struct {
	View  uint64
	Block [DigestSize]byte
	Votes Frames // sealed HSVote frames
}

// HSProposal is a leader's block for View: it extends Parent, is justified
// by Justify (a QC for Parent) and carries a batch of sealed client requests.
type HSProposal struct {
	Replica uint32
	View    uint64
	Parent  [DigestSize]byte
	Justify QC
	Batch   Frames
}

// HSVote is Replica's vote for Block, proposed in View. Votes go to the
// next view's leader, which puts 2f+1 of them into a QC.
type HSVote struct {
	Replica uint32
	View    uint64
	Block   [DigestSize]byte
}

// HSNewView says that Replica votes in no view below View (it is there, or
// asks to move there after a timeout) and reports the highest QC it knows.
type HSNewView struct {
	Replica uint32
	View    uint64
	HighQC  QC
}

// HSFetch asks for Block and its ancestors back to the sender's last
// committed block, which was proposed in view Have.
type HSFetch struct {
	Replica uint32
	Block   [DigestSize]byte
	Have    uint64
}

// HSBlocks answers HSFetch with sealed proposals, oldest first. When the
// responder no longer holds the ancestors the asker lacks, Snapshot is its
// state after its last committed block, which is then the first proposal.
type HSBlocks struct {
	Replica   uint32
	Snapshot  []byte
	Proposals Frames
}

// BlockHash is the hash that names the block p proposes: SHA-256 over its
// view, parent, justify QC's view and block, and the SHA-256 of its batch.
// The QC's votes are not covered: any 2f+1 votes certify the same block.
func (p *HSProposal) BlockHash() [DigestSize]byte {
	var b [8 + DigestSize + 8 + DigestSize + DigestSize]byte
	binary.BigEndian.PutUint64(b[0:], p.View)
	copy(b[8:], p.Parent[:])
	binary.BigEndian.PutUint64(b[40:], p.Justify.View)
	copy(b[48:], p.Justify.Block[:])
	d := sha256.Sum256(p.Batch)
	copy(b[80:], d[:])
	return sha256.Sum256(b[:])
}

func appendQC(dst []byte, q *QC) []byte {
	dst = binary.BigEndian.AppendUint64(dst, q.View)
	dst = append(dst, q.Block[:]...)
	return appendBytes(dst, q.Votes)
}

func (d *fieldReader) qc(q *QC, what string) {
	q.View = d.uint64(what + " view")
	copy(q.Block[:], d.take(DigestSize, what+" block"))
	q.Votes = d.bytes(what + " votes")
}

// AppendHSProposal appends an unsealed proposal.
func AppendHSProposal(dst []byte, m *HSProposal) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeHSProposal)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = append(dst, m.Parent[:]...)
	dst = appendQC(dst, &m.Justify)
	dst = appendBytes(dst, m.Batch)
	return endFrame(dst, start)
}

// DecodeHSProposal decodes a sealed proposal in place.
func DecodeHSProposal(frame []byte, m *HSProposal) error {
	d, _, err := fields(frame, TypeHSProposal)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	copy(m.Parent[:], d.take(DigestSize, "parent"))
	d.qc(&m.Justify, "justify")
	m.Batch = d.bytes("batch")
	return d.finish("batch")
}

// AppendHSVote appends an unsealed vote.
func AppendHSVote(dst []byte, m *HSVote) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeHSVote)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = append(dst, m.Block[:]...)
	return endFrame(dst, start)
}

// DecodeHSVote decodes a sealed vote.
func DecodeHSVote(frame []byte, m *HSVote) error {
	d, _, err := fields(frame, TypeHSVote)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	copy(m.Block[:], d.take(DigestSize, "block"))
	return d.finish("block")
}

// AppendHSNewView appends an unsealed new-view.
func AppendHSNewView(dst []byte, m *HSNewView) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeHSNewView)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = binary.BigEndian.AppendUint64(dst, m.View)
	dst = appendQC(dst, &m.HighQC)
	return endFrame(dst, start)
}

// DecodeHSNewView decodes a sealed new-view in place.
func DecodeHSNewView(frame []byte, m *HSNewView) error {
	d, _, err := fields(frame, TypeHSNewView)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.View = d.uint64("view")
	d.qc(&m.HighQC, "high QC")
	return d.finish("high QC votes")
}

// AppendHSFetch appends an unsealed fetch.
func AppendHSFetch(dst []byte, m *HSFetch) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeHSFetch)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = append(dst, m.Block[:]...)
	dst = binary.BigEndian.AppendUint64(dst, m.Have)
	return endFrame(dst, start)
}

// DecodeHSFetch decodes a sealed fetch.
func DecodeHSFetch(frame []byte, m *HSFetch) error {
	d, _, err := fields(frame, TypeHSFetch)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	copy(m.Block[:], d.take(DigestSize, "block"))
	m.Have = d.uint64("have")
	return d.finish("have")
}

// AppendHSBlocks appends an unsealed blocks message.
func AppendHSBlocks(dst []byte, m *HSBlocks) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeHSBlocks)
	dst = binary.BigEndian.AppendUint32(dst, m.Replica)
	dst = appendBytes(dst, m.Snapshot)
	dst = appendBytes(dst, m.Proposals)
	return endFrame(dst, start)
}

// DecodeHSBlocks decodes a sealed blocks message in place.
func DecodeHSBlocks(frame []byte, m *HSBlocks) error {
	d, _, err := fields(frame, TypeHSBlocks)
	if err != nil {
		return err
	}
	m.Replica = d.uint32("replica")
	m.Snapshot = d.bytes("snapshot")
	m.Proposals = d.bytes("proposals")
	return d.finish("proposals")
}
