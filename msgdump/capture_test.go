package msgdump

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

func TestCaptureRoundTrip(t *testing.T) {
	k := fixedKeys(t, keys.None)
	recs := []Record{
		{at(0), Sent, keys.Replica(0), k.request(t, 2, 1, 0, "a")},
		{at(5), Received, keys.Replica(3), k.reply(t, 3, 2, 1, 7, "b")},
		{at(9), Sent, keys.Replica(1), []byte{1, 2, 3}}, // captured as given, even when it is no frame
	}
	data := captureFile(t, keys.Client(2), recs...)
	c, err := NewCaptureReader(bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := CaptureHeader{Self: keys.Client(2), Start: t0, Tool: "replbench test", WireVersion: wire.Version}
	if c.Header != want {
		t.Errorf("header %+v, want %+v", c.Header, want)
	}
	off := int64(captureHeaderSize + len("replbench test"))
	for i, w := range recs {
		r, at, err := c.Next()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !r.Time.Equal(w.Time) || r.Dir != w.Dir || r.Peer != w.Peer || !bytes.Equal(r.Frame, w.Frame) || at != off {
			t.Errorf("record %d at %d = %+v, want %+v at %d", i, at, r, w, off)
		}
		off += int64(recordHeaderSize + len(w.Frame))
	}
	if _, _, err := c.Next(); err != io.EOF {
		t.Errorf("after the last record: %v, want io.EOF", err)
	}
}

// TestCaptureConcurrentWriters checks that records written from many
// goroutines at once come back whole: the writer is shared by a client's
// or replica's goroutines.
func TestCaptureConcurrentWriters(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	var buf bytes.Buffer
	w, err := NewCaptureWriter(&buf, CaptureHeader{Self: keys.Replica(0)})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 200
	frames := make([][]byte, writers)
	for i := range frames {
		frames[i] = k.request(t, uint32(i%testClients), uint64(i), 0, strings.Repeat("x", 1000*i))
	}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				w.Received(keys.Client(uint32(i%testClients)), frames[i])
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Frames() != writers*each {
		t.Errorf("Frames() = %d, want %d", w.Frames(), writers*each)
	}
	c, err := NewCaptureReader(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]int)
	var last time.Time
	for {
		r, _, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var req wire.Request
		if err := wire.DecodeRequest(r.Frame, &req); err != nil || !bytes.Equal(r.Frame, frames[req.Seq]) {
			t.Fatalf("record holds a damaged frame (%v)", err)
		}
		if r.Time.Before(last) {
			t.Errorf("records out of time order: %v after %v", r.Time, last)
		}
		last = r.Time
		seen[int(req.Seq)]++
	}
	for i := range writers {
		if seen[i] != each {
			t.Errorf("writer %d: %d records, want %d", i, seen[i], each)
		}
	}
}

