package replicas_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/replicas"
)

// memReplica starts replica 0 of cfg on an in-memory network, with HMAC
// keys for cfg's replicas and two clients, and returns it with client 1's
// request builder.
func memReplica(t *testing.T, cfg *cluster.Config) (*replicas.Replica, func(seq uint64, payload []byte) []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keys.Generate(keys.HMAC, dir, len(cfg.Replicas), 2, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg.Clients, cfg.ReplicaScheme, cfg.ClientScheme, cfg.ReplicaKeys, cfg.ClientKeys = 2, keys.HMAC, keys.HMAC, dir, dir
	net := transport.NewMemNetwork()
	r, err := replicas.New(cfg, 0, replicas.Options{Transport: func(h transport.Handler) (transport.Transport, error) {
		return net.Endpoint(keys.Replica(0), h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := keys.Load(keys.HMAC, dir, keys.Client(1), len(cfg.Replicas), 2)
	if err != nil {
		t.Fatal(err)
	}
	return r, func(seq uint64, payload []byte) []byte {
		buf := wire.AppendRequest(nil, &wire.Request{Client: 1, Seq: seq, Payload: payload})
		a, err := auth.Sign(nil, wire.SignedBytes(buf))
		if err != nil {
			t.Fatal(err)
		}
		return wire.Seal(buf, a)
	}
}

// TestOversizedRequestRefused: a PBFT replica refuses, counts and does not
// verify a request larger than any batch may be, and takes one that fits.
func TestOversizedRequestRefused(t *testing.T) {
	cfg := &cluster.Config{Protocol: "pbft", Replicas: []string{"mem", "mem1", "mem2", "mem3"}, App: "null", MaxFrame: 64 << 10}
	r, request := memReplica(t, cfg)
	defer r.Close()
	budget := replicas.BatchBudget(cfg, 4*keys.MACSize)
	if budget <= 0 || budget > cfg.MaxFrame/3 {
		t.Fatalf("budget %d for a 64 KiB frame and 4 replicas: want within a third of the frame", budget)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	r.Deliver(keys.Client(1), request(1, make([]byte, budget)))
	r.Deliver(keys.Client(1), request(2, make([]byte, budget/2)))
	cancel()
	<-done
	if s := r.Stats(); s.Oversized != 1 || s.BadAuth != 0 {
		t.Fatalf("stats %+v: want 1 oversized request and no bad authenticator", s)
	}
}

// TestCloseWithFullInbox: frames that arrive after Run returned (the
// replica is stopping) must not block the transport's goroutines, or Close,
// which waits for them, never returns and the process ignores SIGTERM.
func TestCloseWithFullInbox(t *testing.T) {
	r, request := memReplica(t, &cluster.Config{Protocol: "unreplicated", Replicas: []string{"mem"}, App: "null"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	frame := request(1, []byte("x"))
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		for range 5000 { // more than the inbox holds
			r.Deliver(keys.Client(1), frame)
		}
	}()
	closed := make(chan error)
	go func() {
		<-delivered
		closed <- r.Close()
	}()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Deliver blocked after Run returned: Close would wait for it forever")
	}
}
