package keys

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"
)

// edKey is an Ed25519 public key decoded once. crypto/ed25519.Verify
// decodes (decompresses) the public key point on every call, about 7% of a
// verification; a replica verifies the same few keys all the time, so the
// point is kept, negated as the verification equation wants it.
type edKey struct {
	raw  [ed25519.PublicKeySize]byte
	negA edwards25519.Point
}

func newEdKey(pub ed25519.PublicKey) (*edKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ed25519 public key of %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	k := &edKey{raw: [ed25519.PublicKeySize]byte(pub)}
	a, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, fmt.Errorf("ed25519 public key: %w", err)
	}
	k.negA.Negate(a)
	return k, nil
}

// verify is crypto/ed25519.Verify (RFC 8032 without the cofactor, exactly
// as the standard library checks it) with the key already decoded: S must
// be canonical, and [S]B - [k]A must encode to R.
func (k *edKey) verify(msg, sig []byte) bool {
	if len(sig) != ed25519.SignatureSize || sig[63]&224 != 0 {
		return false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(k.raw[:])
	h.Write(msg)
	var digest [sha512.Size]byte
	kh, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return false
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(kh, &k.negA, s)
	return bytes.Equal(sig[:32], r.Bytes())
}