func TestCaptureWriterErrors(t *testing.T) {
	if _, err := NewCaptureWriter(io.Discard, CaptureHeader{}); err == nil {
		t.Error("a capture header without a principal was accepted")
	}
	if _, err := NewCaptureWriter(io.Discard, CaptureHeader{Self: keys.Client(0), Tool: strings.Repeat("x", 1<<16)}); err == nil {
		t.Error("a tool string of 64 KiB was accepted")
	}
	// A failing writer: the first error sticks, later frames are dropped.
	fw := &failWriter{after: 2}
	w, err := NewCaptureWriter(fw, CaptureHeader{Self: keys.Client(0)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5000 {
		w.Sent(keys.Replica(0), make([]byte, 64))
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close: %v, want the write error", err)
	}
	if w.Frames() >= 5000 {
		t.Errorf("all frames counted as written despite the failure")
	}
	// Close is idempotent; writing after it is refused.
	var buf bytes.Buffer
	w, _ = NewCaptureWriter(&buf, CaptureHeader{Self: keys.Client(0)})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(Record{Time: t0, Dir: Sent, Peer: keys.Replica(0), Frame: []byte{1}}); err == nil {
		t.Error("Write after Close succeeded")
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestCreateCapture(t *testing.T) {
	path := CaptureFile(t.TempDir(), keys.Client(3))
	if filepath.Base(path) != "client-3.rbcap" {
		t.Errorf("CaptureFile named %s", path)
	}
	w, err := CreateCapture(path, CaptureHeader{Self: keys.Client(3), Start: t0})
	if err != nil {
		t.Fatal(err)
	}
	w.Sent(keys.Replica(1), []byte{0, 0, 0, 2, wire.Version, 0x10})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(CaptureMagic)) || len(data) != captureHeaderSize+recordHeaderSize+6 {
		t.Errorf("capture file of %d bytes: %q", len(data), data)
	}
	if _, err := CreateCapture(filepath.Join(path, "sub"), CaptureHeader{Self: keys.Client(3)}); err == nil {
		t.Error("CreateCapture under a file succeeded")
	}
}

func TestCaptureHeaderDamage(t *testing.T) {
	good := captureFile(t, keys.Client(0))
	bad := func(off int, b ...byte) []byte {
		d := bytes.Clone(good)
		copy(d[off:], b)
		return d
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"magic only", good[:8], "capture header: truncated (need 26 bytes, have 8)"},
		{"tool cut short", good[:30], "truncated tool string (need 14 bytes, have 4)"},
		{"future version", bad(8, 0, 2), "format version 2, but this reader knows only version 1"},
		{"bad magic", bad(1, 'X'), "bad magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewCaptureReader(bytes.NewReader(tc.data), 0); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewCaptureReader: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Through a Dumper, a bad header is a problem, not a failure.
	out, sum := dump(t, Options{}, namedInput{"c.rbcap", bad(8, 0, 2)})
	if sum.Problems != 1 || !strings.Contains(out, "! c.rbcap: offset 8: capture header: format version 2") {
		t.Errorf("got %+v:\n%s", sum, out)
	}
}

// TestCaptureRecordDamage damages one record of three in every way a
// record can be damaged and checks that the reader reports where, skips
// to the next record and loses nothing else.
func TestCaptureRecordDamage(t *testing.T) {
	k := fixedKeys(t, keys.Ed25519)
	frames := [][]byte{k.request(t, 0, 1, 0, "one"), k.request(t, 0, 2, 0, "two"), k.request(t, 0, 3, 0, "three")}
	var recs []Record
	for i, f := range frames {
		recs = append(recs, Record{at(i), Sent, keys.Replica(0), f})
	}
	good := captureFile(t, keys.Client(0), recs...)
	first := captureHeaderSize + len("replbench test")
	second := first + recordHeaderSize + len(frames[0])
	set := func(off int, b ...byte) []byte {
		d := bytes.Clone(good)
		copy(d[off:], b)
		return d
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		want    string // the one problem
		seqs    []uint64
		badSeqs int // frames that do not decode
	}{
		{"bad direction", set(second+8, 7), fmt.Sprintf("offset %d: bad record: direction 7 (want 1 sent or 2 received); skipped %d bytes to the next record at offset %d",
			second, recordHeaderSize+len(frames[1]), second+recordHeaderSize+len(frames[1])), []uint64{1, 3}, 0},
		{"bad role", set(second+9, 3), "bad record: peer role 3 (want 1 replica or 2 client)", []uint64{1, 3}, 0},
		{"oversized", set(second+14, 0x7f, 0xff, 0xff, 0xff), "bad record: frame length 2147483647 exceeds the limit of 16777220 bytes", []uint64{1, 3}, 0},
		{"garbage inserted", append(good[:second:second], append([]byte("\x00\x01garbage"), good[second:]...)...), "skipped 9 bytes to the next record", []uint64{1, 2, 3}, 0},
		{"truncated", good[:len(good)-10], "truncated record (frame of", []uint64{1, 2}, 0},
		{"truncated header", good[:second+5], "truncated record header (need 18 bytes, have 5)", []uint64{1}, 0},
		// A record whose frame is damaged stays in step: the frame is reported, the rest read.
		{"frame damaged", set(second+recordHeaderSize+4, 9), "unsupported version 9", []uint64{1, 3}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, sum := dump(t, Options{JSON: true}, namedInput{"c", tc.data})
			fs, ps := parseJSON(t, out)
			var seqs []uint64
			bad := 0
			for _, f := range fs {
				if f.Seq != nil {
					seqs = append(seqs, *f.Seq)
				}
				if f.Error != "" {
					bad++
					ps = append(ps, jsonProblem{Offset: &f.Offset, Problem: f.Error})
				}
			}
			if len(ps) != 1 || !strings.Contains(fmt.Sprintf("offset %d: %s", *ps[0].Offset, ps[0].Problem), tc.want) {
				t.Errorf("problems %+v, want one containing %q", ps, tc.want)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.seqs) || bad != tc.badSeqs || sum.Problems != 1 {
				t.Errorf("read requests %v (%d bad), summary %+v; want %v (%d bad) and one problem", seqs, bad, sum, tc.seqs, tc.badSeqs)
			}
		})
	}
}

func TestCaptureRecordTimeDecidesResync(t *testing.T) {
	// After damage, a record whose time lies years from the capture's start
	// is not believed, so resynchronisation goes past it.
	k := fixedKeys(t, keys.None)
	f := k.request(t, 0, 1, 0, "x")
	good := captureFile(t, keys.Client(0), Record{at(0), Sent, keys.Replica(0), f}, Record{t0.Add(3 * 365 * 24 * time.Hour), Sent, keys.Replica(0), f}, Record{at(1), Sent, keys.Replica(0), f})
	first := captureHeaderSize + len("replbench test")
	good[first+8] = 9
	_, sum := dump(t, Options{}, namedInput{"c", good})
	if sum.Frames != 1 || sum.Problems != 1 {
		t.Errorf("summary %+v, want the last record only, after one problem", sum)
	}
}
