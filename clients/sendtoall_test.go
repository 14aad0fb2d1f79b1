package clients

import (
	"testing"
	"time"
)

// TestHotStuffSendsToAll: with HotStuff's rotating leader, the first
// transmission of every request goes to every replica, whatever view the
// replies named.
func TestHotStuffSendsToAll(t *testing.T) {
	f := newFakeCluster(t, 4)
	f.cfg.Protocol = "hotstuff"
	c := f.client(time.Hour, time.Hour)
	for i, view := range []uint64{0, 6} {
		seq, done := invoke(c, "op")
		got := make(map[uint32]bool)
		for range 4 {
			r := <-f.received
			if r.req.Seq != seq || r.req.Flags != 0 {
				t.Fatalf("request %d: replica %d got %+v", i, r.replica, r.req)
			}
			got[r.replica] = true
		}
		if len(got) != 4 {
			t.Fatalf("request %d reached replicas %v, want all 4", i, got)
		}
		f.reply(c, 1, seq, view, "ok")
		f.reply(c, 2, seq, view, "ok")
		if o := <-done; o.err != nil || o.res != "ok" {
			t.Fatalf("request %d: %+v", i, o)
		}
	}
}
