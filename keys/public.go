package keys

import (
	"crypto"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// Verifier checks authenticators without making any. Every Authenticator is
// one; LoadPublic returns one that holds no private key, for tools that
// inspect traffic (msgdump) rather than take part in it.
type Verifier interface {
	Scheme() Scheme
	// Verify checks auth on msg as sent by from; it returns an error
	// wrapping ErrBadAuth when it does not verify.
	Verify(from Principal, msg, auth []byte) error
}

// LoadPublic reads the public keys of every replica and client of a
// deployment from dir (replica-N.pub, client-N.pub) and returns a verifier
// for all of them. Only signature schemes have public keys: an hmac
// authenticator can only be checked by one of the two principals that share
// its secret (load it with Load), and scheme none authenticates nothing.
func LoadPublic(scheme Scheme, dir string, replicas, clients int) (Verifier, error) {
	if _, err := ParseScheme(string(scheme)); err != nil {
		return nil, fmt.Errorf("load public keys: %w", err)
	}
	if !scheme.Signs() {
		return nil, fmt.Errorf("load public keys: scheme %s has no public keys; verify as one of the principals instead (Load)", scheme)
	}
	if err := checkCounts(replicas, clients); err != nil {
		return nil, fmt.Errorf("load %s public keys: %w", scheme, err)
	}
	// sigAuth verifies with the public keys alone; wrapped below so that
	// nothing can ask it to sign without a private key.
	a := &sigAuth{scheme: scheme, replicas: make([]crypto.PublicKey, replicas), clients: make([]crypto.PublicKey, clients)}
	for _, p := range principals(replicas, clients) {
		pub, err := readPublicKey(PublicKeyFile(dir, p), scheme)
		if err != nil {
			return nil, err
		}
		*a.slot(p) = pub
	}
	if err := a.decodeKeys(); err != nil {
		return nil, fmt.Errorf("load %s public keys from %s: %w", scheme, dir, err)
	}
	return publicVerifier{a}, nil
}

type publicVerifier struct{ a *sigAuth }

func (v publicVerifier) Scheme() Scheme { return v.a.scheme }

func (v publicVerifier) Verify(from Principal, msg, auth []byte) error {
	return v.a.Verify(from, msg, auth)
}

// DirInfo describes a key directory: the scheme of its keys and the size of
// the deployment they were made for.
type DirInfo struct {
	Scheme            Scheme
	Replicas, Clients int
}

// InspectDir works out from the file names and the first key in dir what
// Generate made there: the scheme, and the number of replicas and clients
// (one more than the highest id of each). It reads no private key except,
// when there is no public key, replica 0's, to tell hmac secrets from a
// signature key; that file must then be 0600 like any private key file.
func InspectDir(dir string) (DirInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return DirInfo{}, fmt.Errorf("inspect keys in %s: %w", dir, err)
	}
	var info DirInfo
	hasPub := false
	for _, e := range entries {
		name, ext, ok := strings.Cut(e.Name(), ".")
		if !ok || (ext != "key" && ext != "pub") {
			continue
		}
		p, err := ParsePrincipal(name)
		if err != nil {
			continue
		}
		hasPub = hasPub || ext == "pub"
		if p.Role == RoleReplica {
			info.Replicas = max(info.Replicas, int(p.ID)+1)
		} else {
			info.Clients = max(info.Clients, int(p.ID)+1)
		}
	}
	if info.Replicas == 0 {
		return DirInfo{}, fmt.Errorf("inspect keys in %s: no replica keys (replica-N.key or .pub) there", dir)
	}
	if hasPub {
		path := PublicKeyFile(dir, Replica(0))
		data, err := os.ReadFile(path)
		if err != nil {
			return DirInfo{}, fmt.Errorf("inspect keys in %s: %w", dir, err)
		}
		pub, err := parsePublicKey(data)
		if err != nil {
			return DirInfo{}, fmt.Errorf("inspect keys in %s: %s: %w", dir, path, err)
		}
		if info.Scheme, err = keyScheme(pub); err != nil {
			return DirInfo{}, fmt.Errorf("inspect keys in %s: %s: %w", dir, path, err)
		}
		return info, nil
	}
	path := KeyFile(dir, Replica(0))
	data, err := readPrivateFile(path)
	if err != nil {
		return DirInfo{}, err
	}
	if b, _ := pem.Decode(data); b != nil && b.Type == hmacBlock {
		info.Scheme = HMAC
		return info, nil
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		return DirInfo{}, fmt.Errorf("inspect keys in %s: %s: %w", dir, path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return DirInfo{}, fmt.Errorf("inspect keys in %s: %s: unsupported key type %T", dir, path, key)
	}
	if info.Scheme, err = keyScheme(signer.Public()); err != nil {
		return DirInfo{}, fmt.Errorf("inspect keys in %s: %s: %w", dir, path, err)
	}
	return info, nil
}
