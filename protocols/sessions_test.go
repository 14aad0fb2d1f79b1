package protocols

import (
	"bytes"
	"testing"
)

// TestSessions: requests executed out of order are remembered until the
// gap fills; retransmissions find their result; a snapshot restores the
// table exactly and a damaged one is refused.
func TestSessions(t *testing.T) {
	var s Sessions
	s.Init()
	id := func(seq uint64) RequestID { return RequestID{Client: 7, Session: 1, Seq: seq} }
	s.Record(id(2), []byte("two")) // 1 is still outstanding
	if s.Low(id(2)) != 0 {
		t.Fatalf("low %d before request 1 executed, want 0", s.Low(id(2)))
	}
	if res, done, _ := s.Lookup(id(2)); !done || string(res) != "two" {
		t.Fatalf("request 2: %q %v", res, done)
	}
	s.Record(id(1), []byte("one"))
	if s.Low(id(1)) != 2 {
		t.Fatalf("low %d after the gap filled, want 2", s.Low(id(1)))
	}
	if _, done, old := s.Lookup(id(1)); done || !old {
		t.Fatalf("request 1 below low: done %v old %v, want old", done, old)
	}
	if res, done, _ := s.Lookup(id(2)); !done || string(res) != "two" {
		t.Fatalf("request 2 at low: %q %v", res, done)
	}
	if _, done, old := s.Lookup(id(3)); done || old {
		t.Fatal("request 3 reported executed")
	}
	s.Record(RequestID{Client: 9, Session: 4, Seq: 5}, []byte("x"))
	snap := s.AppendTo([]byte("prefix"))
	var r Sessions
	rest, err := r.Decode(append(snap[len("prefix"):], "app"...))
	if err != nil || string(rest) != "app" {
		t.Fatalf("decode: %v, rest %q", err, rest)
	}
	if !bytes.Equal(r.AppendTo(nil), s.AppendTo(nil)) {
		t.Fatal("restored table encodes differently")
	}
	if res, done, _ := r.Lookup(RequestID{Client: 9, Session: 4, Seq: 5}); !done || string(res) != "x" {
		t.Fatalf("restored table lost client 9's session: %q %v", res, done)
	}
	if _, err := r.Decode(snap[len("prefix") : len(snap)-3]); err == nil {
		t.Fatal("a truncated table decoded")
	}
}

// TestSessionsOfOneClient: a client process that starts after another of
// the same id numbers its requests from 1 again in a later session. Its
// requests are new, not the earlier session's cached ones; once it has
// executed, the earlier session's requests are old.
func TestSessionsOfOneClient(t *testing.T) {
	var s Sessions
	s.Init()
	first := RequestID{Client: 3, Session: 100, Seq: 1}
	s.Record(first, []byte("hello"))
	second := RequestID{Client: 3, Session: 200, Seq: 1}
	if res, done, old := s.Lookup(second); done || old {
		t.Fatalf("a later session's request 1 found executed (%q, old %v)", res, old)
	}
	if s.Low(second) != 0 {
		t.Fatalf("a new session's low is %d, want 0", s.Low(second))
	}
	s.Record(RequestID{Client: 3, Session: 200, Seq: 2}, []byte("out of order"))
	s.Record(second, []byte("world"))
	if res, done, _ := s.Lookup(second); done {
		t.Fatalf("request 1 of the new session still cached as %q below low 2", res)
	}
	if res, done, _ := s.Lookup(RequestID{Client: 3, Session: 200, Seq: 2}); !done || string(res) != "out of order" {
		t.Fatalf("the new session's request 2: %q %v", res, done)
	}
	for _, seq := range []uint64{1, 2, 9} {
		if _, done, old := s.Lookup(RequestID{Client: 3, Session: 100, Seq: seq}); done || !old {
			t.Errorf("request %d of the left session: done %v old %v, want old", seq, done, old)
		}
	}
}
