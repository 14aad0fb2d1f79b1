package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
)

// DefaultRSABits is the RSA modulus size when GenOptions.RSABits is zero.
const DefaultRSABits = 2048

// RSA moduli outside these bounds are refused: below the minimum Go itself
// rejects, above the maximum generation takes minutes and measures nothing useful.
const (
	minRSABits = 1024
	maxRSABits = 16384
)

// GenOptions tunes Generate.
type GenOptions struct {
	RSABits int  // modulus size for scheme rsa; 0 means DefaultRSABits
	Force   bool // replace existing key files instead of refusing
}

func (o GenOptions) rsaBits() (int, error) {
	switch {
	case o.RSABits == 0:
		return DefaultRSABits, nil
	case o.RSABits < minRSABits:
		return 0, fmt.Errorf("rsa keys of %d bits are too weak; use at least %d", o.RSABits, minRSABits)
	case o.RSABits > maxRSABits:
		return 0, fmt.Errorf("rsa keys of %d bits are beyond the supported maximum of %d", o.RSABits, maxRSABits)
	}
	return o.RSABits, nil
}

// Files lists, in writing order, the files Generate creates in dir: for a
// signature scheme NAME.key (private, 0600) and NAME.pub (public, 0644) per
// principal, for hmac NAME.key (0600) holding one secret per peer, for none nothing.
func Files(scheme Scheme, dir string, replicas, clients int) []string {
	var out []string
	for _, p := range principals(replicas, clients) {
		switch scheme {
		case RSA, ECDSA, Ed25519:
			out = append(out, KeyFile(dir, p), PublicKeyFile(dir, p))
		case HMAC:
			out = append(out, KeyFile(dir, p))
		}
	}
	return out
}

// Generate writes fresh keys for replicas and clients to dir (created 0700
// if missing): a key pair per principal for the signature schemes, pairwise
// 32-byte secrets for hmac (between every two principals except two clients,
// which never talk). Scheme none needs no keys, so Generate writes nothing
// for it. It refuses to replace existing files unless opt.Force; the error
// then wraps fs.ErrExist.
func Generate(scheme Scheme, dir string, replicas, clients int, opt GenOptions) error {
	bits, err := checkGenerate(scheme, replicas, clients, opt)
	if err != nil {
		return err
	}
	if scheme == None {
		return nil
	}
	if !opt.Force {
		// Check before the slow part, and before writing anything, so a
		// refusal leaves the directory as it was.
		for _, f := range Files(scheme, dir, replicas, clients) {
			if _, err := os.Lstat(f); err == nil {
				return fmt.Errorf("generate %s keys: refusing to overwrite %s: %w", scheme, f, fs.ErrExist)
			}
		}
	}
	ks, err := generateKeySet(scheme, replicas, clients, bits)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("generate %s keys: %w", scheme, err)
	}
	for _, p := range principals(replicas, clients) {
		if err := ks.write(dir, p, opt.Force); err != nil {
			return fmt.Errorf("generate %s keys: %w", scheme, err)
		}
	}
	return nil
}

// GenerateInMemory makes keys for a deployment without touching the disk and
// returns every principal's authenticator: for tests and the simulator.
// RSA keys have DefaultRSABits; GenerateInMemoryWith takes options.
func GenerateInMemory(scheme Scheme, replicas, clients int) (map[Principal]Authenticator, error) {
	return GenerateInMemoryWith(scheme, replicas, clients, GenOptions{})
}

// GenerateInMemoryWith is GenerateInMemory with options (Force is ignored).
func GenerateInMemoryWith(scheme Scheme, replicas, clients int, opt GenOptions) (map[Principal]Authenticator, error) {
	bits, err := checkGenerate(scheme, replicas, clients, opt)
	if err != nil {
		return nil, err
	}
	ks, err := generateKeySet(scheme, replicas, clients, bits)
	if err != nil {
		return nil, err
	}
	out := make(map[Principal]Authenticator, replicas+clients)
	for _, p := range principals(replicas, clients) {
		a, err := ks.authenticator(p)
		if err != nil {
			return nil, err
		}
		out[p] = a
	}
	return out, nil
}

// keySet is the key material of a whole deployment.
type keySet struct {
	scheme            Scheme
	replicas, clients int
	signers           map[Principal]crypto.Signer        // signature schemes
	secrets           map[Principal]map[Principal][]byte // hmac: secrets[a][b] is secrets[b][a]
}

