package app

import (
	"bytes"
	"strings"
	"testing"
)

// TestParseKVText: text operations encode as the kv app's operations, and
// a store executing them answers what DescribeKVResult renders.
func TestParseKVText(t *testing.T) {
	kv := NewKV()
	steps := []struct{ op, want string }{
		{"get user:1042", "not found"},
		{"put user:1042 alice", "ok"},
		{"get user:1042", "ok alice"},
		{"  PUT   user:1042   alice smith", "ok"},
		{"get user:1042", "ok alice smith"},
		{"put empty", "ok"},
		{"get empty", `ok ""`},
		{"put tab a\tb", "ok"},
		{"get tab", `ok "a\tb"`},
		{"delete user:1042", "ok"},
		{"del user:1042", "not found"},
	}
	for _, s := range steps {
		op, err := ParseKVText(s.op)
		if err != nil {
			t.Fatalf("%q: %v", s.op, err)
		}
		if got := DescribeKVResult(op, kv.Execute(nil, op)); got != s.want {
			t.Errorf("%q: got %q, want %q", s.op, got, s.want)
		}
	}
	if op, _ := ParseKVText("put user:1042 alice"); !bytes.Equal(op, AppendPut(nil, []byte("user:1042"), []byte("alice"))) {
		t.Errorf("put encodes as %x", op)
	}
	raw := []byte("put user:1042 alice")
	if got := DescribeKVResult(raw, kv.Execute(nil, raw)); got != "malformed operation" {
		t.Errorf("raw text as an operation: %q, want malformed", got)
	}
}

func TestParseKVTextRejects(t *testing.T) {
	for _, tc := range []struct{ op, want string }{
		{"", "empty kv operation"},
		{"   ", "empty kv operation"},
		{"get", "has no key: want 'get KEY'"},
		{"put", "has no key: want 'put KEY VALUE'"},
		{"get a b", "get takes only a key"},
		{"delete a b", "delete takes only a key"},
		{"scan a", `unknown kv operation "scan"`},
	} {
		_, err := ParseKVText(tc.op)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want one containing %q", tc.op, err, tc.want)
		}
	}
}

// FuzzKVText: any text either is refused or encodes an operation the store
// accepts, and any result renders without panicking.
func FuzzKVText(f *testing.F) {
	for _, s := range []string{"get a", "put a b c", "delete a", "del", "put \x00 \xff", ""} {
		f.Add(s, []byte{StatusOK, 'v'})
	}
	f.Fuzz(func(t *testing.T, text string, res []byte) {
		op, err := ParseKVText(text)
		if err == nil {
			if r := NewKV().Execute(nil, op); len(r) == 0 || r[0] == StatusBadOp {
				t.Fatalf("%q encodes as %x, which the store calls malformed", text, op)
			}
		}
		_ = DescribeKVResult(op, res)
		_ = DescribeKVResult([]byte(text), res)
	})
}
