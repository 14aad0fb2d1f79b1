package transport

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// patience bounds every wait in these tests; reaching it is a failure, not
// a way to synchronise.
const patience = 10 * time.Second

const typeTest wire.Type = 0xf0

// testFrame is a frame of the test type carrying seq and size-14 bytes of
// filler, so frames can be told apart and their order checked.
func testFrame(seq uint64, size int) []byte {
	f := make([]byte, max(size, wire.HeaderSize+8))
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	f[4], f[5] = wire.Version, byte(typeTest)
	binary.BigEndian.PutUint64(f[wire.HeaderSize:], seq)
	return f
}

func frameSeq(f []byte) uint64 { return binary.BigEndian.Uint64(f[wire.HeaderSize:]) }

type delivery struct {
	from  keys.Principal
	frame []byte
}

// sink is a Handler that forwards every frame to a channel.
type sink chan delivery

func newSink() sink { return make(sink, 1<<15) }

func (s sink) handle(from keys.Principal, frame []byte) { s <- delivery{from, frame} }

// next returns the next delivery or fails the test.
func (s sink) next(t testing.TB) delivery {
	t.Helper()
	select {
	case d := <-s:
		return d
	case <-time.After(patience):
		t.Fatalf("no frame arrived within %v", patience)
		return delivery{}
	}
}

// logs captures log records and signals each one whose message matches watch.
type logs struct {
	mu    sync.Mutex
	lines []string
	watch string
	hits  chan string
}

func newLogs(watch string) *logs { return &logs{watch: watch, hits: make(chan string, 64)} }

func (l *logs) logger() *slog.Logger { return slog.New(l) }

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs(as []slog.Attr) slog.Handler    { return &logsWith{l, as} }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	return l.record(r, nil)
}

func (l *logs) record(r slog.Record, with []slog.Attr) error {
	var b strings.Builder
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true }
	for _, a := range with {
		add(a)
	}
	r.Attrs(add)
	line := b.String()
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	if r.Message == l.watch {
		select {
		case l.hits <- line:
		default:
		}
	}
	return nil
}

// next returns the next watched line or fails the test.
func (l *logs) next(t testing.TB) string {
	t.Helper()
	select {
	case line := <-l.hits:
		return line
	case <-time.After(patience):
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("no %q logged within %v; log:\n%s", l.watch, patience, strings.Join(l.lines, "\n"))
		return ""
	}
}

type logsWith struct {
	l    *logs
	with []slog.Attr
}

func (w *logsWith) Enabled(context.Context, slog.Level) bool { return true }
func (w *logsWith) WithAttrs(as []slog.Attr) slog.Handler {
	return &logsWith{w.l, append(w.with[:len(w.with):len(w.with)], as...)}
}
func (w *logsWith) WithGroup(string) slog.Handler { return w }
func (w *logsWith) Handle(_ context.Context, r slog.Record) error {
	return w.l.record(r, w.with)
}

// node describes one transport for start.
type node struct {
	self  keys.Principal
	auth  keys.Authenticator
	ln    net.Listener // nil: dial only
	peers map[keys.Principal]string
	h     Handler
	log   *slog.Logger
	tweak func(*Config)
}

func start(t testing.TB, n node) *TCP {
	t.Helper()
	cfg := Config{
		Self:        n.self,
		AuthFor:     func(keys.Role) keys.Authenticator { return n.auth },
		Listener:    n.ln,
		Peers:       n.peers,
		Handler:     n.h,
		Logger:      n.log,
		DialBackoff: time.Millisecond,
	}
	if cfg.Handler == nil {
		cfg.Handler = func(keys.Principal, []byte) {}
	}
	if n.tweak != nil {
		n.tweak(&cfg)
	}
	tr, err := Listen(cfg)
	if err != nil {
		t.Fatalf("start %v: %v", n.self, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	return ln
}

func waitConnected(t testing.TB, tr *TCP, peers ...keys.Principal) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := tr.WaitConnected(ctx, peers...); err != nil {
		t.Fatal(err)
	}
}

func generate(t testing.TB, scheme keys.Scheme, replicas, clients int) map[keys.Principal]keys.Authenticator {
	t.Helper()
	auths, err := keys.GenerateInMemory(scheme, replicas, clients)
	if err != nil {
		t.Fatalf("generate %s keys: %v", scheme, err)
	}
	return auths
}

// gullible is an authenticator that believes every peer and may claim to
// be someone it holds no key for: an impostor, or a node with the wrong key
// that still tries to prove itself.
type gullible struct {
	keys.Authenticator
	self keys.Principal
}

func (g gullible) Self() keys.Principal                        { return g.self }
func (g gullible) Verify(keys.Principal, []byte, []byte) error { return nil }

// checkNoLeaks fails the test if goroutines started after baseline outlive
// it, polling because goroutines that have been told to stop take a moment
// to be reaped by the runtime.
func checkNoLeaks(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}
