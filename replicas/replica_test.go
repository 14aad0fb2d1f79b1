package replicas_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/replicas"
)

// TestDeliverRejectsAndCounts feeds the runtime forged, impersonating and
// malformed frames: each is dropped and counted, none reaches the core,
// and a good request still gets its reply.
func TestDeliverRejectsAndCounts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keys.Generate(keys.HMAC, dir, 1, 2, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := &cluster.Config{Protocol: "unreplicated", Replicas: []string{"mem"}, Clients: 2,
		ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC, ReplicaKeys: dir, ClientKeys: dir, App: "echo"}
	net := transport.NewMemNetwork()
	r, err := replicas.New(cfg, 0, replicas.Options{Transport: func(h transport.Handler) (transport.Transport, error) {
		return net.Endpoint(keys.Replica(0), h), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	replies := make(chan wire.Reply, 1)
	client := net.Endpoint(keys.Client(1), func(_ keys.Principal, frame []byte) {
		var rep wire.Reply
		if err := wire.DecodeReply(frame, &rep); err != nil {
			t.Error(err)
		}
		replies <- rep
	})
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	auth, err := keys.Load(keys.HMAC, dir, keys.Client(1), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	request := func(id uint32, payload string, forge bool) []byte {
		buf := wire.AppendRequest(nil, &wire.Request{Client: id, Seq: 1, Payload: []byte(payload)})
		a, err := auth.Sign(nil, wire.SignedBytes(buf))
		if err != nil {
			t.Fatal(err)
		}
		if forge {
			a[0] ^= 1
		}
		return wire.Seal(buf, a)
	}
	r.Deliver(keys.Client(1), request(1, "forged", true))       // bad MAC
	r.Deliver(keys.Client(1), request(0, "as client 0", false)) // client 1 speaking for client 0
	r.Deliver(keys.Client(1), []byte{0, 0, 0, 3, 9, 0x10, 0})   // wrong version
	r.Deliver(keys.Client(1), request(1, "good", false))
	rep := <-replies
	if string(rep.Result) != "good" || rep.Client != 1 || rep.Seq != 1 {
		t.Fatalf("reply %+v, want the echo of the good request", rep)
	}
	s := r.Stats()
	if s.BadAuth != 1 || s.Impersonate != 1 || s.Malformed != 1 || s.Requests != 1 || s.Replies != 1 {
		t.Fatalf("stats %+v: want 1 each of bad auth, impersonation, malformed, request, reply", s)
	}
}
