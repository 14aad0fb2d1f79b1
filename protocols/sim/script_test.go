package sim

import (
	"bytes"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// newScripted returns a 4-replica order-core cluster with two clients that
// send only what a test submits.
func newScripted(t *testing.T) *Sim {
	t.Helper()
	s, err := New(Config{Seed: 1, N: 4, New: toyCores["order"], Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func executed(s *Sim, id uint32) uint64 { return s.Core(id).(*orderCore).executed }

// TestScriptedDeliverAll runs requests to completion without time passing,
// and checks the results against a reference application.
func TestScriptedDeliverAll(t *testing.T) {
	s := newScripted(t)
	ops := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	for i, op := range ops {
		if got := s.Submit(0, op); got != uint64(i+1) {
			t.Fatalf("Submit returned request number %d, want %d", got, i+1)
		}
	}
	if n := s.DeliverAll(); n == 0 {
		t.Fatal("nothing delivered")
	}
	if !s.Done() || s.Now() != 0 || s.InFlight() != 0 {
		t.Fatalf("done %v at t=%d with %d in flight; want done at t=0 with nothing in flight", s.Done(), s.Now(), s.InFlight())
	}
	ref := NewChainApp()
	for i, op := range ops {
		want := ref.Execute(nil, op)
		if got, ok := s.Result(0, uint64(i+1)); !ok || !bytes.Equal(got, want) {
			t.Fatalf("request %d: result %x (%v), want %x", i+1, got, ok, want)
		}
	}
	for id := range uint32(4) {
		if d := s.App(id).Digest(); d != ref.Digest() {
			t.Fatalf("replica %d digest %x, want %x", id, d[:4], ref.Digest())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestScriptedCrashRestart checks that a crashed replica gets nothing and
// resumes where it stopped, having missed what was sent meanwhile.
func TestScriptedCrashRestart(t *testing.T) {
	s := newScripted(t)
	s.Submit(0, []byte("before"))
	s.DeliverAll()
	s.Crash(3)
	if s.Up(3) {
		t.Fatal("replica 3 up after Crash")
	}
	s.Submit(1, []byte("while down"))
	if !s.RunUntil(s.Done, 100) {
		t.Fatalf("request not done with one backup down:\n%s", s.Stuck())
	}
	if got := executed(s, 3); got != 1 {
		t.Fatalf("crashed replica executed up to %d, want 1", got)
	}
	s.Restart(3)
	s.Submit(0, []byte("after"))
	if !s.RunUntil(s.Done, 100) {
		t.Fatalf("request not done after restart:\n%s", s.Stuck())
	}
	// The order for seq 2 never reached replica 3, so it waits for it.
	if got, want := executed(s, 3), uint64(1); got != want {
		t.Fatalf("restarted replica executed up to %d, want %d", got, want)
	}
	if got := len(s.Core(3).(*orderCore).pending); got != 1 {
		t.Fatalf("restarted replica holds %d pending orders, want 1 (seq 3)", got)
	}
	if s.Report().Crashes != 1 {
		t.Fatalf("report counts %d crashes, want 1", s.Report().Crashes)
	}
}

// TestScriptedPartitionAndFilter cuts replicas off, by partition and by
// filter, and checks that they execute nothing until healed.
func TestScriptedPartitionAndFilter(t *testing.T) {
	s := newScripted(t)
	s.Partition([]uint32{1})
	s.SetFilter(func(from, to keys.Principal, frame []byte) bool {
		return !(to == keys.Replica(2) && wire.TypeOf(frame) == typeOrder)
	})
	s.Submit(0, []byte("x"))
	if !s.RunUntil(s.Done, 100) {
		t.Fatalf("not done:\n%s", s.Stuck())
	}
	for id, want := range []uint64{1, 0, 0, 1} {
		if got := executed(s, uint32(id)); got != want {
			t.Fatalf("replica %d executed up to %d, want %d", id, got, want)
		}
	}
	var cut, filtered int
	for _, e := range s.Trace() {
		if e.Kind == EvDrop && e.Note == "partition" {
			cut++
		}
		if e.Kind == EvDrop && e.Note == "filter" {
			filtered++
		}
	}
	if cut != 1 || filtered != 1 {
		t.Fatalf("trace shows %d partition drops and %d filter drops, want 1 and 1", cut, filtered)
	}
	s.Heal()
	s.SetFilter(nil)
	s.Submit(0, []byte("y"))
	s.RunUntil(s.Done, 100)
	if got := executed(s, 1); got != 0 {
		t.Fatalf("healed replica executed up to %d; the order for seq 1 was lost, so want 0", got)
	}
	if got := len(s.Core(1).(*orderCore).pending); got != 1 {
		t.Fatalf("healed replica holds %d pending orders, want 1", got)
	}
}

// TestScriptedRetransmit checks the client side: a request the primary
// never sees is resent to every replica after the timeout, with the flag.
func TestScriptedRetransmit(t *testing.T) {
	s := newScripted(t)
	var flags []uint8
	s.SetFilter(func(from, to keys.Principal, frame []byte) bool {
		var r wire.Request
		if wire.TypeOf(frame) == wire.TypeRequest && wire.DecodeRequest(frame, &r) == nil {
			flags = append(flags, r.Flags)
			return r.Flags&wire.FlagRetransmit != 0
		}
		return true
	})
	s.Submit(1, []byte("lost once"))
	if !s.RunUntil(s.Done, 3*DefaultClientTimeout) {
		t.Fatalf("not done:\n%s", s.Stuck())
	}
	if len(flags) != 5 || flags[0] != 0 || flags[1] != wire.FlagRetransmit {
		t.Fatalf("request flags seen %v, want one plain send then four retransmissions", flags)
	}
	if r := s.Report(); r.Retransmits != 1 || r.Completed != 1 {
		t.Fatalf("report %+v, want 1 retransmission and 1 completion", r)
	}
}

// TestClientFollowsView checks that a client learns the view from a reply,
// even a late one, and sends its next request to that view's primary.
func TestClientFollowsView(t *testing.T) {
	s := newScripted(t)
	late := wire.AppendReply(nil, &wire.Reply{Replica: 1, Client: 0, Seq: 9, View: 6, Result: []byte("old")})
	s.deliverReply(&s.clients[0], wire.Seal(late, nil)) // view 6: primary is 6 mod 4 = 2
	var to []keys.Principal
	s.SetFilter(func(_, dst keys.Principal, frame []byte) bool {
		if wire.TypeOf(frame) == wire.TypeRequest {
			to = append(to, dst)
		}
		return true
	})
	s.Submit(0, []byte("z"))
	if len(to) != 1 || to[0] != keys.Replica(2) {
		t.Fatalf("request sent to %v, want replica 2", to)
	}
}
