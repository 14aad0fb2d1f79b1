package keys

import (
	"bytes"
	"crypto/ed25519"
	"math/big"
	"testing"
)

// edTestKey is a fixed key, so the fuzz corpus stays meaningful.
var edTestKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// TestEdVerifyMatchesStdlib checks that verifying with a decoded key
// accepts and rejects exactly what crypto/ed25519.Verify does: valid
// signatures, every single-bit change of signature and message, a
// non-canonical S (S + L, which the same equation would otherwise accept),
// wrong lengths.
func TestEdVerifyMatchesStdlib(t *testing.T) {
	pub := edTestKey.Public().(ed25519.PublicKey)
	k, err := newEdKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("a prepare for view 3, sequence 41")
	sig := ed25519.Sign(edTestKey, msg)
	check := func(name string, m, s []byte) {
		t.Helper()
		if got, want := k.verify(m, s), ed25519.Verify(pub, m, s); got != want {
			t.Errorf("%s: verify = %v, crypto/ed25519 says %v", name, got, want)
		}
	}
	check("valid", msg, sig)
	for i := range len(sig) * 8 {
		s := append([]byte(nil), sig...)
		s[i/8] ^= 1 << (i % 8)
		check("signature bit flipped", msg, s)
	}
	for i := range len(msg) * 8 {
		m := append([]byte(nil), msg...)
		m[i/8] ^= 1 << (i % 8)
		check("message bit flipped", m, sig)
	}
	// S + L encodes the same scalar non-canonically.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	sle := make([]byte, 32)
	for i := range sle {
		sle[i] = sig[63-i]
	}
	sPlusL := new(big.Int).Add(new(big.Int).SetBytes(sle), l).FillBytes(make([]byte, 32))
	nonCanonical := append([]byte(nil), sig[:32]...)
	for i := range sPlusL {
		nonCanonical = append(nonCanonical, sPlusL[31-i])
	}
	check("S + L", msg, nonCanonical)
	if k.verify(msg, nonCanonical) {
		t.Error("accepted a non-canonical S")
	}
	check("short", msg, sig[:63])
	check("long", msg, append(sig, 0))
	check("empty", msg, nil)
}

// TestEdVerifySmallOrderKey: crypto/ed25519 accepts a small-order public
// key (here the identity, for which [k]A vanishes and any (encode([S]B), S)
// verifies whatever the message); so must we.
func TestEdVerifySmallOrderKey(t *testing.T) {
	identity := make(ed25519.PublicKey, ed25519.PublicKeySize)
	identity[0] = 1
	k, err := newEdKey(identity)
	if err != nil {
		t.Fatalf("newEdKey(identity): %v", err)
	}
	// S = 1, R = B: the base point's encoding is 0x58 followed by 0x66s.
	sig := make([]byte, ed25519.SignatureSize)
	sig[0] = 0x58
	for i := 1; i < 32; i++ {
		sig[i] = 0x66
	}
	sig[32] = 1
	for _, msg := range [][]byte{nil, []byte("any message at all")} {
		want := ed25519.Verify(identity, msg, sig)
		if !want {
			t.Fatal("crypto/ed25519 no longer accepts the small-order key case; revisit this test")
		}
		if got := k.verify(msg, sig); got != want {
			t.Errorf("verify(%q) = %v, crypto/ed25519 says %v", msg, got, want)
		}
	}
}

// TestEdSignMatchesStdlib: Ed25519 is deterministic, so edSign must give
// crypto/ed25519's signature byte for byte, for every message length
// around the SHA-512 block boundaries and for several keys.
func TestEdSignMatchesStdlib(t *testing.T) {
	for seed := range byte(4) {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
		for n := range 300 {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			prefix := []byte("dst")
			got := edSign(prefix, priv, msg)
			want := ed25519.Sign(priv, msg)
			if !bytes.Equal(got[:3], []byte("dst")) || !bytes.Equal(got[3:], want) {
				t.Fatalf("key %d, %d-byte message: edSign = %x, crypto/ed25519 = %x", seed, n, got, want)
			}
		}
	}
}

func TestNewEdKeyRejectsBadKeys(t *testing.T) {
	bad := make([]byte, 32)
	bad[0] = 2 // y = 2 is not on the curve
	if _, err := newEdKey(bad); err == nil {
		t.Error("accepted a public key that is not a curve point")
	}
	if _, err := newEdKey(make([]byte, 31)); err == nil {
		t.Error("accepted a 31-byte public key")
	}
}

// FuzzEdVerify compares verification with a decoded key against
// crypto/ed25519 on arbitrary messages and signatures.
func FuzzEdVerify(f *testing.F) {
	msg := []byte("seed message")
	f.Add(msg, ed25519.Sign(edTestKey, msg))
	f.Add([]byte{}, make([]byte, 64))
	pub := edTestKey.Public().(ed25519.PublicKey)
	k, err := newEdKey(pub)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, m, s []byte) {
		if got, want := k.verify(m, s), ed25519.Verify(pub, m, s); got != want {
			t.Fatalf("verify(%x, %x) = %v, crypto/ed25519 says %v", m, s, got, want)
		}
	})
}

// FuzzEdSign compares edSign with crypto/ed25519.Sign on arbitrary seeds
// and messages.
func FuzzEdSign(f *testing.F) {
	f.Add(make([]byte, ed25519.SeedSize), []byte("seed message"))
	f.Fuzz(func(t *testing.T, seed, msg []byte) {
		if len(seed) != ed25519.SeedSize {
			return
		}
		priv := ed25519.NewKeyFromSeed(seed)
		if got, want := edSign(nil, priv, msg), ed25519.Sign(priv, msg); !bytes.Equal(got, want) {
			t.Fatalf("edSign(%x, %x) = %x, crypto/ed25519 says %x", seed, msg, got, want)
		}
	})
}
