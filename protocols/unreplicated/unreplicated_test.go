package unreplicated

import (
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/replicas/app"
)

func TestCoreExecutesOnceAndAnswersRetransmissions(t *testing.T) {
	a, _ := app.New("echo", 0)
	c := New(a)
	var out protocols.Effects
	steps := []struct {
		client      uint32
		session     uint64
		seq         uint64
		payload     string
		wantReply   string // "" means no reply
		wantExecute uint64
	}{
		{1, 5, 1, "a", "a", 1},
		{1, 5, 2, "b", "b", 2},
		{1, 5, 2, "b", "b", 2}, // retransmission: cached reply, not executed again
		{1, 5, 1, "a", "", 2},  // stale: dropped
		{2, 5, 1, "c", "c", 3}, // another client has its own numbering
		{1, 5, 3, "d", "d", 4},
		{1, 9, 1, "e", "e", 5}, // a later run of client 1 numbers from 1 again
		{1, 5, 4, "f", "", 5},  // the earlier run's requests are stale
		{1, 9, 2, "g", "g", 6},
	}
	for i, s := range steps {
		out.Reset()
		c.Request(&wire.Request{Client: s.client, Session: s.session, Seq: s.seq, Payload: []byte(s.payload)}, &out)
		if c.Executed != s.wantExecute {
			t.Fatalf("step %d: executed %d, want %d", i, c.Executed, s.wantExecute)
		}
		if s.wantReply == "" {
			if len(out.Replies) != 0 {
				t.Fatalf("step %d: stale request answered: %+v", i, out.Replies)
			}
			continue
		}
		if len(out.Replies) != 1 {
			t.Fatalf("step %d: %d replies, want 1", i, len(out.Replies))
		}
		r := out.Replies[0]
		if r.Request.Client != s.client || r.Request.Seq != s.seq || string(r.Result) != s.wantReply {
			t.Fatalf("step %d: reply %+v, want client %d seq %d result %q", i, r, s.client, s.seq, s.wantReply)
		}
	}
	if c.Resent != 1 || c.Stale != 2 {
		t.Fatalf("resent %d stale %d, want 1 and 2", c.Resent, c.Stale)
	}
}

func BenchmarkCoreRequest(b *testing.B) {
	a, _ := app.New("null", 0)
	c := New(a)
	var out protocols.Effects
	req := wire.Request{Client: 1, Payload: make([]byte, 100)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req.Seq = uint64(i + 1)
		c.Request(&req, &out)
		out.Reset()
	}
}
