package replicas_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/internal/baseline"
	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/replicas"
)

// BenchmarkRequestPath measures closed-loop throughput with 16 clients, one
// request outstanding each, 100-byte payloads: first against the raw TCP
// echo baseline, then through the unreplicated replica (hmac-authenticated
// requests, real TCP transport, runtime and client library). Both run in one
// invocation so their ratio is meaningful on a noisy machine:
//
//	go test ./replicas -run ^$ -bench RequestPath -benchtime 200000x -count 5
func BenchmarkRequestPath(b *testing.B) {
	const clientsN, payload = 16, 100
	b.Run("echo-baseline", func(b *testing.B) {
		e, err := baseline.StartEcho("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		cs := make([]*baseline.Client, clientsN)
		for i := range cs {
			if cs[i], err = baseline.Dial(e.Addr(), payload); err != nil {
				b.Fatal(err)
			}
			defer cs[i].Close()
		}
		closedLoop(b, clientsN, func(i int) error { return cs[i].RoundTrip() })
	})
	for _, scheme := range []keys.Scheme{keys.None, keys.HMAC} {
		b.Run("unreplicated-"+string(scheme), func(b *testing.B) {
			cfg, stop := startUnreplicated(b, scheme, clientsN)
			defer stop()
			cs := make([]*clients.Client, clientsN)
			for i := range cs {
				auth, err := cfg.ClientAuth(uint32(i))
				if err != nil {
					b.Fatal(err)
				}
				if cs[i], err = clients.New(context.Background(), clients.Config{Cluster: cfg, ID: uint32(i), Auth: auth}); err != nil {
					b.Fatal(err)
				}
				defer cs[i].Close()
			}
			p := make([]byte, payload)
			ctx := context.Background()
			closedLoop(b, clientsN, func(i int) error {
				_, err := cs[i].Invoke(ctx, p)
				return err
			})
		})
	}
}

// closedLoop shares b.N round trips among n goroutines and reports req/s.
func closedLoop(b *testing.B, n int, roundTrip func(i int) error) {
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := roundTrip(i); err != nil {
					b.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// startUnreplicated runs an unreplicated replica in this process.
func startUnreplicated(b *testing.B, scheme keys.Scheme, nclients int) (*cluster.Config, func()) {
	dir := filepath.Join(b.TempDir(), "keys")
	if err := keys.Generate(scheme, dir, 1, nclients, keys.GenOptions{}); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := &cluster.Config{Protocol: "unreplicated", Replicas: []string{addr}, Clients: nclients,
		ReplicaScheme: keys.None, ClientScheme: scheme, ReplicaKeys: dir, ClientKeys: dir, App: "null"}
	r, err := replicas.New(cfg, 0, replicas.Options{})
	if err != nil {
		b.Fatal(fmt.Errorf("start replica: %w", err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.Run(ctx)
		close(done)
	}()
	return cfg, func() {
		cancel()
		<-done
		r.Close()
	}
}
