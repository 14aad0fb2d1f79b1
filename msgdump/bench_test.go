package msgdump

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/replbench/replbench/keys"
)

// benchCapture is a client's capture of 10,000 requests and their replies.
func benchCapture(b *testing.B) []byte {
	k := fixedKeys(b, keys.Ed25519)
	var recs []Record
	for i := range 10000 {
		recs = append(recs,
			Record{at(i), Sent, keys.Replica(0), k.request(b, 1, uint64(i+1), 0, "put user:1042 alice")},
			Record{at(i), Received, keys.Replica(uint32(i % 4)), k.reply(b, uint32(i%4), 1, uint64(i+1), 0, "\x02")})
	}
	return captureFile(b, keys.Client(1), recs...)
}

func benchDump(b *testing.B, data []byte, opt Options) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := New(io.Discard, opt)
		if err := d.Dump("bench", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}

func BenchmarkDumpCaptureText(b *testing.B) { benchDump(b, benchCapture(b), Options{Preview: 16}) }
func BenchmarkDumpCaptureJSON(b *testing.B) {
	benchDump(b, benchCapture(b), Options{JSON: true, Preview: 16})
}
func BenchmarkDumpCaptureStats(b *testing.B) {
	benchDump(b, benchCapture(b), Options{Stats: true})
}

func BenchmarkDumpPcap(b *testing.B) {
	k := fixedKeys(b, keys.Ed25519)
	conns := twoConnections(b, k, 200)
	benchDump(b, pcapFile(b, linkEthernet, true, interleave(conns)), Options{Stats: true})
}

// BenchmarkResync measures the worst case: damage everywhere, so that the
// readers look for a frame or a record at every byte.
func BenchmarkResync(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 1<<20)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	b.Run("raw", func(b *testing.B) { benchDump(b, noise, Options{}) })
	capture := append(captureFile(b, keys.Client(0)), noise...)
	b.Run("capture", func(b *testing.B) { benchDump(b, capture, Options{}) })
	headers := make([]byte, 1<<20)
	for i := range headers {
		headers[i] = []byte{0, 0x0f, 0xff, 0xff, 2, 0x10}[i%6] // a plausible header every 6 bytes
	}
	b.Run("false headers", func(b *testing.B) { benchDump(b, headers, Options{}) })
}
