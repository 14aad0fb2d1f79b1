package transport

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// lockedBuffer is a log destination that tests may read while a transport writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// warnings returns a logger that keeps warnings and worse in buf.
func warnings(buf *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// dialFrom opens a TCP connection to addr from the loopback address src
// (all of 127.0.0.0/8 is loopback on Linux), to stand for another host.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: patience}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s to stand for another host: %v", src, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// closedByPeer reports whether the other side closed nc, waiting up to patience.
func closedByPeer(t *testing.T, nc net.Conn) bool {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(patience))
	_, err := nc.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// TestPreAuthCaps opens idle connections that never say hello, as a
// connection flood does: those over the cap per source, then over the cap
// in total, are closed at once and counted, the first refusal is logged,
// and an authenticated client from elsewhere still gets through.
func TestPreAuthCaps(t *testing.T) {
	const perSource, total = 4, 6
	auths := generate(t, keys.HMAC, 1, 2)
	var logged lockedBuffer
	ln := listen(t)
	rx := newSink()
	replica := start(t, node{self: r0, auth: auths[r0], ln: ln, h: rx.handle, log: warnings(&logged), tweak: func(c *Config) {
		c.MaxPreAuth, c.MaxPreAuthPerSource = total, perSource
		c.HandshakeTimeout = time.Hour // the idle ones stay for the whole test
	}})
	addr := ln.Addr().String()

	// One source: the first perSource connections are held, the rest refused.
	// The listener accepts in order of arrival, so which ones is known.
	var flood []net.Conn
	for i := 0; i < 3*perSource; i++ {
		flood = append(flood, dialFrom(t, "127.0.0.2", addr))
	}
	for i, nc := range flood[perSource:] {
		if !closedByPeer(t, nc) {
			t.Fatalf("connection %d from one source, over its cap of %d, was not closed", perSource+i+1, perSource)
		}
	}
	if got, want := replica.Stats().PreAuthRefused, uint64(2*perSource); got != want {
		t.Errorf("PreAuthRefused = %d after the flood from one source, want %d", got, want)
	}

	// An authenticated client from another address gets through the flood.
	client := start(t, node{self: c0, auth: auths[c0], peers: map[keys.Principal]string{r0: addr}})
	waitConnected(t, client, r0)
	if err := client.Send(r0, testFrame(7, 64)); err != nil {
		t.Fatal(err)
	}
	if d := rx.next(t); d.from != c0 || frameSeq(d.frame) != 7 {
		t.Fatalf("got frame %d from %v, want 7 from %v", frameSeq(d.frame), d.from, c0)
	}

	// A second source fills the total (perSource + 2 = total); its third
	// connection is over the total cap though under its own.
	second := []net.Conn{dialFrom(t, "127.0.0.3", addr), dialFrom(t, "127.0.0.3", addr), dialFrom(t, "127.0.0.3", addr)}
	if !closedByPeer(t, second[2]) {
		t.Fatalf("connection %d in the handshake was not closed (cap %d in total)", total+1, total)
	}
	if got, want := replica.Stats().PreAuthRefused, uint64(2*perSource+1); got != want {
		t.Errorf("PreAuthRefused = %d, want %d", got, want)
	}

	// Idle connections that go away give their slots back.
	for _, nc := range append(flood[:perSource], second[:2]...) {
		nc.Close()
	}
	c1 := keys.Client(1)
	late := start(t, node{self: c1, auth: auths[c1], peers: map[keys.Principal]string{r0: addr}})
	waitConnected(t, late, r0)

	log := logged.String()
	if n := strings.Count(log, "connection refused before the handshake"); n != 1 {
		t.Errorf("%d warnings of refused connections, want the first only:\n%s", n, log)
	}
	if !strings.Contains(log, "from 127.0.0.2 are already in the handshake (the cap per source)") {
		t.Errorf("the warning does not say which cap:\n%s", log)
	}
}

// TestSlowLorisIsCut trickles a hello in byte by byte, each byte well
// within the deadline of the one before, and opens one connection that
// sends nothing: the deadline bounds the whole handshake, so both are cut
// when it passes, counted, and the first is logged.
func TestSlowLorisIsCut(t *testing.T) {
	const deadline = 600 * time.Millisecond
	auths := generate(t, keys.HMAC, 1, 1)
	var logged lockedBuffer
	ln := listen(t)
	replica := start(t, node{self: r0, auth: auths[r0], ln: ln, log: warnings(&logged), tweak: func(c *Config) {
		c.HandshakeTimeout = deadline
	}})
	hello := wire.AppendHello(nil, &wire.Hello{From: c0, To: r0})

	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	begin := time.Now()
	stop := make(chan struct{})
	trickled := make(chan int, 1)
	go func() { // one byte every deadline/6: the hello (over 40 bytes) would take seconds
		sent := 0
		defer func() { trickled <- sent }()
		tick := time.NewTicker(deadline / 6)
		defer tick.Stop()
		for _, b := range hello {
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
			sent++
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	for name, nc := range map[string]net.Conn{"slow": slow, "silent": silent} {
		nc.SetReadDeadline(time.Now().Add(patience))
		if _, err := nc.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Fatalf("%s connection: read %v, want it closed by the replica", name, err)
		}
	}
	took := time.Since(begin)
	close(stop)
	if sent := <-trickled; sent < 2 || sent >= len(hello) {
		t.Errorf("%d of %d hello bytes trickled in before the cut; want several and not all", sent, len(hello))
	}
	if took < deadline {
		t.Errorf("cut after %v, before the %v deadline", took, deadline)
	}
	if got := replica.Stats().HandshakeTimeouts; got != 2 {
		t.Errorf("HandshakeTimeouts = %d, want 2", got)
	}
	log := logged.String()
	if n := strings.Count(log, "handshake timed out"); n != 1 {
		t.Errorf("%d warnings of handshake timeouts, want the first only:\n%s", n, log)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
