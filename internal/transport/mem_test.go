package transport

import (
	"errors"
	"runtime"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

func TestMemExchangeAndOrder(t *testing.T) {
	const n = 10000
	net := NewMemNetwork()
	sinks := map[keys.Principal]sink{r0: newSink(), r1: newSink(), c0: newSink()}
	eps := map[keys.Principal]*Mem{}
	for who, s := range sinks {
		eps[who] = net.Endpoint(who, s.handle)
		defer eps[who].Close()
	}
	// Two senders interleave at one receiver; each one's frames stay in order.
	for i := range n {
		for _, from := range []keys.Principal{r0, c0} {
			if err := eps[from].Send(r1, testFrame(uint64(i), 32)); err != nil {
				t.Fatalf("%v frame %d: %v", from, i, err)
			}
		}
	}
	next := map[keys.Principal]uint64{}
	for range 2 * n {
		d := sinks[r1].next(t)
		if got := frameSeq(d.frame); got != next[d.from] {
			t.Fatalf("frame %d from %v arrived as number %d", got, d.from, next[d.from])
		}
		next[d.from]++
	}
	if err := eps[r1].Send(c0, testFrame(1, 20)); err != nil {
		t.Fatal(err)
	}
	if d := sinks[c0].next(t); d.from != r1 {
		t.Fatalf("client got a frame from %v", d.from)
	}
	if s := eps[r0].Stats(); s.FramesOut != n || s.BytesOut != 32*n {
		t.Errorf("sender stats %+v", s)
	}
	if s := eps[r1].Stats(); s.FramesIn != 2*n {
		t.Errorf("receiver stats %+v", s)
	}
}

func TestMemFramesAreCopied(t *testing.T) {
	net := NewMemNetwork()
	rx := newSink()
	a, b := net.Endpoint(r0, func(keys.Principal, []byte) {}), net.Endpoint(r1, rx.handle)
	defer a.Close()
	defer b.Close()
	f := testFrame(5, 40)
	if err := a.Send(r1, f); err != nil {
		t.Fatal(err)
	}
	f[wire.HeaderSize] = 0xff
	if d := rx.next(t); frameSeq(d.frame) != 5 {
		t.Fatalf("receiver saw the sender's later write: seq %x", frameSeq(d.frame))
	}
}

func TestMemPartition(t *testing.T) {
	net := NewMemNetwork()
	rx := newSink()
	a, b := net.Endpoint(r0, func(keys.Principal, []byte) {}), net.Endpoint(r1, rx.handle)
	defer a.Close()
	defer b.Close()
	net.Partition(r1, r0)
	if err := a.Send(r1, testFrame(1, 20)); err != nil {
		t.Fatal(err)
	}
	if got := net.Dropped(); got != 1 {
		t.Errorf("Dropped = %d, want 1", got)
	}
	net.Heal(r0, r1)
	if err := a.Send(r1, testFrame(2, 20)); err != nil {
		t.Fatal(err)
	}
	if d := rx.next(t); frameSeq(d.frame) != 2 {
		t.Fatalf("got frame %d, want 2 (1 was cut off)", frameSeq(d.frame))
	}
}

func TestMemErrors(t *testing.T) {
	net := NewMemNetwork()
	release := make(chan struct{})
	a := net.Endpoint(r0, func(keys.Principal, []byte) {})
	b := net.Endpoint(r1, func(keys.Principal, []byte) { <-release })
	defer a.Close()
	defer b.Close()
	defer close(release)

	if err := a.Send(keys.Replica(9), testFrame(0, 20)); !errors.Is(err, ErrUnknownPeer) {
		t.Errorf("send to nobody: %v", err)
	}
	if err := a.Send(r1, []byte{0, 0}); err == nil {
		t.Errorf("send of a malformed frame succeeded")
	}
	// b's handler blocks on the first frame; the rest queue up to the bound.
	const size = 1 << 20
	sent := 0
	for ; sent < 2*DefaultQueueBytes/size; sent++ {
		if err := a.Send(r1, testFrame(uint64(sent), size)); err != nil {
			if !errors.Is(err, ErrQueueFull) {
				t.Fatal(err)
			}
			break
		}
	}
	if sent > DefaultQueueBytes/size+1 || sent < DefaultQueueBytes/size {
		t.Errorf("%d frames of %d bytes fit, bound is %d bytes", sent, size, DefaultQueueBytes)
	}
	if got := a.Stats().QueueFull; got != 1 {
		t.Errorf("QueueFull = %d, want 1", got)
	}
	a.Close()
	if err := a.Send(r1, testFrame(0, 20)); !errors.Is(err, ErrClosed) {
		t.Errorf("send after Close: %v", err)
	}
}

func TestMemCloseLeavesNoGoroutines(t *testing.T) {
	baseline := runtime.NumGoroutine()
	net := NewMemNetwork()
	rx := newSink()
	a, b := net.Endpoint(r0, func(keys.Principal, []byte) {}), net.Endpoint(r1, rx.handle)
	for i := range 100 {
		if err := a.Send(r1, testFrame(uint64(i), 20)); err != nil {
			t.Fatal(err)
		}
	}
	rx.next(t)
	a.Close()
	b.Close()
	if err := a.Send(r1, testFrame(0, 20)); !errors.Is(err, ErrClosed) {
		t.Errorf("send from a closed endpoint: %v", err)
	}
	checkNoLeaks(t, baseline)
}
