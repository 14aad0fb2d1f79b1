package app

import (
	"bytes"
	"testing"
)

func TestExecute(t *testing.T) {
	tests := []struct {
		app   string
		reply int
		op    string
		want  []byte
	}{
		{"null", 0, "hello", []byte{}},
		{"null", 3, "hello", []byte{0, 0, 0}},
		{"echo", 0, "hello", []byte("hello")},
		{"echo", 2, "hello", []byte("he")},
		{"echo", 7, "hello", []byte("hello\x00\x00")},
	}
	for _, tt := range tests {
		a, err := New(tt.app, tt.reply)
		if err != nil {
			t.Fatal(err)
		}
		got := a.Execute(nil, []byte(tt.op))
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%s/%d(%q) = %q, want %q", tt.app, tt.reply, tt.op, got, tt.want)
		}
	}
}

func TestSnapshotRestoreDigest(t *testing.T) {
	a, _ := New("echo", 0)
	b, _ := New("echo", 0)
	a.Execute(nil, []byte("x"))
	if a.Digest() == b.Digest() {
		t.Fatal("states after different histories have equal digests")
	}
	if err := b.Restore(a.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if a.Digest() != b.Digest() {
		t.Fatal("restored state differs from its snapshot's source")
	}
	if err := b.Restore([]byte{1}); err == nil {
		t.Fatal("Restore accepted a malformed snapshot")
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New("nope", 0); err == nil {
		t.Error("unknown app accepted")
	}
	if _, err := New("null", -1); err == nil {
		t.Error("negative reply size accepted")
	}
}
