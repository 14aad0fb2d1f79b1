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
	s.Record(7, 2, []byte("two")) // 1 is still outstanding
	if s.Low(7) != 0 {
		t.Fatalf("low %d before request 1 executed, want 0", s.Low(7))
	}
	if res, done, _ := s.Lookup(7, 2); !done || string(res) != "two" {
		t.Fatalf("request 2: %q %v", res, done)
	}
	s.Record(7, 1, []byte("one"))
	if s.Low(7) != 2 {
		t.Fatalf("low %d after the gap filled, want 2", s.Low(7))
	}
	if _, done, old := s.Lookup(7, 1); done || !old {
		t.Fatalf("request 1 below low: done %v old %v, want old", done, old)
	}
	if res, done, _ := s.Lookup(7, 2); !done || string(res) != "two" {
		t.Fatalf("request 2 at low: %q %v", res, done)
	}
	if _, done, old := s.Lookup(7, 3); done || old {
		t.Fatal("request 3 reported executed")
	}
	s.Record(9, 5, []byte("x"))
	snap := s.AppendTo([]byte("prefix"))
	var r Sessions
	rest, err := r.Decode(append(snap[len("prefix"):], "app"...))
	if err != nil || string(rest) != "app" {
		t.Fatalf("decode: %v, rest %q", err, rest)
	}
	if !bytes.Equal(r.AppendTo(nil), s.AppendTo(nil)) {
		t.Fatal("restored table encodes differently")
	}
	if _, err := r.Decode(snap[len("prefix") : len(snap)-3]); err == nil {
		t.Fatal("a truncated table decoded")
	}
}
