package keys

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// PEM block types. Generate writes the first two and hmacBlock; the others are
// read because openssl and older tools emit them.
const (
	pkcs8Block    = "PRIVATE KEY"
	pkixBlock     = "PUBLIC KEY"
	sec1Block     = "EC PRIVATE KEY"
	pkcs1Block    = "RSA PRIVATE KEY"
	pkcs1PubBlock = "RSA PUBLIC KEY"
	hmacBlock     = "REPLBENCH HMAC SECRET"
	peerHeader    = "Peer"
)

// readPrivateFile reads a file holding secret material, refusing one that
// group or other may read: a leaked key silently voids every measurement of
// an authenticated protocol, and ssh refuses such files for the same reason.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	// Windows reports no meaningful permission bits.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("load key %s: private key file has mode %04o, open to group/other; fix with: chmod 600 %s",
			path, perm, path)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return data, nil
}

// readPrivateKey loads a private key of the given signature scheme.
func readPrivateKey(path string, scheme Scheme) (crypto.Signer, error) {
	data, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("load key %s: unsupported key type %T", path, key)
	}
	if err := checkKeyScheme(signer.Public(), scheme); err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return signer, nil
}

// readPublicKey loads a public key of the given signature scheme.
func readPublicKey(path string, scheme Scheme) (crypto.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	pub, err := parsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	if err := checkKeyScheme(pub, scheme); err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return pub, nil
}

func checkKeyScheme(pub crypto.PublicKey, want Scheme) error {
	got, err := keyScheme(pub)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("holds an %s key, but the scheme is %s", got, want)
	}
	return nil
}

// parsePrivateKey takes the first key in PEM data: PKCS#8, SEC 1 or PKCS#1.
func parsePrivateKey(data []byte) (any, error) {
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, errors.New("no PEM private key found")
		}
		if _, ok := b.Headers["DEK-Info"]; ok || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("key is encrypted; write a plain copy with: openssl pkey -in KEY -out KEY.plain")
		}
		switch b.Type {
		case "EC PARAMETERS":
			continue // openssl ecparam -genkey writes these before the key
		case pkcs8Block:
			return x509.ParsePKCS8PrivateKey(b.Bytes)
		case sec1Block:
			return x509.ParseECPrivateKey(b.Bytes)
		case pkcs1Block:
			return x509.ParsePKCS1PrivateKey(b.Bytes)
		}
		return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
	}
}

// parsePublicKey reads a PKIX or PKCS#1 public key.
func parsePublicKey(data []byte) (crypto.PublicKey, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM public key found")
	}
	switch b.Type {
	case pkixBlock:
		return x509.ParsePKIXPublicKey(b.Bytes)
	case pkcs1PubBlock:
		return x509.ParsePKCS1PublicKey(b.Bytes)
	case pkcs8Block, sec1Block, pkcs1Block:
		return nil, errors.New("holds a private key where a public key belongs; extract it with: openssl pkey -in KEY -pubout")
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", b.Type)
}

func encodePrivateKey(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pkcs8Block, Bytes: der}), nil
}

func encodePublicKey(k crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pkixBlock, Bytes: der}), nil
}

// encodeSecrets writes one PEM block per peer, in the order of peers.
func encodeSecrets(peers []Principal, secrets map[Principal][]byte) []byte {
	var buf bytes.Buffer
	for _, p := range peers {
		// pem.Encode fails only on malformed headers, and these are fixed.
		_ = pem.Encode(&buf, &pem.Block{
			Type:    hmacBlock,
			Headers: map[string]string{peerHeader: p.String()},
			Bytes:   secrets[p],
		})
	}
	return buf.Bytes()
}

// parseSecrets reads the blocks encodeSecrets writes.
func parseSecrets(data []byte) (map[Principal][]byte, error) {
	out := make(map[Principal][]byte)
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != hmacBlock {
			return nil, fmt.Errorf("PEM block %q is not an hmac secret (want %q)", b.Type, hmacBlock)
		}
		p, err := ParsePrincipal(b.Headers[peerHeader])
		if err != nil {
			return nil, fmt.Errorf("hmac secret with %s header: %w", peerHeader, err)
		}
		if _, dup := out[p]; dup {
			return nil, fmt.Errorf("two hmac secrets for %s", p)
		}
		out[p] = b.Bytes
	}
	return out, nil
}
