package transport

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

var (
	r0 = keys.Replica(0)
	r1 = keys.Replica(1)
	c0 = keys.Client(0)
)

// cluster starts two replicas that dial each other and a client that dials
// both, and waits until every link is up.
type cluster struct {
	tr    map[keys.Principal]*TCP
	sinks map[keys.Principal]sink
}

func startCluster(t *testing.T, auths map[keys.Principal]keys.Authenticator) *cluster {
	t.Helper()
	ln0, ln1 := listen(t), listen(t)
	addr := map[keys.Principal]string{r0: ln0.Addr().String(), r1: ln1.Addr().String()}
	cl := &cluster{tr: map[keys.Principal]*TCP{}, sinks: map[keys.Principal]sink{}}
	for _, n := range []node{
		{self: r0, ln: ln0, peers: map[keys.Principal]string{r1: addr[r1]}},
		{self: r1, ln: ln1, peers: map[keys.Principal]string{r0: addr[r0]}},
		{self: c0, peers: addr},
	} {
		n.auth = auths[n.self]
		cl.sinks[n.self] = newSink()
		n.h = cl.sinks[n.self].handle
		cl.tr[n.self] = start(t, n)
	}
	waitConnected(t, cl.tr[r0], r1, c0)
	waitConnected(t, cl.tr[r1], r0, c0)
	waitConnected(t, cl.tr[c0], r0, r1)
	return cl
}

func (cl *cluster) close() {
	for _, tr := range cl.tr {
		tr.Close()
	}
}

func TestExchangeEveryScheme(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.None, keys.HMAC, keys.Ed25519} {
		t.Run(string(scheme), func(t *testing.T) {
			cl := startCluster(t, generate(t, scheme, 2, 1))
			defer cl.close()
			links := [][2]keys.Principal{{r0, r1}, {r1, r0}, {c0, r0}, {c0, r1}, {r0, c0}, {r1, c0}}
			for i, l := range links {
				if err := cl.tr[l[0]].Send(l[1], testFrame(uint64(i), 100)); err != nil {
					t.Fatalf("%v -> %v: %v", l[0], l[1], err)
				}
			}
			// Frames from different peers may interleave: match them as a set.
			type arrival struct {
				to, from keys.Principal
				seq      uint64
			}
			want := map[arrival]bool{}
			for i, l := range links {
				want[arrival{l[1], l[0], uint64(i)}] = true
			}
			for _, l := range links {
				d := cl.sinks[l[1]].next(t)
				got := arrival{l[1], d.from, frameSeq(d.frame)}
				if !want[got] || len(d.frame) != 100 {
					t.Errorf("unexpected %d-byte frame %d from %v at %v", len(d.frame), got.seq, got.from, got.to)
				}
				delete(want, got)
			}
			for who, tr := range cl.tr {
				if s := tr.Stats(); s.HandshakesRejected != 0 || s.BadFrames != 0 {
					t.Errorf("%v: %+v", who, s)
				}
			}
		})
	}
}

