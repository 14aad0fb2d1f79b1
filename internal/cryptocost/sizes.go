package cryptocost

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"

	"github.com/replbench/replbench/keys"
)

// hmacSecretSize is the length of the pairwise secrets keys.Generate writes
// (SHA-256's output size); a test checks it against a generated key file.
const hmacSecretSize = 32

// publicKeySize is the length of one public key of scheme in PKIX DER, the
// form keygen writes (inside PEM); for hmac one pairwise secret.
func publicKeySize(scheme keys.Scheme, rsaBits int) (int, error) {
	var pub any
	switch scheme {
	case keys.None:
		return 0, nil
	case keys.HMAC:
		return hmacSecretSize, nil
	case keys.RSA:
		// The encoding's length depends only on the modulus length, so a
		// number of that length stands in for a key that would take a
		// while to generate: 2^(bits-1) + 1 has exactly bits bits.
		n := new(big.Int).SetBit(new(big.Int), rsaBits-1, 1)
		pub = &rsa.PublicKey{N: n.SetBit(n, 0, 1), E: 65537}
	case keys.ECDSA:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return 0, err
		}
		pub = &k.PublicKey
	case keys.Ed25519:
		k, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return 0, err
		}
		pub = k
	default:
		return 0, fmt.Errorf("unknown scheme %q", scheme)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return 0, fmt.Errorf("encode %s public key: %w", scheme, err)
	}
	return len(der), nil
}
