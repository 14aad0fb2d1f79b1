package transport

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// rejection is a handshake the peer failed: it named the wrong principal,
// sent a malformed handshake frame, or its authenticator did not verify.
// Rejections are counted and logged; ordinary I/O failures are not.
type rejection struct {
	peer  keys.Principal // whom the peer claimed or was expected to be
	known bool           // false if the peer never said who it is
	err   error
}

func (r *rejection) Error() string { return r.err.Error() }
func (r *rejection) Unwrap() error { return r.err }

func reject(peer keys.Principal, known bool, format string, args ...any) error {
	return &rejection{peer, known, fmt.Errorf(format, args...)}
}

// dial runs the dialer's side of the handshake on c, expecting to reach want.
func (t *TCP) dial(c *conn, want keys.Principal) error {
	auth := t.cfg.AuthFor(want.Role)
	if auth == nil {
		return fmt.Errorf("handshake with %v: no authenticator for its role", want)
	}
	if err := c.nc.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout)); err != nil {
		return err
	}
	hello := wire.Hello{From: t.cfg.Self, To: want}
	rand.Read(hello.Nonce[:])
	buf := wire.AppendHello(make([]byte, 0, 512), &hello)
	if _, err := c.nc.Write(buf); err != nil {
		return fmt.Errorf("handshake with %v: send hello: %w", want, err)
	}

	frame, err := wire.ReadFrame(c.br, buf, wire.MaxHandshakeFrame)
	if err != nil {
		return handshakeReadErr(want, true, "challenge", err)
	}
	ch, err := wire.DecodeChallenge(frame)
	if err != nil {
		return reject(want, true, "malformed challenge: %v", err)
	}
	if ch.From != want {
		return reject(want, true, "%s answered as %v", c.nc.RemoteAddr(), ch.From)
	}
	transcript := wire.AppendTranscript(make([]byte, 0, wire.TranscriptSize), wire.SideAcceptor, t.cfg.Self, want, &hello.Nonce, &ch.Nonce)
	if err := auth.Verify(want, transcript, ch.Auth); err != nil {
		return reject(want, true, "challenge: %v", err)
	}

	transcript = wire.AppendTranscript(transcript[:0], wire.SideDialer, t.cfg.Self, want, &hello.Nonce, &ch.Nonce)
	sig, err := auth.SignFor(nil, transcript, want)
	if err != nil {
		return fmt.Errorf("handshake with %v: sign proof: %w", want, err)
	}
	if _, err := c.nc.Write(wire.AppendProof(frame[:0], &wire.Proof{Sender: t.cfg.Self.ID, Auth: sig})); err != nil {
		return fmt.Errorf("handshake with %v: send proof: %w", want, err)
	}
	return c.nc.SetDeadline(time.Time{})
}

// accept runs the acceptor's side of the handshake on c and returns the
// principal the dialer proved to be.
func (t *TCP) accept(c *conn) (keys.Principal, error) {
	var nobody keys.Principal
	if err := c.nc.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout)); err != nil {
		return nobody, err
	}
	frame, err := wire.ReadFrame(c.br, make([]byte, 0, 512), wire.MaxHandshakeFrame)
	if err != nil {
		return nobody, handshakeReadErr(nobody, false, "hello", err)
	}
	hello, err := wire.DecodeHello(frame)
	if err != nil {
		return nobody, reject(nobody, false, "malformed hello: %v", err)
	}
	who := hello.From
	switch {
	case hello.To != t.cfg.Self:
		return nobody, reject(who, true, "dialer expected %v", hello.To)
	case who == t.cfg.Self:
		return nobody, reject(who, true, "dialer claims to be this node")
	}
	auth := t.cfg.AuthFor(who.Role)
	if auth == nil {
		return nobody, reject(who, true, "no authenticator for links with its role")
	}

	ch := wire.Challenge{From: t.cfg.Self}
	rand.Read(ch.Nonce[:])
	transcript := wire.AppendTranscript(make([]byte, 0, wire.TranscriptSize), wire.SideAcceptor, who, t.cfg.Self, &hello.Nonce, &ch.Nonce)
	ch.Auth, err = auth.SignFor(nil, transcript, who)
	if err != nil {
		// An id outside the key set, most likely: the dialer cannot be who it says.
		return nobody, reject(who, true, "sign challenge: %v", err)
	}
	if _, err := c.nc.Write(wire.AppendChallenge(frame[:0], &ch)); err != nil {
		return nobody, fmt.Errorf("handshake with %v: send challenge: %w", who, err)
	}

	frame, err = wire.ReadFrame(c.br, frame, wire.MaxHandshakeFrame)
	if err != nil {
		return nobody, handshakeReadErr(who, true, "proof", err)
	}
	proof, err := wire.DecodeProof(frame)
	if err != nil {
		return nobody, reject(who, true, "malformed proof: %v", err)
	}
	if proof.Sender != who.ID {
		return nobody, reject(who, true, "proof sent as id %d", proof.Sender)
	}
	transcript = wire.AppendTranscript(transcript[:0], wire.SideDialer, who, t.cfg.Self, &hello.Nonce, &ch.Nonce)
	if err := auth.Verify(who, transcript, proof.Auth); err != nil {
		return nobody, reject(who, true, "proof: %v", err)
	}
	return who, c.nc.SetDeadline(time.Time{})
}

// handshakeReadErr tells a malformed handshake frame (a rejection) from the
// connection failing.
func handshakeReadErr(peer keys.Principal, known bool, what string, err error) error {
	var fe *wire.FrameError
	if errors.As(err, &fe) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return reject(peer, known, "malformed %s: %v", what, err)
	}
	return fmt.Errorf("handshake: read %s: %w", what, err)
}

// handshakeFailed counts and logs a rejected handshake and an inbound one
// cut at the deadline (a silent or slow-loris dialer; the first is a
// warning, later ones are counted and logged at debug level); other
// failures are the network's doing and only logged at debug level.
func (t *TCP) handshakeFailed(c *conn, dir string, err error) {
	if t.ctx.Err() != nil {
		return
	}
	remote := c.nc.RemoteAddr().String()
	var r *rejection
	if !errors.As(err, &r) {
		if dir == "inbound" && errors.Is(err, os.ErrDeadlineExceeded) {
			level := slog.LevelDebug
			if t.c.handshakeTimeouts.Add(1) == 1 {
				level = slog.LevelWarn
			}
			t.log.Log(context.Background(), level, "handshake timed out; later ones are logged at debug level and counted as HandshakeTimeouts in the stats",
				"remote", remote, "timeout", t.cfg.HandshakeTimeout, "err", err)
			return
		}
		t.log.Debug("handshake failed", "dir", dir, "remote", remote, "err", err)
		return
	}
	t.c.handshakesRejected.Add(1)
	peer := "unknown"
	if r.known {
		peer = r.peer.String()
	}
	t.log.Warn("handshake rejected", "peer", peer, "dir", dir, "remote", remote, "err", r.err)
}
