package wire

import "testing"

// The benchmarks use the reference point of the Themis measurements: a
// 100-byte payload with a 64-byte authenticator (an Ed25519 signature).

func benchRequest() *Request {
	return &Request{Client: 7, Seq: 42, Payload: pattern(100, 1), Auth: pattern(64, 2)}
}

func benchReply() *Reply {
	return &Reply{Replica: 1, Client: 7, Seq: 42, View: 3, Result: pattern(100, 1), Auth: pattern(64, 2)}
}

func BenchmarkAppendRequest(b *testing.B) {
	r := benchRequest()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(sealedRequest(r))))
	for b.Loop() {
		buf = Seal(AppendRequest(buf[:0], r), r.Auth)
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	frame := sealedRequest(benchRequest())
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := DecodeRequest(frame, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	frame := sealedRequest(benchRequest())
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, _, _, err := Open(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendReply(b *testing.B) {
	r := benchReply()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(sealedReply(r))))
	for b.Loop() {
		buf = Seal(AppendReply(buf[:0], r), r.Auth)
	}
}

func BenchmarkDecodeReply(b *testing.B) {
	frame := sealedReply(benchReply())
	var r Reply
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := DecodeReply(frame, &r); err != nil {
			b.Fatal(err)
		}
	}
}
