package replicas_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/replicas"
)

// startCluster runs n replicas of protocol in this process over loopback TCP.
func startCluster(t testing.TB, protocol string, n, nclients int, replicaScheme, clientScheme keys.Scheme, batch int) (*cluster.Config, []*replicas.Replica) {
	t.Helper()
	dir := t.TempDir()
	rk, ck := filepath.Join(dir, "rk"), filepath.Join(dir, "ck")
	if err := keys.Generate(replicaScheme, rk, n, 0, keys.GenOptions{RSABits: 1024}); err != nil {
		t.Fatal(err)
	}
	if err := keys.Generate(clientScheme, ck, n, nclients, keys.GenOptions{RSABits: 1024}); err != nil {
		t.Fatal(err)
	}
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		l.Close()
	}
	cfg := &cluster.Config{Protocol: protocol, Replicas: addrs, Clients: nclients,
		ReplicaScheme: replicaScheme, ClientScheme: clientScheme, ReplicaKeys: rk, ClientKeys: ck, App: "echo",
		BatchSize: batch, BatchTimeout: cluster.Duration{Duration: time.Millisecond}, CheckpointInterval: 20,
		ViewChangeTimeout: cluster.Duration{Duration: time.Second}}
	var rs []*replicas.Replica
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		r, err := replicas.New(cfg, uint32(i), replicas.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, r := range rs {
			r.Close()
		}
	})
	// Load starts on a full mesh: with a replica not yet linked, the others
	// would need every vote and the gate would have nothing to skip.
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	for i, r := range rs {
		if err := r.WaitConnected(wait); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	return cfg, rs
}

// TestReplicatedOverTCP runs 4 replicas of each replicated protocol and 4
// clients over loopback, with signatures and with MACs between replicas,
// and checks every reply is the echo of its own request and no replica
// rejected a frame. Under HotStuff with HMAC, the QCs' votes verify only if
// the runtime authenticated them for everyone (Message.Transferable), not
// for their one receiver; under PBFT the gate must have skipped votes.
func TestReplicatedOverTCP(t *testing.T) {
	for _, protocol := range []string{"pbft", "hotstuff"} {
		for _, scheme := range []keys.Scheme{keys.Ed25519, keys.HMAC} {
			t.Run(protocol+"/"+string(scheme), func(t *testing.T) {
				cfg, rs := startCluster(t, protocol, 4, 4, scheme, keys.HMAC, 10)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				var wg sync.WaitGroup
				for id := 0; id < 4; id++ {
					auth, err := cfg.ClientAuth(uint32(id))
					if err != nil {
						t.Fatal(err)
					}
					c, err := clients.New(ctx, clients.Config{Cluster: cfg, ID: uint32(id), Auth: auth, Timeout: 500 * time.Millisecond})
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					wg.Add(1)
					go func(id int) {
						defer wg.Done()
						for i := 0; i < 50; i++ {
							want := fmt.Sprintf("client %d op %d", id, i)
							got, err := c.Invoke(ctx, []byte(want))
							if err != nil || string(got) != want {
								t.Errorf("client %d: Invoke(%q) = %q, %v", id, want, got, err)
								return
							}
						}
					}(id)
				}
				wg.Wait()
				for i, r := range rs {
					s := r.Stats()
					if s.BadAuth != 0 || s.Malformed != 0 {
						t.Errorf("replica %d rejected frames: %+v", i, s)
					}
					if protocol == "pbft" && s.Unneeded == 0 {
						t.Errorf("replica %d: no vote skipped by the gate: %+v", i, s)
					}
				}
			})
		}
	}
}
