package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/replbench/replbench/keys"
)

func nonce(b byte) (n [NonceSize]byte) {
	for i := range n {
		n[i] = b + byte(i)
	}
	return n
}

func TestHandshakeRoundTrip(t *testing.T) {
	h := Hello{From: keys.Client(7), To: keys.Replica(2), Nonce: nonce(1)}
	gotH, err := DecodeHello(AppendHello([]byte("prefix"), &h)[len("prefix"):])
	if err != nil || gotH != h {
		t.Fatalf("hello: got %+v, %v; want %+v", gotH, err, h)
	}

	for _, auth := range [][]byte{nil, []byte("a"), bytes.Repeat([]byte{9}, 512)} {
		c := Challenge{From: keys.Replica(3), Nonce: nonce(50), Auth: auth}
		frame := AppendChallenge([]byte("xy"), &c)[2:]
		gotC, err := DecodeChallenge(frame)
		if err != nil || gotC.From != c.From || gotC.Nonce != c.Nonce || !bytes.Equal(gotC.Auth, auth) {
			t.Fatalf("challenge with %d-byte auth: got %+v, %v", len(auth), gotC, err)
		}
		// A challenge is an ordinary authenticated frame: Open sees the same sender and auth.
		sender, _, openAuth, err := Open(frame)
		if err != nil || sender != 3 || !bytes.Equal(openAuth, auth) {
			t.Fatalf("Open(challenge) = %d, %x, %v", sender, openAuth, err)
		}

		p := Proof{Sender: 1 << 31, Auth: auth}
		gotP, err := DecodeProof(AppendProof(nil, &p))
		if err != nil || gotP.Sender != p.Sender || !bytes.Equal(gotP.Auth, auth) {
			t.Fatalf("proof with %d-byte auth: got %+v, %v", len(auth), gotP, err)
		}
	}
}

