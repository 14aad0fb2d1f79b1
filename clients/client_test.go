package clients

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// fakeCluster is n scripted replicas on an in-memory network. Each request
// a replica receives goes to the test's channel; the test decides the reply.
type fakeCluster struct {
	t        *testing.T
	net      *transport.MemNetwork
	auth     map[keys.Principal]keys.Authenticator
	eps      []*transport.Mem
	received chan received
	cfg      *cluster.Config
}

type received struct {
	replica uint32
	req     wire.Request
}

func newFakeCluster(t *testing.T, n int) *fakeCluster {
	t.Helper()
	auth, err := keys.GenerateInMemory(keys.HMAC, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	protocol := "pbft"
	if n == 1 {
		protocol = "unreplicated"
	}
	f := &fakeCluster{t: t, net: transport.NewMemNetwork(), auth: auth, received: make(chan received, 100),
		cfg: &cluster.Config{Protocol: protocol, Replicas: make([]string, n), Clients: 1}}
	for i := 0; i < n; i++ {
		id := uint32(i)
		ep := f.net.Endpoint(keys.Replica(id), func(from keys.Principal, frame []byte) {
			var r wire.Request
			if err := wire.DecodeRequest(frame, &r); err != nil {
				t.Errorf("replica %d: bad request frame: %v", id, err)
				return
			}
			f.received <- received{id, r}
		})
		f.eps = append(f.eps, ep)
	}
	t.Cleanup(func() {
		for _, ep := range f.eps {
			ep.Close()
		}
	})
	return f
}

// reply hands the client replica's answer to request seq, authenticated by
// that replica. It calls the client's delivery path directly, so the reply
// has been processed when reply returns.
func (f *fakeCluster) reply(c *Client, replica uint32, seq, view uint64, result string) {
	f.replySession(c, replica, c.cfg.Session, seq, view, result)
}

// replySession is reply for a request of the given client session.
func (f *fakeCluster) replySession(c *Client, replica uint32, session, seq, view uint64, result string) {
	buf := wire.AppendReply(nil, &wire.Reply{Replica: replica, Client: 0, Session: session, Seq: seq, View: view, Result: []byte(result)})
	auth, err := f.auth[keys.Replica(replica)].SignFor(nil, wire.SignedBytes(buf), keys.Client(0))
	if err != nil {
		f.t.Fatal(err)
	}
	c.deliver(keys.Replica(replica), wire.Seal(buf, auth))
}

func (f *fakeCluster) client(timeout, giveUp time.Duration) *Client {
	f.t.Helper()
	c, err := New(context.Background(), Config{
		Cluster: f.cfg, ID: 0, Auth: f.auth[keys.Client(0)], Timeout: timeout, GiveUp: giveUp,
		Transport: func(h transport.Handler) (transport.Transport, error) {
			return f.net.Endpoint(keys.Client(0), h), nil
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

type outcome struct {
	res string
	err error
}

func invoke(c *Client, payload string) (uint64, <-chan outcome) {
	ch := make(chan outcome, 1)
	seq := c.InvokeAsync([]byte(payload), func(res []byte, err error) { ch <- outcome{string(res), err} })
	return seq, ch
}

func pending(ch <-chan outcome) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// TestQuorumOfMatchingReplies: with n = 4 (f = 1) a result needs f+1 = 2
// matching replies from distinct replicas; a duplicate or a different
// result does not count toward it.
func TestQuorumOfMatchingReplies(t *testing.T) {
	f := newFakeCluster(t, 4)
	c := f.client(time.Hour, time.Hour)
	seq, done := invoke(c, "op")
	r := <-f.received
	if r.replica != 0 || r.req.Seq != seq || string(r.req.Payload) != "op" {
		t.Fatalf("request went to replica %d as %+v, want replica 0 (primary of view 0)", r.replica, r.req)
	}
	f.reply(c, 0, seq, 0, "good")
	f.reply(c, 0, seq, 0, "good") // a duplicate from the same replica
	f.reply(c, 1, seq, 0, "evil") // a faulty replica's different result
	if !pending(done) {
		t.Fatal("completed without f+1 matching replies")
	}
	f.reply(c, 2, seq, 0, "good")
	if o := <-done; o.err != nil || o.res != "good" {
		t.Fatalf("got %+v, want the quorum's result", o)
	}
}

// TestRepliesOfAnotherSession: replies for the same request number of an
// earlier client process with this ID are not this client's; a client's
// requests carry its own session.
func TestRepliesOfAnotherSession(t *testing.T) {
	f := newFakeCluster(t, 4)
	c := f.client(time.Hour, time.Hour)
	seq, done := invoke(c, "mine")
	r := <-f.received
	if r.req.Session != c.cfg.Session || r.req.Session == 0 {
		t.Fatalf("request session %d, want the client's own %d (non-zero)", r.req.Session, c.cfg.Session)
	}
	for replica := uint32(0); replica < 4; replica++ {
		f.replySession(c, replica, c.cfg.Session-1, seq, 0, "an earlier process's result")
	}
	if !pending(done) {
		t.Fatal("completed by replies to an earlier session")
	}
	f.reply(c, 0, seq, 0, "mine")
	f.reply(c, 1, seq, 0, "mine")
	if o := <-done; o.err != nil || o.res != "mine" {
		t.Fatalf("got %+v, want this session's result", o)
	}
	later := f.client(time.Hour, time.Hour)
	if later.cfg.Session <= c.cfg.Session {
		t.Fatalf("a client made later has session %d, not after %d", later.cfg.Session, c.cfg.Session)
	}
}

// TestLearnsPrimaryFromView: after a reply from view 5, requests go to
// replica 5 mod n.
func TestLearnsPrimaryFromView(t *testing.T) {
	f := newFakeCluster(t, 4)
	c := f.client(time.Hour, time.Hour)
	seq, done := invoke(c, "a")
	<-f.received
	f.reply(c, 2, seq, 5, "x")
	f.reply(c, 3, seq, 5, "x")
	<-done
	invoke(c, "b")
	if r := <-f.received; r.replica != 1 {
		t.Fatalf("second request went to replica %d, want 1 (primary of view 5)", r.replica)
	}
}

// TestRetransmitsToAll: a request without replies is sent again, flagged as
// a retransmission, to every replica; replies to it complete the call.
func TestRetransmitsToAll(t *testing.T) {
	f := newFakeCluster(t, 4)
	c := f.client(20*time.Millisecond, time.Hour)
	seq, done := invoke(c, "op")
	if r := <-f.received; r.replica != 0 || r.req.Flags&wire.FlagRetransmit != 0 {
		t.Fatalf("first send %+v to replica %d", r.req, r.replica)
	}
	seen := map[uint32]bool{}
	for len(seen) < 4 {
		r := <-f.received
		if r.req.Seq != seq || r.req.Flags&wire.FlagRetransmit == 0 || string(r.req.Payload) != "op" {
			t.Fatalf("retransmission %+v is not the flagged original", r.req)
		}
		seen[r.replica] = true
	}
	f.reply(c, 1, seq, 0, "ok")
	f.reply(c, 3, seq, 0, "ok")
	if o := <-done; o.err != nil || o.res != "ok" {
		t.Fatalf("got %+v", o)
	}
	if s := c.Stats(); s.Retransmits == 0 || s.Completed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGivesUp: a request nobody answers fails with ErrGaveUp.
func TestGivesUp(t *testing.T) {
	f := newFakeCluster(t, 1)
	c := f.client(10*time.Millisecond, 50*time.Millisecond)
	_, done := invoke(c, "op")
	if o := <-done; !errors.Is(o.err, ErrGaveUp) {
		t.Fatalf("got %+v, want ErrGaveUp", o)
	}
}

// TestRejectsBadReplies: replies with a bad authenticator, from the wrong
// replica or for another client are counted and ignored.
func TestRejectsBadReplies(t *testing.T) {
	f := newFakeCluster(t, 1)
	c := f.client(time.Hour, time.Hour)
	seq, done := invoke(c, "op")
	<-f.received
	good := wire.AppendReply(nil, &wire.Reply{Replica: 0, Client: 0, Session: c.cfg.Session, Seq: seq, Result: []byte("r")})
	auth, _ := f.auth[keys.Replica(0)].SignFor(nil, wire.SignedBytes(good), keys.Client(0))
	forged := wire.Seal(append([]byte(nil), good...), make([]byte, len(auth)))
	c.deliver(keys.Replica(0), forged)                                       // bad MAC
	c.deliver(keys.Replica(0), []byte{0, 0, 0, 9, 1, 0x11, 1})               // truncated
	c.deliver(keys.Client(3), wire.Seal(append([]byte(nil), good...), auth)) // not from a replica
	if !pending(done) {
		t.Fatal("a bad reply completed the request")
	}
	if s := c.Stats(); s.BadReplies != 3 {
		t.Fatalf("BadReplies = %d, want 3", s.BadReplies)
	}
	c.deliver(keys.Replica(0), wire.Seal(good, auth))
	if o := <-done; o.err != nil || o.res != "r" {
		t.Fatalf("got %+v", o)
	}
}

// TestSyncInvokeAndClose: Invoke returns the result; Close fails what is
// outstanding with ErrClosed.
func TestSyncInvokeAndClose(t *testing.T) {
	f := newFakeCluster(t, 1)
	c := f.client(time.Hour, time.Hour)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := <-f.received
		f.reply(c, 0, r.req.Seq, 0, "sync")
	}()
	res, err := c.Invoke(context.Background(), []byte("q"))
	wg.Wait()
	if err != nil || string(res) != "sync" {
		t.Fatalf("Invoke = %q, %v", res, err)
	}
	_, done := invoke(c, "never answered")
	c.Close()
	if o := <-done; !errors.Is(o.err, ErrClosed) {
		t.Fatalf("got %+v, want ErrClosed", o)
	}
}
