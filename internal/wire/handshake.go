package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/replbench/replbench/keys"
)

// The transport handshake binds a TCP connection to two principals:
//
//	dialer   -> acceptor  Hello     who I am, whom I expect, my nonce
//	acceptor -> dialer    Challenge who I am, my nonce, auth over the acceptor transcript
//	dialer   -> acceptor  Proof     auth over the dialer transcript
//
// Each side authenticates a transcript holding a domain string for its side,
// both principals and both nonces. The peer's fresh nonce keeps a proof from
// being replayed on another connection, and the side's domain string keeps a
// challenge from being reflected back as a proof.

// NonceSize is the length of the random nonce each side contributes.
const NonceSize = 32

// MaxHandshakeFrame bounds handshake frames. Readers use it as the frame
// limit until a peer has proved who it is, so an unauthenticated peer cannot
// make a node buffer a large frame. It leaves room for a 16384-bit RSA
// signature.
const MaxHandshakeFrame = 8 << 10

// ErrRole means a handshake frame names a role that is neither replica nor client.
var ErrRole = errors.New("wire: unknown role")

// Hello opens a handshake: the dialer introduces itself and names the
// principal it expects to reach, so a misdirected connection fails at once.
type Hello struct {
	From  keys.Principal // the dialer
	To    keys.Principal // whom the dialer expects to answer
	Nonce [NonceSize]byte
}

// Challenge is the acceptor's answer: its identity, its nonce, and its
// authenticator over the acceptor transcript. From.ID travels as the
// authenticated frame's sender field.
type Challenge struct {
	From  keys.Principal
	Nonce [NonceSize]byte
	Auth  []byte // aliases the frame when decoded
}

// Proof closes a handshake: the dialer's authenticator over the dialer
// transcript. The acceptor knows the dialer's role from its Hello.
type Proof struct {
	Sender uint32
	Auth   []byte // aliases the frame when decoded
}

// AppendHello appends h as a frame to dst.
func AppendHello(dst []byte, h *Hello) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeHello)
	dst = append(dst, byte(h.From.Role))
	dst = binary.BigEndian.AppendUint32(dst, h.From.ID)
	dst = append(dst, byte(h.To.Role))
	dst = binary.BigEndian.AppendUint32(dst, h.To.ID)
	dst = append(dst, h.Nonce[:]...)
	return endFrame(dst, start)
}

// DecodeHello decodes a Hello frame.
func DecodeHello(frame []byte) (Hello, error) {
	var h Hello
	_, body, err := parseTyped(frame, TypeHello)
	if err != nil {
		return h, err
	}
	d := fieldReader{buf: body, base: HeaderSize}
	h.From = d.principal("dialer")
	h.To = d.principal("expected peer")
	copy(h.Nonce[:], d.take(NonceSize, "nonce"))
	if err := d.finish("nonce"); err != nil {
		return Hello{}, err
	}
	return h, nil
}

// AppendChallenge appends c, sealed with c.Auth, as a frame to dst.
func AppendChallenge(dst []byte, c *Challenge) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeChallenge)
	dst = binary.BigEndian.AppendUint32(dst, c.From.ID)
	dst = append(dst, byte(c.From.Role))
	dst = append(dst, c.Nonce[:]...)
	return sealAt(dst, start, c.Auth)
}

// DecodeChallenge decodes a Challenge frame. It does not verify Auth.
func DecodeChallenge(frame []byte) (Challenge, error) {
	var c Challenge
	fields, auth, err := openTyped(frame, TypeChallenge)
	if err != nil {
		return c, err
	}
	d := fieldReader{buf: fields, base: HeaderSize}
	id := d.uint32("sender")
	role := d.role("acceptor role")
	copy(c.Nonce[:], d.take(NonceSize, "nonce"))
	if err := d.finish("nonce"); err != nil {
		return Challenge{}, err
	}
	c.From = keys.Principal{Role: role, ID: id}
	c.Auth = auth
	return c, nil
}

// AppendProof appends p, sealed with p.Auth, as a frame to dst.
func AppendProof(dst []byte, p *Proof) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeProof)
	dst = binary.BigEndian.AppendUint32(dst, p.Sender)
	return sealAt(dst, start, p.Auth)
}

// DecodeProof decodes a Proof frame. It does not verify Auth.
func DecodeProof(frame []byte) (Proof, error) {
	fields, auth, err := openTyped(frame, TypeProof)
	if err != nil {
		return Proof{}, err
	}
	d := fieldReader{buf: fields, base: HeaderSize}
	sender := d.uint32("sender")
	if err := d.finish("sender"); err != nil {
		return Proof{}, err
	}
	return Proof{Sender: sender, Auth: auth}, nil
}

// Side names the party that authenticates a handshake transcript.
type Side uint8

const (
	SideAcceptor Side = 1
	SideDialer   Side = 2
)

// Domain-separation strings: what one side authenticates is never valid as
// the other side's, even with a pairwise MAC key both sides share.
const (
	transcriptAcceptor = "replbench-handshake-v1 acceptor"
	transcriptDialer   = "replbench-handshake-v1 dialer"
)

// TranscriptSize bounds the length of a transcript (the acceptor's, the longer one), for buffer sizing.
const TranscriptSize = len(transcriptAcceptor) + 1 + 2*(1+4) + 2*NonceSize

// AppendTranscript appends the bytes side authenticates in a handshake
// between dialer and acceptor: the side's domain string and a zero byte,
// then dialer role and id, acceptor role and id, dialer nonce, acceptor nonce.
func AppendTranscript(dst []byte, side Side, dialer, acceptor keys.Principal, dialerNonce, acceptorNonce *[NonceSize]byte) []byte {
	switch side {
	case SideAcceptor:
		dst = append(dst, transcriptAcceptor...)
	default:
		dst = append(dst, transcriptDialer...)
	}
	dst = append(dst, 0, byte(dialer.Role))
	dst = binary.BigEndian.AppendUint32(dst, dialer.ID)
	dst = append(dst, byte(acceptor.Role))
	dst = binary.BigEndian.AppendUint32(dst, acceptor.ID)
	dst = append(dst, dialerNonce[:]...)
	return append(dst, acceptorNonce[:]...)
}

// parseTyped validates a handshake frame's header under MaxHandshakeFrame
// and checks its type.
func parseTyped(frame []byte, want Type) ([]byte, []byte, error) {
	t, body, err := ParseHeader(frame, MaxHandshakeFrame)
	if err != nil {
		return nil, nil, err
	}
	if t != want {
		return nil, nil, errType(t, want)
	}
	return frame, body, nil
}

// openTyped is parseTyped for an authenticated frame: it returns the fields
// (sender first) and the authenticator.
func openTyped(frame []byte, want Type) (fields, auth []byte, err error) {
	if _, _, err := parseTyped(frame, want); err != nil {
		return nil, nil, err
	}
	return openFrame(frame)
}

// sealAt seals the frame that starts at dst[start:] with auth.
func sealAt(dst []byte, start int, auth []byte) []byte {
	dst = endFrame(dst, start)
	return append(dst[:start], Seal(dst[start:], auth)...)
}

func (d *fieldReader) role(what string) keys.Role {
	off := d.base + d.pos
	r := keys.Role(d.uint8(what))
	if d.err == nil && r != keys.RoleReplica && r != keys.RoleClient {
		d.err = &FrameError{off, ErrRole, fmt.Sprintf("unknown %s %d", what, r)}
	}
	return r
}

func (d *fieldReader) principal(what string) keys.Principal {
	r := d.role(what + " role")
	return keys.Principal{Role: r, ID: d.uint32(what + " id")}
}
