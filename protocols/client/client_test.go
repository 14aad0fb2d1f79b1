package client

import (
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

func replyFrom(replica uint32, session, seq, view uint64, result string) *wire.Reply {
	return &wire.Reply{Replica: replica, Client: 7, Session: session, Seq: seq, View: view, Result: []byte(result)}
}

// TestCoreInTicks: requests go to the primary the replies' views name,
// results need f+1 matching replies of this session, a request waiting
// Timeout ticks is resent to every replica marked as a retransmission, and
// one older than GiveUp fails — all as values, from ticks.
func TestCoreInTicks(t *testing.T) {
	c := New(Config{ID: 7, Session: 9, N: 4, Quorum: 2, Timeout: 10, GiveUp: 100})
	var out Output
	seq, err := c.Submit(0, []byte("op"), &out)
	if err != nil || seq != 1 || len(out.Sends) != 1 || out.Sends[0].To != keys.Replica(0) {
		t.Fatalf("Submit: seq %d, %v, sends %+v; want request 1 to replica 0", seq, err, out.Sends)
	}
	var r wire.Request
	if err := wire.DecodeRequest(out.Sends[0].Frame, &r); err != nil || r.Session != 9 || r.Seq != 1 || string(r.Payload) != "op" {
		t.Fatalf("sent %+v, %v", r, err)
	}

	out.Reset()
	c.Reply(replyFrom(0, 8, 1, 0, "other session"), &out)
	c.Reply(replyFrom(1, 8, 1, 0, "other session"), &out)
	c.Reply(replyFrom(0, 9, 1, 5, "good"), &out)
	c.Reply(replyFrom(0, 9, 1, 5, "good"), &out) // counts once
	c.Reply(replyFrom(2, 9, 1, 5, "evil"), &out)
	if len(out.Done) != 0 {
		t.Fatalf("done without f+1 matching replies of this session: %+v", out.Done)
	}
	c.Reply(replyFrom(3, 9, 1, 5, "good"), &out)
	if len(out.Done) != 1 || out.Done[0].Seq != 1 || string(out.Done[0].Result) != "good" {
		t.Fatalf("done %+v, want request 1 with the quorum's result", out.Done)
	}
	if c.Primary() != keys.Replica(1) {
		t.Errorf("primary %v after replies from view 5, want replica-1", c.Primary())
	}

	out.Reset()
	seq, _ = c.Submit(20, []byte("again"), &out)
	c.Tick(29, &out)
	if len(out.Sends) != 1 {
		t.Fatalf("resent before the timeout: %+v", out.Sends)
	}
	c.Tick(30, &out)
	if len(out.Sends) != 5 {
		t.Fatalf("%d sends after the timeout, want the first and 4 retransmissions", len(out.Sends))
	}
	if err := wire.DecodeRequest(out.Sends[4].Frame, &r); err != nil || r.Flags&wire.FlagRetransmit == 0 || r.Seq != seq {
		t.Errorf("retransmission %+v, %v: want request %d flagged", r, err, seq)
	}
	out.Reset()
	c.Tick(121, &out)
	if len(out.Done) != 1 || !out.Done[0].GaveUp || out.Done[0].Seq != seq {
		t.Errorf("done %+v after GiveUp, want request %d given up", out.Done, seq)
	}
	if s := c.Stats(); s.Sent != 2 || s.Completed != 1 || s.GaveUp != 1 || s.Retransmits != 1 {
		t.Errorf("stats %+v", s)
	}
}