func TestHandshakeDecodeRejects(t *testing.T) {
	hello := AppendHello(nil, &Hello{From: keys.Client(1), To: keys.Replica(0), Nonce: nonce(3)})
	challenge := AppendChallenge(nil, &Challenge{From: keys.Replica(0), Nonce: nonce(4), Auth: []byte("mac")})
	proof := AppendProof(nil, &Proof{Sender: 1, Auth: []byte("mac")})

	badRole := bytes.Clone(hello)
	badRole[HeaderSize] = 9
	badChallengeRole := bytes.Clone(challenge)
	badChallengeRole[HeaderSize+4] = 0
	longHello := append(bytes.Clone(hello), 0)
	binary.BigEndian.PutUint32(longHello, uint32(len(longHello)-4))
	shortChallenge := AppendChallenge(nil, &Challenge{From: keys.Replica(0), Auth: []byte("mac")})
	shortChallenge = append(shortChallenge[:HeaderSize+5], 0, 0) // sender, role, empty auth: nonce missing
	binary.BigEndian.PutUint32(shortChallenge, uint32(len(shortChallenge)-4))
	huge := make([]byte, MaxHandshakeFrame+5)
	copy(huge, hello)
	binary.BigEndian.PutUint32(huge, uint32(len(huge)-4))

	tests := []struct {
		name   string
		decode func([]byte) error
		frame  []byte
		want   error
	}{
		{"hello as challenge", decodeChallengeErr, hello, ErrType},
		{"challenge as proof", decodeProofErr, challenge, ErrType},
		{"proof as hello", decodeHelloErr, proof, ErrType},
		{"unknown dialer role", decodeHelloErr, badRole, ErrRole},
		{"unknown acceptor role", decodeChallengeErr, badChallengeRole, ErrRole},
		{"trailing byte in hello", decodeHelloErr, longHello, ErrTrailing},
		{"challenge without nonce", decodeChallengeErr, shortChallenge, ErrTruncated},
		{"oversized hello", decodeHelloErr, huge, ErrOversized},
		{"truncated hello", decodeHelloErr, hello[:len(hello)-1], ErrTruncated},
		{"empty", decodeProofErr, nil, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.frame); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func decodeHelloErr(f []byte) error     { _, err := DecodeHello(f); return err }
func decodeChallengeErr(f []byte) error { _, err := DecodeChallenge(f); return err }
func decodeProofErr(f []byte) error     { _, err := DecodeProof(f); return err }

// Every prefix and every single-byte corruption of a valid frame decodes to
// an error or to a value, never a panic.
func TestHandshakeDecodeCorrupt(t *testing.T) {
	frames := [][]byte{
		AppendHello(nil, &Hello{From: keys.Client(1), To: keys.Replica(0), Nonce: nonce(3)}),
		AppendChallenge(nil, &Challenge{From: keys.Replica(0), Nonce: nonce(4), Auth: []byte("mac")}),
		AppendProof(nil, &Proof{Sender: 1, Auth: []byte("mac")}),
	}
	for _, f := range frames {
		for i := range f {
			decodeAll(f[:i])
			for _, b := range []byte{0, 1, 0x7f, 0xff} {
				g := bytes.Clone(f)
				g[i] ^= b
				decodeAll(g)
			}
		}
	}
}

func decodeAll(f []byte) {
	_ = decodeHelloErr(f)
	_ = decodeChallengeErr(f)
	_ = decodeProofErr(f)
}

func FuzzHandshakeDecode(f *testing.F) {
	f.Add(AppendHello(nil, &Hello{From: keys.Client(1), To: keys.Replica(0)}))
	f.Add(AppendChallenge(nil, &Challenge{From: keys.Replica(0), Auth: []byte("mac")}))
	f.Add(AppendProof(nil, &Proof{Sender: 1}))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if c, err := DecodeChallenge(frame); err == nil {
			again := AppendChallenge(nil, &c)
			if !bytes.Equal(again, frame) {
				t.Fatalf("challenge re-encodes differently:\n%x\n%x", again, frame)
			}
		}
		if h, err := DecodeHello(frame); err == nil && !bytes.Equal(AppendHello(nil, &h), frame) {
			t.Fatalf("hello re-encodes differently")
		}
		if p, err := DecodeProof(frame); err == nil && !bytes.Equal(AppendProof(nil, &p), frame) {
			t.Fatalf("proof re-encodes differently")
		}
	})
}

// Every input to the transcript changes it; in particular the two sides'
// transcripts of one handshake differ, so neither can stand in for the other.
func TestTranscriptBindsEverything(t *testing.T) {
	d, a := keys.Client(1), keys.Replica(2)
	dn, an := nonce(10), nonce(20)
	base := AppendTranscript(nil, SideAcceptor, d, a, &dn, &an)
	if len(base) != TranscriptSize {
		t.Fatalf("transcript is %d bytes, TranscriptSize says %d", len(base), TranscriptSize)
	}
	other := nonce(30)
	variants := map[string][]byte{
		"dialer side":    AppendTranscript(nil, SideDialer, d, a, &dn, &an),
		"dialer":         AppendTranscript(nil, SideAcceptor, keys.Client(3), a, &dn, &an),
		"dialer role":    AppendTranscript(nil, SideAcceptor, keys.Replica(1), a, &dn, &an),
		"acceptor":       AppendTranscript(nil, SideAcceptor, d, keys.Replica(3), &dn, &an),
		"swapped":        AppendTranscript(nil, SideAcceptor, a, d, &dn, &an),
		"dialer nonce":   AppendTranscript(nil, SideAcceptor, d, a, &other, &an),
		"acceptor nonce": AppendTranscript(nil, SideAcceptor, d, a, &dn, &other),
		"nonces swapped": AppendTranscript(nil, SideAcceptor, d, a, &an, &dn),
	}
	for name, v := range variants {
		if bytes.Equal(v, base) {
			t.Errorf("changing the %s leaves the transcript unchanged", name)
		}
	}
}