// Frames to one peer arrive in order, and a burst is coalesced into fewer
// writes than frames.
func TestOrderAndCoalescing(t *testing.T) {
	const n = 10000
	cl := startCluster(t, generate(t, keys.None, 2, 1))
	defer cl.close()
	sender, receiver := cl.tr[r0], cl.sinks[r1]
	before := sender.Stats()
	for i := range n {
		if err := sender.Send(r1, testFrame(uint64(i), 32)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := range n {
		if d := receiver.next(t); frameSeq(d.frame) != uint64(i) {
			t.Fatalf("frame %d arrived as number %d", frameSeq(d.frame), i)
		}
	}
	// The writer counts a write once it returns; after Close every count is in.
	sender.Close()
	s := sender.Stats()
	frames, flushes := s.FramesOut-before.FramesOut, s.Flushes-before.Flushes
	if frames != n || s.BytesOut-before.BytesOut != n*32 {
		t.Fatalf("FramesOut %d, BytesOut %d; want %d, %d", frames, s.BytesOut-before.BytesOut, n, n*32)
	}
	if flushes >= frames {
		t.Errorf("%d frames took %d writes: no coalescing", frames, flushes)
	}
	t.Logf("%d frames in %d writes", frames, flushes)
	if in := cl.tr[r1].Stats(); in.FramesIn < n {
		t.Errorf("receiver counted %d frames in, want at least %d", in.FramesIn, n)
	}
}

// A peer that cannot prove its identity is refused, counted, and named in
// the log, whichever side holds the wrong key.
func TestWrongKeyRefused(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.HMAC, keys.Ed25519} {
		t.Run(string(scheme), func(t *testing.T) {
			good, other := generate(t, scheme, 2, 1), generate(t, scheme, 2, 1)

			t.Run("dialer", func(t *testing.T) {
				// replica-1 holds another deployment's key but insists on proving itself.
				log := newLogs("handshake rejected")
				ln := listen(t)
				acceptor := start(t, node{self: r0, auth: good[r0], ln: ln, log: log.logger()})
				start(t, node{self: r1, auth: gullible{other[r1], r1}, peers: map[keys.Principal]string{r0: ln.Addr().String()}})
				line := log.next(t)
				if !strings.Contains(line, "peer=replica-1") || !strings.Contains(line, "proof") {
					t.Errorf("log line does not name replica-1's proof: %s", line)
				}
				if got := acceptor.Stats().HandshakesRejected; got == 0 {
					t.Errorf("HandshakesRejected = 0 after a rejection")
				}
				if err := acceptor.Send(r1, testFrame(0, 20)); !errors.Is(err, ErrUnknownPeer) {
					t.Errorf("send to the refused peer: %v, want ErrUnknownPeer", err)
				}
			})

			t.Run("acceptor", func(t *testing.T) {
				// The client dials a replica-0 that holds the wrong key.
				log := newLogs("handshake rejected")
				ln := listen(t)
				start(t, node{self: r0, auth: other[r0], ln: ln})
				dialer := start(t, node{self: c0, auth: good[c0], log: log.logger(), peers: map[keys.Principal]string{r0: ln.Addr().String()}})
				line := log.next(t)
				if !strings.Contains(line, "peer=replica-0") || !strings.Contains(line, "challenge") {
					t.Errorf("log line does not name replica-0's challenge: %s", line)
				}
				if got := dialer.Stats().HandshakesRejected; got == 0 {
					t.Errorf("HandshakesRejected = 0 after a rejection")
				}
			})
		})
	}
}

// A client cannot pass for a replica without the replica's key. With
// scheme none there are no keys, so it can: that is what none means.
func TestClientPosingAsReplica(t *testing.T) {
	for _, tt := range []struct {
		scheme   keys.Scheme
		accepted bool
	}{
		{keys.HMAC, false},
		{keys.Ed25519, false},
		{keys.None, true},
	} {
		t.Run(string(tt.scheme), func(t *testing.T) {
			auths := generate(t, tt.scheme, 2, 1)
			log := newLogs("handshake rejected")
			ln := listen(t)
			replica := start(t, node{self: r0, auth: auths[r0], ln: ln, log: log.logger()})
			impostor := gullible{auths[c0], r1} // client-0's key, replica-1's name
			start(t, node{self: r1, auth: impostor, peers: map[keys.Principal]string{r0: ln.Addr().String()}})
			if tt.accepted {
				waitConnected(t, replica, r1)
				return
			}
			if line := log.next(t); !strings.Contains(line, "peer=replica-1") {
				t.Errorf("log line does not name the claimed replica-1: %s", line)
			}
			if err := replica.Send(r1, testFrame(0, 20)); !errors.Is(err, ErrUnknownPeer) {
				t.Errorf("send to the impostor: %v, want ErrUnknownPeer", err)
			}
		})
	}
}

// Garbage instead of a Hello, or a Hello for someone else, is a rejected
// handshake, not a crash.
func TestBadHandshakeFrames(t *testing.T) {
	auths := generate(t, keys.None, 2, 1)
	hello := func(from, to keys.Principal) []byte {
		return wire.AppendHello(nil, &wire.Hello{From: from, To: to})
	}
	for _, tt := range []struct {
		name, want string
		send       []byte
	}{
		{"wrong version", "peer=unknown", []byte{0, 0, 0, 2, 9, 1}},
		{"oversized", "peer=unknown", []byte{0xff, 0xff, 0xff, 0xff, 1, 1}},
		{"request instead of hello", "peer=unknown", testFrame(1, 64)},
		{"hello for another replica", "expected replica-1", hello(c0, r1)},
		{"hello from itself", "this node", hello(r0, r0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := newLogs("handshake rejected")
			ln := listen(t)
			replica := start(t, node{self: r0, auth: auths[r0], ln: ln, log: log.logger()})
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			if line := log.next(t); !strings.Contains(line, tt.want) {
				t.Errorf("log line lacks %q: %s", tt.want, line)
			}
			if got := replica.Stats().HandshakesRejected; got != 1 {
				t.Errorf("HandshakesRejected = %d, want 1", got)
			}
			// The replica hangs up on the impostor.
			if _, err := nc.Read(make([]byte, 1)); err == nil {
				t.Errorf("connection still open after a rejected handshake")
			}
		})
	}
}

// A frame over the receiver's limit closes the connection and is counted;
// the dialer reconnects and later frames get through.
func TestOversizedFrameClosesConnection(t *testing.T) {
	auths := generate(t, keys.HMAC, 2, 1)
	log := newLogs("bad frame, closing connection")
	ln := listen(t)
	rx := newSink()
	receiver := start(t, node{self: r1, auth: auths[r1], ln: ln, h: rx.handle, log: log.logger(),
		tweak: func(c *Config) { c.MaxFrame = 1 << 10 }})
	senderLog := newLogs("peer connected")
	sender := start(t, node{self: r0, auth: auths[r0], log: senderLog.logger(), peers: map[keys.Principal]string{r1: ln.Addr().String()}})
	senderLog.next(t)

	if err := sender.Send(r1, testFrame(1, 2<<10)); err != nil {
		t.Fatal(err)
	}
	if line := log.next(t); !strings.Contains(line, "peer=replica-0") || !strings.Contains(line, "oversized") {
		t.Errorf("log line does not name replica-0 and the oversized frame: %s", line)
	}
	if got := receiver.Stats().BadFrames; got != 1 {
		t.Errorf("BadFrames = %d, want 1", got)
	}
	// The sender notices the closed link and redials; frames sent after
	// that get through.
	if line := senderLog.next(t); !strings.Contains(line, "reconnect=true") {
		t.Fatalf("second connection is not a reconnect: %s", line)
	}
	if err := sender.Send(r1, testFrame(2, 100)); err != nil {
		t.Fatal(err)
	}
	if d := rx.next(t); frameSeq(d.frame) != 2 {
		t.Fatalf("got frame %d after reconnecting, want 2", frameSeq(d.frame))
	}
}

// A dialer reconnects to a node that restarts on the same address, and
// frames sent after that arrive.
func TestReconnectAfterRestart(t *testing.T) {
	auths := generate(t, keys.Ed25519, 1, 1)
	ln := listen(t)
	addr := ln.Addr().String()
	rx1, rxc := newSink(), newSink()
	server := start(t, node{self: r0, auth: auths[r0], ln: ln, h: rx1.handle})
	client := start(t, node{self: c0, auth: auths[c0], h: rxc.handle, peers: map[keys.Principal]string{r0: addr}})
	waitConnected(t, client, r0)
	if err := client.Send(r0, testFrame(1, 100)); err != nil {
		t.Fatal(err)
	}
	if d := rx1.next(t); frameSeq(d.frame) != 1 {
		t.Fatalf("got frame %d, want 1", frameSeq(d.frame))
	}
	server.Close()

	rx2 := newSink()
	restarted := start(t, node{self: r0, auth: auths[r0], h: rx2.handle, tweak: func(c *Config) { c.Listen = addr }})
	waitConnected(t, restarted, c0)
	if err := client.Send(r0, testFrame(2, 100)); err != nil {
		t.Fatal(err)
	}
	if d := rx2.next(t); d.from != c0 || frameSeq(d.frame) != 2 {
		t.Fatalf("restarted server got frame %d from %v, want 2 from client-0", frameSeq(d.frame), d.from)
	}
	// And the restarted server answers over the client's new connection.
	if err := restarted.Send(c0, testFrame(3, 100)); err != nil {
		t.Fatal(err)
	}
	if d := rxc.next(t); d.from != r0 || frameSeq(d.frame) != 3 {
		t.Fatalf("client got frame %d from %v, want 3 from replica-0", frameSeq(d.frame), d.from)
	}
	if got := client.Stats().Reconnects; got < 1 {
		t.Errorf("Reconnects = %d, want at least 1", got)
	}
}

// Send refuses frames beyond the queue bound while the link is down, but a
// single frame larger than the bound still fits into an empty queue.
func TestQueueFull(t *testing.T) {
	auths := generate(t, keys.None, 3, 1)
	// A listener that never accepts: the handshake never completes, so
	// nothing drains the queues.
	stuck := listen(t)
	defer stuck.Close()
	tr := start(t, node{self: c0, auth: auths[c0], peers: map[keys.Principal]string{
		r0: stuck.Addr().String(), r1: stuck.Addr().String(),
	}, tweak: func(c *Config) { c.QueueBytes = 250 }})

	for i := range 2 {
		if err := tr.Send(r0, testFrame(uint64(i), 100)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := tr.Send(r0, testFrame(2, 100)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third frame: %v, want ErrQueueFull", err)
	}
	if err := tr.Send(r1, testFrame(0, 300)); err != nil {
		t.Fatalf("a large frame into an empty queue: %v", err)
	}
	if err := tr.Send(r1, testFrame(1, 20)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a frame behind it: %v, want ErrQueueFull", err)
	}
	if got := tr.Stats().QueueFull; got != 2 {
		t.Errorf("QueueFull = %d, want 2", got)
	}
}

func TestSendErrors(t *testing.T) {
	auths := generate(t, keys.None, 1, 1)
	tr := start(t, node{self: r0, auth: auths[r0], ln: listen(t)})
	bad := testFrame(0, 100)
	bad[3]++ // length field one more than the frame
	for _, tt := range []struct {
		name  string
		to    keys.Principal
		frame []byte
		want  error
	}{
		{"unknown peer", keys.Replica(9), testFrame(0, 100), ErrUnknownPeer},
		{"client that never connected", c0, testFrame(0, 100), ErrUnknownPeer},
		{"length field off", c0, bad, wire.ErrTruncated},
		{"short", c0, []byte{1, 2}, wire.ErrTruncated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tr.Send(tt.to, tt.frame); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	tr.Close()
	if err := tr.Send(c0, testFrame(0, 100)); !errors.Is(err, ErrClosed) {
		t.Errorf("send after Close: %v, want ErrClosed", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	auths := generate(t, keys.None, 2, 1)
	auth := func(keys.Role) keys.Authenticator { return auths[r0] }
	h := func(keys.Principal, []byte) {}
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no role", Config{AuthFor: auth, Handler: h}, "no valid role"},
		{"no handler", Config{Self: r0, AuthFor: auth}, "Handler is nil"},
		{"self as peer", Config{Self: r0, AuthFor: auth, Handler: h, Peers: map[keys.Principal]string{r0: "x:1"}}, "peers include self"},
		{"someone else's key", Config{Self: r1, AuthFor: auth, Handler: h, Peers: map[keys.Principal]string{r0: "x:1"}}, "is replica-0's"},
		{"bad address", Config{Self: r0, AuthFor: auth, Handler: h, Listen: "256.0.0.1:0"}, "listen"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Listen(tt.cfg)
			if err == nil {
				tr.Close()
				t.Fatal("Listen accepted the config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

// A new inbound connection from a client replaces its old one, and replies
// follow the new connection.
func TestClientReconnectReplacesConnection(t *testing.T) {
	auths := generate(t, keys.HMAC, 1, 1)
	ln := listen(t)
	rxs := newSink()
	server := start(t, node{self: r0, auth: auths[r0], ln: ln, h: rxs.handle})
	peers := map[keys.Principal]string{r0: ln.Addr().String()}
	first := start(t, node{self: c0, auth: auths[c0], peers: peers})
	waitConnected(t, first, r0)
	waitConnected(t, server, c0)
	first.Close()

	rx := newSink()
	second := start(t, node{self: c0, auth: auths[c0], peers: peers, h: rx.handle})
	// Once a frame from the new connection has arrived, the server has
	// attached it: it registers a connection before reading from it.
	if err := second.Send(r0, testFrame(1, 50)); err != nil {
		t.Fatal(err)
	}
	rxs.next(t)
	if err := server.Send(c0, testFrame(2, 50)); err != nil {
		t.Fatal(err)
	}
	if d := rx.next(t); d.from != r0 || frameSeq(d.frame) != 2 {
		t.Fatalf("new client connection got frame %d from %v", frameSeq(d.frame), d.from)
	}
}

// Close stops every goroutine the transport started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	auths := generate(t, keys.HMAC, 2, 1)
	baseline := runtime.NumGoroutine()
	cl := startCluster(t, auths)
	for i := range 100 {
		if err := cl.tr[c0].Send(r0, testFrame(uint64(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	cl.sinks[r0].next(t)
	// A dialer stuck in a handshake and one waiting to redial must stop too.
	stuck := listen(t)
	defer stuck.Close()
	lonely := start(t, node{self: keys.Client(0), auth: auths[c0], peers: map[keys.Principal]string{
		r0: stuck.Addr().String(), r1: "127.0.0.1:1",
	}})
	cl.close()
	lonely.Close()
	checkNoLeaks(t, baseline)
}

func TestFramesAreCopied(t *testing.T) {
	cl := startCluster(t, generate(t, keys.None, 2, 1))
	defer cl.close()
	f := testFrame(7, 64)
	if err := cl.tr[r0].Send(r1, f); err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(f)
	clear(f[wire.HeaderSize:]) // the caller may reuse its buffer at once
	if d := cl.sinks[r1].next(t); !bytes.Equal(d.frame, want) {
		t.Fatalf("received %x, want %x", d.frame, want)
	}
}