// checkGenerate validates a request for keys and returns the RSA modulus size.
func checkGenerate(scheme Scheme, replicas, clients int, opt GenOptions) (rsaBits int, err error) {
	if _, err := ParseScheme(string(scheme)); err != nil {
		return 0, fmt.Errorf("generate keys: %w", err)
	}
	if err := checkCounts(replicas, clients); err != nil {
		return 0, fmt.Errorf("generate %s keys: %w", scheme, err)
	}
	if scheme != RSA {
		return 0, nil
	}
	if rsaBits, err = opt.rsaBits(); err != nil {
		return 0, fmt.Errorf("generate %s keys: %w", scheme, err)
	}
	return rsaBits, nil
}

// generateKeySet makes the keys of a deployment checkGenerate accepted.
func generateKeySet(scheme Scheme, replicas, clients, rsaBits int) (*keySet, error) {
	ks := &keySet{scheme: scheme, replicas: replicas, clients: clients}
	switch scheme {
	case RSA, ECDSA, Ed25519:
		var err error
		if ks.signers, err = generateSigners(scheme, principals(replicas, clients), rsaBits); err != nil {
			return nil, fmt.Errorf("generate %s keys: %w", scheme, err)
		}
	case HMAC:
		ks.secrets = generateSecrets(principals(replicas, clients))
	}
	return ks, nil
}

// generateSigners makes one private key per principal, in parallel because
// RSA key generation takes a good fraction of a second per key.
func generateSigners(scheme Scheme, ps []Principal, rsaBits int) (map[Principal]crypto.Signer, error) {
	keys := make([]crypto.Signer, len(ps))
	errs := make([]error, len(ps))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range ps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			keys[i], errs[i] = newPrivateKey(scheme, rsaBits)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[Principal]crypto.Signer, len(ps))
	for i, p := range ps {
		out[p] = keys[i]
	}
	return out, nil
}

func newPrivateKey(scheme Scheme, rsaBits int) (crypto.Signer, error) {
	switch scheme {
	case RSA:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case ECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("scheme %s has no key pairs", scheme)
}

// generateSecrets makes a secret for every pair of principals that talk.
func generateSecrets(ps []Principal) map[Principal]map[Principal][]byte {
	out := make(map[Principal]map[Principal][]byte, len(ps))
	for _, p := range ps {
		out[p] = make(map[Principal][]byte)
	}
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			if !needs(a, b) {
				continue
			}
			s := make([]byte, secretSize)
			rand.Read(s) // never fails, per crypto/rand
			out[a][b], out[b][a] = s, s
		}
	}
	return out
}

// peers lists, in principals order, those p holds material for.
func (ks *keySet) peers(p Principal) []Principal {
	var out []Principal
	for _, q := range principals(ks.replicas, ks.clients) {
		if needs(p, q) {
			out = append(out, q)
		}
	}
	return out
}

func (ks *keySet) authenticator(self Principal) (Authenticator, error) {
	switch ks.scheme {
	case None:
		return NewNoneAuthenticator(self, ks.replicas, ks.clients)
	case HMAC:
		return NewHMACAuthenticator(self, ks.replicas, ks.clients, ks.secrets[self])
	}
	replicaKeys := make([]crypto.PublicKey, ks.replicas)
	clientKeys := make([]crypto.PublicKey, ks.clients)
	for _, p := range ks.peers(self) {
		if p.Role == RoleReplica {
			replicaKeys[p.ID] = ks.signers[p].Public()
		} else {
			clientKeys[p.ID] = ks.signers[p].Public()
		}
	}
	return NewSignatureAuthenticator(self, ks.signers[self], replicaKeys, clientKeys)
}

// write stores p's files in dir, replacing existing ones only if force.
func (ks *keySet) write(dir string, p Principal, force bool) error {
	if ks.scheme == HMAC {
		return writeFile(KeyFile(dir, p), encodeSecrets(ks.peers(p), ks.secrets[p]), 0o600, force)
	}
	priv, err := encodePrivateKey(ks.signers[p])
	if err != nil {
		return fmt.Errorf("encode %s private key: %w", p, err)
	}
	pub, err := encodePublicKey(ks.signers[p].Public())
	if err != nil {
		return fmt.Errorf("encode %s public key: %w", p, err)
	}
	if err := writeFile(KeyFile(dir, p), priv, 0o600, force); err != nil {
		return err
	}
	return writeFile(PublicKeyFile(dir, p), pub, 0o644, force)
}

// writeFile creates path afresh with exactly perm. Removing an old file first
// (only if force) means a new inode, so no old mode or symlink target carries
// over; without force, O_EXCL refuses a file that appeared since the check.
// The Chmod undoes whatever the umask took away.
func writeFile(path string, data []byte, perm os.FileMode, force bool) (err error) {
	if force {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}
