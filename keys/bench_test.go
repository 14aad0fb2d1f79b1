package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// Benchmarks use the default key sizes and a 4-replica deployment (f = 1), so
// the hmac vector has 4 slots; the message is a 100-byte request.

func benchPair(b *testing.B, scheme Scheme) (signer, verifier Authenticator) {
	b.Helper()
	auths, err := GenerateInMemory(scheme, 4, 1)
	if err != nil {
		b.Fatal(err)
	}
	return auths[Replica(0)], auths[Replica(1)]
}

func BenchmarkSign(b *testing.B) {
	msg := make([]byte, 100)
	for _, scheme := range Schemes() {
		signer, _ := benchPair(b, scheme)
		b.Run(string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, signer.MaxSize())
			for b.Loop() {
				var err error
				if buf, err = signer.Sign(buf[:0], msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSignFor(b *testing.B) {
	msg := make([]byte, 100)
	for _, scheme := range Schemes() {
		signer, _ := benchPair(b, scheme)
		b.Run(string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, signer.MaxSize())
			for b.Loop() {
				var err error
				if buf, err = signer.SignFor(buf[:0], msg, Replica(1)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	msg := make([]byte, 100)
	for _, scheme := range Schemes() {
		signer, verifier := benchPair(b, scheme)
		sig, err := signer.Sign(nil, msg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := verifier.Verify(Replica(0), msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHMACState compares the pooled keyed state macKey uses with
// keying a fresh hmac per MAC, the choice recorded in hmac.go.
func BenchmarkHMACState(b *testing.B) {
	msg := make([]byte, 100)
	secret := make([]byte, secretSize)
	b.Run("pool", func(b *testing.B) {
		b.ReportAllocs()
		k := newMACKey(secret)
		var out [MACSize]byte
		for b.Loop() {
			k.mac(out[:], msg)
		}
	})
	b.Run("new-per-call", func(b *testing.B) {
		b.ReportAllocs()
		var sum [sha256.Size]byte
		for b.Loop() {
			h := hmac.New(sha256.New, secret)
			h.Write(msg)
			h.Sum(sum[:0])
		}
	})
}
