package transport

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replbench/replbench/keys"
)

// BenchmarkTCPSend100B measures one sender streaming 100-byte frames to one
// receiver over loopback, from the first Send to the last frame handed to
// the receiver's handler. allocs/op counts both ends: the receiver allocates
// each frame it hands over.
func BenchmarkTCPSend100B(b *testing.B) { benchTCPSend(b, nil) }

// benchTCPSend streams 100-byte frames between two TCP transports; link,
// when set, shapes the sender's link to the receiver.
func benchTCPSend(b *testing.B, link func(keys.Principal) Link) {
	auths := generate(b, keys.None, 2, 0)
	ln := listen(b)
	var received atomic.Int64
	var target int64
	done := make(chan struct{})
	start(b, node{self: r1, auth: auths[r1], ln: ln, h: func(keys.Principal, []byte) {
		if received.Add(1) == atomic.LoadInt64(&target) {
			close(done)
		}
	}})
	sender := start(b, node{self: r0, auth: auths[r0], peers: map[keys.Principal]string{r1: ln.Addr().String()},
		tweak: func(c *Config) { c.Link = link }})
	waitConnected(b, sender, r1)
	benchSend(b, sender, &target, done)
	sender.Close() // settles the write counters
	s := sender.Stats()
	b.ReportMetric(float64(s.FramesOut)/float64(s.Flushes), "frames/write")
}

// BenchmarkMemSend100B is the same stream over the in-memory transport.
func BenchmarkMemSend100B(b *testing.B) {
	net := NewMemNetwork()
	var received atomic.Int64
	var target int64
	done := make(chan struct{})
	rx := net.Endpoint(r1, func(keys.Principal, []byte) {
		if received.Add(1) == atomic.LoadInt64(&target) {
			close(done)
		}
	})
	defer rx.Close()
	tx := net.Endpoint(r0, func(keys.Principal, []byte) {})
	defer tx.Close()
	benchSend(b, tx, &target, done)
}

func benchSend(b *testing.B, tr Transport, target *int64, done <-chan struct{}) {
	frame := testFrame(0, 100)
	atomic.StoreInt64(target, int64(b.N))
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	for range b.N {
		for {
			err := tr.Send(r1, frame)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQueueFull) {
				b.Fatal(err)
			}
			runtime.Gosched() // the queue is full: let the writer drain it
		}
	}
	select {
	case <-done:
	case <-time.After(patience):
		b.Fatalf("frames did not all arrive within %v", patience)
	}
	b.ReportMetric(float64(b.N)/time.Since(begin).Seconds(), "frames/s")
}
