package replicas

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
)

// TestOverLimitMessageNotSent: a message that sealed would exceed the
// frame limit is not signed or sent; it counts a send error per receiver
// and is logged once per type with its size and the limit.
func TestOverLimitMessageNotSent(t *testing.T) {
	auths, err := keys.GenerateInMemory(keys.Ed25519, 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	r := &Replica{
		cfg:      &cluster.Config{Protocol: "pbft", Replicas: make([]string, 4), MaxFrame: 1 << 10},
		peerAuth: auths[keys.Replica(0)],
		log:      slog.New(slog.NewTextHandler(&logged, nil)),
	}
	vc := wire.AppendViewChange(nil, &wire.ViewChange{Replica: 0, View: 1, PrePrepares: make([]byte, 2<<10)})
	small := wire.AppendViewChange(nil, &wire.ViewChange{Replica: 0, View: 1})
	for range 2 {
		if r.fits(protocols.Message{To: protocols.Broadcast, Frame: vc}) {
			t.Fatal("a 2 KiB view-change fits a 1 KiB frame limit")
		}
	}
	if !r.fits(protocols.Message{To: protocols.Broadcast, Frame: small}) {
		t.Fatal("a small view-change does not fit")
	}
	if got := r.sendErrors.Load(); got != 6 {
		t.Errorf("%d send errors; want 3 per broadcast over the limit", got)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "type=view-change") || !strings.Contains(lines[0], "max_frame=1024") {
		t.Errorf("log:\n%s\nwant one line naming the type and the limit", logged.String())
	}
}

// TestInboxBoundedInBytes: a frame enters an empty inbox whatever its
// size, further frames only within the byte bound; a reader waiting for
// room goes on once the core took frames out, and gives up when the
// replica stops.
func TestInboxBoundedInBytes(t *testing.T) {
	r := &Replica{inLimit: 100, inFreed: make(chan struct{}), done: make(chan struct{})}
	if !r.admit(500) {
		t.Fatal("a frame larger than the bound was refused by an empty inbox")
	}
	r.release(500)
	if !r.admit(60) {
		t.Fatal("60 bytes refused by an empty inbox")
	}
	admitted := make(chan bool)
	go func() { admitted <- r.admit(60) }()
	r.release(60) // the core took the first frame
	select {
	case ok := <-admitted:
		if !ok {
			t.Fatal("admit failed after room was made")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reader waiting for room did not go on once the inbox emptied")
	}
	go func() { admitted <- r.admit(60) }() // 60 + 60 > 100: waits
	r.stop()
	select {
	case ok := <-admitted:
		if ok {
			t.Fatal("admitted 120 bytes into a 100-byte inbox")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reader waiting for room did not give up when the replica stopped")
	}
	if r.inBytes != 60 {
		t.Errorf("inbox holds %d bytes, want 60", r.inBytes)
	}
}
