package msgdump

import (
	"fmt"
	"math"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// message is what msgdump makes of one frame: requests and replies in
// detail, the handshake and protocol messages by their main fields,
// anything else by type, sender and size.
type message struct {
	typ       wire.Type
	hasType   bool // the frame is long enough to have one
	size      int
	hasSender bool
	sender    uint32
	signed    []byte // what the authenticator covers
	auth      []byte
	hasAuth   bool

	req   *wire.Request
	reply *wire.Reply
	hello *wire.Hello
	role  keys.Role // challenge: the acceptor's role

	// Protocol fields shown when the type has them.
	hasView, hasSeq bool
	view, seq       uint64
	batch           int // pre-prepare, HotStuff proposal: requests in the batch; -1 when unknown

	err error // why the frame does not decode; nil for a good one
}

// decode takes a frame apart. It never panics and never fails outright: a
// frame that does not decode still has a size, and a type if its header is
// there, and err says what is wrong.
func decode(frame []byte) message {
	m := message{size: len(frame), batch: -1}
	if len(frame) > 5 {
		m.typ, m.hasType = wire.TypeOf(frame), true
	}
	if _, _, err := wire.ParseHeader(frame, math.MaxInt); err != nil {
		m.err = err
		return m
	}
	switch m.typ {
	case wire.TypeHello:
		h, err := wire.DecodeHello(frame)
		if err != nil {
			m.err = err
			return m
		}
		m.hello = &h
		return m
	case wire.TypeRequest:
		var r wire.Request
		if m.err = wire.DecodeRequest(frame, &r); m.err == nil {
			m.req = &r
		}
	case wire.TypeReply:
		var r wire.Reply
		if m.err = wire.DecodeReply(frame, &r); m.err == nil {
			m.reply = &r
		}
	case wire.TypeChallenge:
		c, err := wire.DecodeChallenge(frame)
		m.err, m.role = err, c.From.Role
	case wire.TypeProof:
		_, m.err = wire.DecodeProof(frame)
	case wire.TypePrePrepare:
		var p wire.PrePrepare
		if m.err = wire.DecodePrePrepare(frame, &p); m.err == nil {
			m.setViewSeq(p.View, p.Seq)
			m.batch = countFrames(p.Batch)
		}
	case wire.TypePrepare, wire.TypeCommit:
		var v wire.Vote
		if m.err = wire.DecodeVote(frame, m.typ, &v); m.err == nil {
			m.setViewSeq(v.View, v.Seq)
		}
	case wire.TypeCheckpoint:
		var c wire.Checkpoint
		if m.err = wire.DecodeCheckpoint(frame, &c); m.err == nil {
			m.hasSeq, m.seq = true, c.Seq
		}
	case wire.TypeViewChange:
		var v wire.ViewChange
		if m.err = wire.DecodeViewChange(frame, &v); m.err == nil {
			m.hasView, m.view = true, v.View
		}
	case wire.TypeNewView:
		var v wire.NewView
		if m.err = wire.DecodeNewView(frame, &v); m.err == nil {
			m.hasView, m.view = true, v.View
		}
	case wire.TypeFetchState:
		var f wire.FetchState
		if m.err = wire.DecodeFetchState(frame, &f); m.err == nil {
			m.setViewSeq(f.View, f.Seq)
		}
	case wire.TypeState:
		var s wire.State
		if m.err = wire.DecodeState(frame, &s); m.err == nil {
			m.hasSeq, m.seq = true, s.Seq
		}
	case wire.TypeHSProposal:
		var p wire.HSProposal
		if m.err = wire.DecodeHSProposal(frame, &p); m.err == nil {
			m.hasView, m.view = true, p.View
			m.batch = countFrames(p.Batch)
		}
	case wire.TypeHSVote:
		var v wire.HSVote
		if m.err = wire.DecodeHSVote(frame, &v); m.err == nil {
			m.hasView, m.view = true, v.View
		}
	case wire.TypeHSNewView:
		var v wire.HSNewView
		if m.err = wire.DecodeHSNewView(frame, &v); m.err == nil {
			m.hasView, m.view = true, v.View
		}
	case wire.TypeHSFetch:
		var f wire.HSFetch
		m.err = wire.DecodeHSFetch(frame, &f)
	case wire.TypeHSBlocks:
		var b wire.HSBlocks
		m.err = wire.DecodeHSBlocks(frame, &b)
	default:
		// A type this version does not know: if it has the shape of an
		// authenticated frame, show its sender, without judging the rest.
		if sender, signed, auth, err := wire.Open(frame); err == nil {
			m.hasSender, m.sender, m.signed, m.auth, m.hasAuth = true, sender, signed, auth, true
		}
		return m
	}
	if m.err != nil {
		return m
	}
	// Every known type but hello is an authenticated frame.
	sender, signed, auth, err := wire.Open(frame)
	if err != nil {
		m.err = err
		return m
	}
	m.hasSender, m.sender, m.signed, m.auth, m.hasAuth = true, sender, signed, auth, true
	return m
}

// typeName is the type's name, or "-" for a frame too short to have a type.
func (m *message) typeName() string {
	if !m.hasType {
		return "-"
	}
	return m.typ.String()
}

func (m *message) setViewSeq(view, seq uint64) {
	m.hasView, m.view, m.hasSeq, m.seq = true, view, true, seq
}

// countFrames counts the items of a frame list, or returns -1 if it is malformed.
func countFrames(f wire.Frames) int {
	n := 0
	if f.Each(func([]byte) error { n++; return nil }) != nil {
		return -1
	}
	return n
}

// knownType reports whether this version of wire has a name for t; resync
// only trusts headers of known types.
var knownType = func() (k [256]bool) {
	for t := range 256 {
		k[t] = wire.Type(t).String() != fmt.Sprintf("type(0x%02x)", t)
	}
	return k
}()
