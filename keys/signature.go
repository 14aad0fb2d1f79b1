package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownPrincipal is wrapped by Verify (together with ErrBadAuth) when it
// holds no key for the sender, and by SignFor when it holds none for the receiver.
var ErrUnknownPrincipal = errors.New("unknown principal")

// ecdsaP256MaxSig bounds an ASN.1 ECDSA P-256 signature: a SEQUENCE of two
// INTEGERs of at most 33 bytes each (32 plus a zero when the top bit is set).
const ecdsaP256MaxSig = 2 + 2*(2+33)

// sigAuth serves the three signature schemes. It is immutable after
// construction, which is what makes it safe for concurrent use.
type sigAuth struct {
	scheme   Scheme
	self     Principal
	priv     crypto.Signer
	replicas []crypto.PublicKey // index = replica id; nil = unknown
	clients  []crypto.PublicKey // index = client id; nil = unknown
	maxSize  int
	// ed holds the Ed25519 keys decoded once, by principal like replicas
	// and clients (replicas first); nil entries for unknown clients.
	ed []*edKey
}

var _ Authenticator = (*sigAuth)(nil)

// NewSignatureAuthenticator builds an rsa, ecdsa or ed25519 authenticator for
// self from its private key and the public keys of the others; the scheme
// follows from the key type, and every key must be of that type. Every
// replica's key is required; a nil client key marks a client self will not
// hear from (clients do not verify each other). Self's own slot may be nil.
func NewSignatureAuthenticator(self Principal, priv crypto.Signer, replicaKeys, clientKeys []crypto.PublicKey) (Authenticator, error) {
	if priv == nil {
		return nil, errors.New("signature authenticator: no private key")
	}
	scheme, err := keyScheme(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("signature authenticator for %s: %w", self, err)
	}
	a := &sigAuth{
		scheme:   scheme,
		self:     self,
		priv:     priv,
		replicas: slices.Clone(replicaKeys),
		clients:  slices.Clone(clientKeys),
	}
	if !inRange(self, len(a.replicas), len(a.clients)) {
		return nil, fmt.Errorf("%s authenticator: %s is not among %d replicas and %d clients",
			scheme, self, len(a.replicas), len(a.clients))
	}
	own := a.slot(self)
	if *own == nil {
		*own = priv.Public()
	} else if eq, ok := (*own).(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(priv.Public()) {
		return nil, fmt.Errorf("%s authenticator: the public key given for %s does not match its private key", scheme, self)
	}
	for _, p := range principals(len(a.replicas), len(a.clients)) {
		pub := *a.slot(p)
		if pub == nil {
			if p.Role == RoleReplica {
				return nil, fmt.Errorf("%s authenticator for %s: no public key for %s", scheme, self, p)
			}
			continue
		}
		s, err := keyScheme(pub)
		if err != nil {
			return nil, fmt.Errorf("%s authenticator for %s: key of %s: %w", scheme, self, p, err)
		}
		if s != scheme {
			return nil, fmt.Errorf("%s authenticator for %s: key of %s is %s, want %s", scheme, self, p, s, scheme)
		}
	}
	switch scheme {
	case RSA:
		a.maxSize = priv.Public().(*rsa.PublicKey).Size()
	case ECDSA:
		a.maxSize = ecdsaP256MaxSig
	case Ed25519:
		a.maxSize = ed25519.SignatureSize
	}
	if err := a.decodeKeys(); err != nil {
		return nil, fmt.Errorf("%s authenticator for %s: %w", scheme, self, err)
	}
	return a, nil
}

// decodeKeys decodes the Ed25519 public keys once, for Verify.
func (a *sigAuth) decodeKeys() error {
	if a.scheme != Ed25519 {
		return nil
	}
	a.ed = make([]*edKey, len(a.replicas)+len(a.clients))
	for i, pub := range append(slices.Clone(a.replicas), a.clients...) {
		if pub == nil {
			continue
		}
		var err error
		if a.ed[i], err = newEdKey(pub.(ed25519.PublicKey)); err != nil {
			return err
		}
	}
	return nil
}

// slot points at p's public key entry; p must be in range.
func (a *sigAuth) slot(p Principal) *crypto.PublicKey {
	if p.Role == RoleReplica {
		return &a.replicas[p.ID]
	}
	return &a.clients[p.ID]
}

func (a *sigAuth) key(p Principal) crypto.PublicKey {
	if !inRange(p, len(a.replicas), len(a.clients)) {
		return nil
	}
	return *a.slot(p)
}

func (a *sigAuth) Scheme() Scheme  { return a.scheme }
func (a *sigAuth) Self() Principal { return a.self }
func (a *sigAuth) MaxSize() int    { return a.maxSize }

// Sign goes through crypto.Signer rather than the concrete key types, so a
// key held elsewhere (an HSM, an agent) works as well as an in-memory one;
// only an in-memory Ed25519 key takes the faster edSign.
func (a *sigAuth) Sign(dst, msg []byte) ([]byte, error) {
	var (
		sig []byte
		err error
	)
	switch a.scheme {
	case Ed25519:
		if k, ok := a.priv.(ed25519.PrivateKey); ok && len(k) == ed25519.PrivateKeySize {
			return edSign(dst, k, msg), nil
		}
		sig, err = a.priv.Sign(rand.Reader, msg, crypto.Hash(0))
	case RSA, ECDSA: // the key type picks PKCS#1 v1.5 or ASN.1 ECDSA
		h := sha256.Sum256(msg)
		sig, err = a.priv.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	if err != nil {
		return dst, fmt.Errorf("%s sign as %s: %w", a.scheme, a.self, err)
	}
	return append(dst, sig...), nil
}

// SignFor is Sign: a signature convinces every receiver alike.
func (a *sigAuth) SignFor(dst, msg []byte, _ Principal) ([]byte, error) {
	return a.Sign(dst, msg)
}

func (a *sigAuth) Verify(from Principal, msg, auth []byte) error {
	var ok bool
	switch pub := a.key(from).(type) {
	case nil:
		return unknownSender(a.scheme, from)
	case ed25519.PublicKey:
		i := int(from.ID)
		if from.Role == RoleClient {
			i += len(a.replicas)
		}
		ok = a.ed[i].verify(msg, auth)
	case *rsa.PublicKey:
		h := sha256.Sum256(msg)
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], auth) == nil
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		ok = ecdsa.VerifyASN1(pub, h[:], auth)
	}
	if !ok {
		return badAuth(a.scheme, from, "")
	}
	return nil
}

// keyScheme names the scheme a public key belongs to, refusing what
// replbench does not measure (other curves, X25519, DSA).
func keyScheme(pub crypto.PublicKey) (Scheme, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return RSA, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("ecdsa key on curve %s, but the ecdsa scheme uses P-256", k.Curve.Params().Name)
		}
		return ECDSA, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("ed25519 public key of %d bytes, want %d", len(k), ed25519.PublicKeySize)
		}
		return Ed25519, nil
	}
	return "", fmt.Errorf("unsupported key type %T (want rsa, ecdsa P-256 or ed25519)", pub)
}

func unknownSender(s Scheme, from Principal) error {
	return fmt.Errorf("verify %s auth from %s: %w (%w)", s, from, ErrUnknownPrincipal, ErrBadAuth)
}

func badAuth(s Scheme, from Principal, detail string) error {
	if detail != "" {
		return fmt.Errorf("verify %s auth from %s: %s: %w", s, from, detail, ErrBadAuth)
	}
	return fmt.Errorf("verify %s auth from %s: %w", s, from, ErrBadAuth)
}
