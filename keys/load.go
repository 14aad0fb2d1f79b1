package keys

import (
	"crypto"
	"fmt"
	"path/filepath"
)

// KeyFile is where self's private key (or, for hmac, its secrets) lives in dir.
func KeyFile(dir string, p Principal) string { return filepath.Join(dir, p.String()+".key") }

// PublicKeyFile is where p's public key lives in dir (signature schemes only).
func PublicKeyFile(dir string, p Principal) string { return filepath.Join(dir, p.String()+".pub") }

// Load reads from dir what self needs to run scheme in a deployment of the
// given size: its own private key (or hmac secrets) and the public keys of
// those it hears from, which for a replica is everyone and for a client the
// replicas. Scheme none reads nothing. Private keys may be PKCS#8, SEC 1 or
// PKCS#1 PEM; public keys PKIX or PKCS#1. Private key files must be 0600.
func Load(scheme Scheme, dir string, self Principal, replicas, clients int) (Authenticator, error) {
	if _, err := ParseScheme(string(scheme)); err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	if err := checkSelf(self, replicas, clients); err != nil {
		return nil, fmt.Errorf("load %s keys: %w", scheme, err)
	}
	switch scheme {
	case None:
		return NewNoneAuthenticator(self, replicas, clients)
	case HMAC:
		return loadHMAC(dir, self, replicas, clients)
	}
	return loadSignature(scheme, dir, self, replicas, clients)
}

func loadSignature(scheme Scheme, dir string, self Principal, replicas, clients int) (Authenticator, error) {
	keyPath := KeyFile(dir, self)
	priv, err := readPrivateKey(keyPath, scheme)
	if err != nil {
		return nil, err
	}
	replicaKeys := make([]crypto.PublicKey, replicas)
	clientKeys := make([]crypto.PublicKey, clients)
	for _, p := range principals(replicas, clients) {
		if p != self && !needs(self, p) {
			continue
		}
		path := PublicKeyFile(dir, p)
		pub, err := readPublicKey(path, scheme)
		if err != nil {
			return nil, err
		}
		if p == self {
			if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(priv.Public()) {
				return nil, fmt.Errorf("load key %s: does not match private key %s", path, keyPath)
			}
		}
		if p.Role == RoleReplica {
			replicaKeys[p.ID] = pub
		} else {
			clientKeys[p.ID] = pub
		}
	}
	return NewSignatureAuthenticator(self, priv, replicaKeys, clientKeys)
}

func loadHMAC(dir string, self Principal, replicas, clients int) (Authenticator, error) {
	path := KeyFile(dir, self)
	data, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	secrets, err := parseSecrets(data)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	// Check here, not only in the constructor, so the error names the file.
	for _, p := range principals(replicas, clients) {
		if !needs(self, p) {
			continue
		}
		s, ok := secrets[p]
		if !ok {
			return nil, fmt.Errorf("load key %s: no secret shared with %s (were the keys made for fewer replicas or clients?)", path, p)
		}
		if len(s) < MinSecretSize {
			return nil, fmt.Errorf("load key %s: secret shared with %s has %d bytes, want at least %d", path, p, len(s), MinSecretSize)
		}
	}
	return NewHMACAuthenticator(self, replicas, clients, secrets)
}
