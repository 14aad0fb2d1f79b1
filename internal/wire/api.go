package wire

// This file fixes the API other packages build on. Bodies are filled in by
// frame.go / request.go / handshake.go.

// Version is the wire format version carried in every frame header.
const Version = 2

// HeaderSize is the frame header: 4-byte big-endian length (of everything
// after the length field), 1 version byte, 1 type byte.
const HeaderSize = 6

// DefaultMaxFrame bounds a frame's length field unless a caller sets another limit.
const DefaultMaxFrame = 16 << 20

// Type tags a frame. Ranges: 0x01-0x0f transport, 0x10-0x1f client traffic,
// 0x20-0x5f PBFT, 0x60-0x9f HotStuff, 0xa0-0xef reserved, 0xf0-0xff tests.
type Type uint8

const (
	TypeHello     Type = 0x01 // handshake: dialer introduces itself
	TypeChallenge Type = 0x02 // handshake: acceptor's nonce and proof
	TypeProof     Type = 0x03 // handshake: dialer's proof
	TypeRequest   Type = 0x10 // client -> replica
	TypeReply     Type = 0x11 // replica -> client
)

// Request flags.
const (
	FlagReadOnly      uint8 = 1 << 0 // may be answered without ordering
	FlagRetransmit    uint8 = 1 << 1 // client resent this request after a timeout
	FlagReplyToSender uint8 = 1 << 2 // only the replica that received it needs to reply with a full result
)

// Request is a client operation. Decoded requests alias the frame buffer.
type Request struct {
	Client uint32
	// Session identifies one run of a client (a process, for replbench's
	// clients: the time it started). Replicas keep requests exactly-once
	// per (Client, Session): a later session starts again at Seq 1, and
	// an earlier session's requests are no longer executed.
	Session uint64
	Seq     uint64 // request number, increasing per client session from 1
	Flags   uint8
	Payload []byte
	Auth    []byte // over SignedBytes: the frame from the version byte through the payload
	Frame   []byte // the whole sealed frame it was decoded from (set by DecodeRequest)
}

// Reply answers one request. Decoded replies alias the frame buffer.
type Reply struct {
	Replica uint32
	Client  uint32
	Session uint64 // the request's session
	Seq     uint64
	View    uint64 // the replica's view, so clients learn the primary
	Flags   uint8
	Result  []byte
	Auth    []byte // over SignedBytes: the frame from the version byte through the result
}

// TypeOf returns the type of a frame whose header has been checked
// (ParseHeader, SplitFrame, ReadFrame), or 0, a type no message has, when
// frame is shorter than a header.
func TypeOf(frame []byte) Type {
	if len(frame) < HeaderSize {
		return 0
	}
	return Type(frame[5])
}

// RequestOverhead and ReplyOverhead are a sealed request's and reply's sizes
// besides their payload or result and authenticator.
const (
	RequestOverhead = HeaderSize + 4 + 8 + 8 + 1 + 4 + 2         // client, session, seq, flags, payload length, auth length
	ReplyOverhead   = HeaderSize + 4 + 4 + 8 + 8 + 8 + 1 + 4 + 2 // replica, client, session, seq, view, flags, result length, auth length
)
