package msgdump

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// fuzzSeeds are inputs of every format msgdump reads.
func fuzzSeeds(f *testing.F) [][]byte {
	k := fixedKeys(f, keys.HMAC)
	req := k.request(f, 1, 7, wire.FlagReadOnly, "hello")
	h, c, p := k.handshake(f, keys.Client(1), keys.Replica(0))
	raw := slices.Concat(h, c, p, req, k.reply(f, 0, 1, 7, 3, "world"))
	capture := captureFile(f, keys.Client(1), Record{at(0), Sent, keys.Replica(0), req}, Record{at(1), Received, keys.Replica(0), k.reply(f, 0, 1, 7, 3, "x")})
	conns := twoConnections(f, k, 1)
	pkts := interleave(conns)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(capture)
	zw.Close()
	return [][]byte{
		req, raw, capture, gz.Bytes(),
		pcapFile(f, linkEthernet, false, pkts[:12]),
		pcapFile(f, linkSLL2, true, pkts[:8]),
		pcapngFile(f, binary.LittleEndian, linkEthernet, pkts[:10]),
		pcapngFile(f, binary.BigEndian, linkRaw, pkts[:6]),
		{}, []byte(CaptureMagic), {0xa1, 0xb2, 0xc3, 0xd4}, {0x0a, 0x0d, 0x0d, 0x0a},
	}
}

// FuzzDecode feeds arbitrary bytes to the frame decoder: it must not
// panic, and a request it accepts must be the one encoding of its fields.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f)[:2] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m := decode(frame)
		if m.size != len(frame) {
			t.Fatalf("size %d for a frame of %d bytes", m.size, len(frame))
		}
		if m.err == nil && m.req != nil {
			r := m.req
			again := wire.Seal(wire.AppendRequest(nil, r), r.Auth)
			if !bytes.Equal(again, frame) {
				t.Fatalf("request %+v re-encodes as %x, not %x", r, again, frame)
			}
		}
		// Output of a frame, good or bad, never fails.
		d := New(&bytes.Buffer{}, Options{Preview: 8, Verifier: fuzzVerifier})
		d.frame(frame2(frame))
		d.opt.JSON = true
		d.frame(frame2(frame))
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func frame2(b []byte) frame { return frame{off: 3, time: t0, conn: "a:1>b:2", bytes: b} }

var fuzzVerifier = func() keys.Verifier {
	a, err := keys.NewNoneAuthenticator(keys.Replica(0), 4, 4)
	if err != nil {
		panic(err)
	}
	return a
}()

// FuzzDump feeds arbitrary input to a Dumper in every output mode: it must
// not panic or fail (the input is in memory, so nothing can fail to be
// read), JSON output must be valid JSON lines, and the counts must agree.
func FuzzDump(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []Options{
			{Preview: 16, Verifier: fuzzVerifier},
			{JSON: true, Preview: 4},
			{Stats: true, Verifier: fuzzVerifier},
			{Stats: true, JSON: true, Clients: []uint32{1}},
		} {
			var out bytes.Buffer
			d := New(&out, opt)
			if err := d.Dump("fuzz", bytes.NewReader(data)); err != nil {
				t.Fatalf("Dump: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s := d.Summary()
			if s.Shown > s.Frames || s.Verified+s.BadAuth > s.Shown {
				t.Fatalf("inconsistent summary %+v", s)
			}
			if opt.JSON {
				sc := bufio.NewScanner(&out)
				sc.Buffer(nil, 64<<20)
				for sc.Scan() {
					if !json.Valid(sc.Bytes()) {
						t.Fatalf("invalid JSON line %q", sc.Bytes())
					}
				}
			}
		}
	})
}

// FuzzFramerChunks checks that how a stream arrives does not change what
// is found in it: pushed in three pieces or whole, the same frames and
// problems at the same offsets.
func FuzzFramerChunks(f *testing.F) {
	for _, s := range fuzzSeeds(f)[:2] {
		f.Add(s, uint16(3), uint16(40))
	}
	f.Add([]byte("\x00\x00\x00\x02\x01\x10junk\x00\x00\x00\x02\x01\x01"), uint16(1), uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		whole := cutStream(data)
		if got := cutStream(data, int(a), int(b)); !slices.Equal(got, whole) {
			t.Fatalf("in chunks %d, %d: %q\nwhole: %q", a, b, got, whole)
		}
	})
}
