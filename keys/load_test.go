package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePEM(t *testing.T, path, typ string, der []byte, perm os.FileMode) {
	t.Helper()
	writeFileMode(t, path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), perm)
}

func TestLoadErrors(t *testing.T) {
	// Each case damages a copy of one good directory per scheme, which
	// saves generating RSA keys over and over.
	goodDirs := make(map[Scheme]string)
	good := func(scheme Scheme) string {
		if goodDirs[scheme] == "" {
			dir := t.TempDir()
			if err := Generate(scheme, dir, 4, 1, GenOptions{RSABits: testRSABits}); err != nil {
				t.Fatal(err)
			}
			goodDirs[scheme] = dir
		}
		return goodDirs[scheme]
	}
	for _, tc := range []struct {
		name   string
		scheme Scheme
		self   Principal
		damage func(t *testing.T, dir string) // damage a good key directory
		want   []string                       // substrings of the error; DIR is the directory
	}{
		{
			name: "missing private key", scheme: Ed25519, self: Replica(0),
			damage: func(t *testing.T, dir string) { os.Remove(KeyFile(dir, Replica(0))) },
			want:   []string{"load key DIR/replica-0.key: open DIR/replica-0.key: no such file or directory"},
		},
		{
			name: "missing public key", scheme: ECDSA, self: Client(0),
			damage: func(t *testing.T, dir string) { os.Remove(PublicKeyFile(dir, Replica(3))) },
			want:   []string{"load key DIR/replica-3.pub: open DIR/replica-3.pub: no such file or directory"},
		},
		{
			name: "private key readable by others", scheme: Ed25519, self: Replica(1),
			damage: func(t *testing.T, dir string) { os.Chmod(KeyFile(dir, Replica(1)), 0o644) },
			want:   []string{"load key DIR/replica-1.key:", "mode 0644", "chmod 600 DIR/replica-1.key"},
		},
		{
			name: "hmac secrets readable by group", scheme: HMAC, self: Client(0),
			damage: func(t *testing.T, dir string) { os.Chmod(KeyFile(dir, Client(0)), 0o640) },
			want:   []string{"DIR/client-0.key", "chmod 600"},
		},
		{
			name: "private key of another scheme", scheme: RSA, self: Replica(0),
			damage: func(t *testing.T, dir string) {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				der, _ := x509.MarshalPKCS8PrivateKey(k)
				writePEM(t, KeyFile(dir, Replica(0)), pkcs8Block, der, 0o600)
			},
			want: []string{"load key DIR/replica-0.key: holds an ecdsa key, but the scheme is rsa"},
		},
		{
			name: "public key of another scheme", scheme: RSA, self: Replica(0),
			damage: func(t *testing.T, dir string) {
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				der, _ := x509.MarshalPKIXPublicKey(k.Public())
				writePEM(t, PublicKeyFile(dir, Client(0)), pkixBlock, der, 0o644)
			},
			want: []string{"load key DIR/client-0.pub: holds an ecdsa key, but the scheme is rsa"},
		},
		{
			name: "ecdsa on the wrong curve", scheme: ECDSA, self: Replica(2),
			damage: func(t *testing.T, dir string) {
				k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
				der, _ := x509.MarshalPKCS8PrivateKey(k)
				writePEM(t, KeyFile(dir, Replica(2)), pkcs8Block, der, 0o600)
			},
			want: []string{"DIR/replica-2.key", "P-384", "P-256"},
		},
		{
			name: "public key not matching private", scheme: Ed25519, self: Replica(0),
			damage: func(t *testing.T, dir string) {
				data, _ := os.ReadFile(PublicKeyFile(dir, Replica(1)))
				os.WriteFile(PublicKeyFile(dir, Replica(0)), data, 0o644)
			},
			want: []string{"load key DIR/replica-0.pub: does not match private key DIR/replica-0.key"},
		},
		{
			name: "private key where the public belongs", scheme: Ed25519, self: Client(0),
			damage: func(t *testing.T, dir string) {
				data, _ := os.ReadFile(KeyFile(dir, Replica(2)))
				os.WriteFile(PublicKeyFile(dir, Replica(2)), data, 0o644)
			},
			want: []string{"DIR/replica-2.pub", "openssl pkey -in KEY -pubout"},
		},
		{
			name: "not PEM", scheme: Ed25519, self: Replica(0),
			damage: func(t *testing.T, dir string) { os.WriteFile(KeyFile(dir, Replica(0)), []byte("hello"), 0o600) },
			want:   []string{"load key DIR/replica-0.key: no PEM private key found"},
		},
		{
			name: "encrypted key", scheme: Ed25519, self: Replica(0),
			damage: func(t *testing.T, dir string) {
				writePEM(t, KeyFile(dir, Replica(0)), "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}, 0o600)
			},
			want: []string{"DIR/replica-0.key: key is encrypted"},
		},
		{
			name: "hmac keys made for fewer clients", scheme: HMAC, self: Replica(0),
			damage: func(t *testing.T, dir string) {
				other := t.TempDir()
				Generate(HMAC, other, 4, 0, GenOptions{})
				data, _ := os.ReadFile(KeyFile(other, Replica(0)))
				os.WriteFile(KeyFile(dir, Replica(0)), data, 0o600)
			},
			want: []string{"load key DIR/replica-0.key: no secret shared with client-0"},
		},
		{
			name: "hmac file holding a key pair", scheme: HMAC, self: Replica(0),
			damage: func(t *testing.T, dir string) {
				other := t.TempDir()
				Generate(Ed25519, other, 1, 0, GenOptions{})
				data, _ := os.ReadFile(KeyFile(other, Replica(0)))
				os.WriteFile(KeyFile(dir, Replica(0)), data, 0o600)
			},
			want: []string{"DIR/replica-0.key", `PEM block "PRIVATE KEY" is not an hmac secret`},
		},
		{
			name: "self outside the deployment", scheme: Ed25519, self: Replica(4),
			damage: func(t *testing.T, dir string) {},
			want:   []string{"replica-4 is outside the deployment (4 replicas, 1 clients)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, dir, good(tc.scheme))
			tc.damage(t, dir)
			_, err := Load(tc.scheme, dir, tc.self, 4, 1)
			if err == nil {
				t.Fatal("Load succeeded on a broken key directory")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// copyDir copies the files of src into dst, keeping their modes.
func copyDir(t *testing.T, dst, src string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		writeFileMode(t, filepath.Join(dst, e.Name()), data, info.Mode().Perm())
	}
}

func writeFileMode(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}

// TestLoadOtherEncodings: keys in SEC 1, PKCS#1 and PKCS#1 public form load
// as well as the PKCS#8 and PKIX that Generate writes.
func TestLoadOtherEncodings(t *testing.T) {
	msg := []byte("encoded otherwise")
	rk, err := rsa.GenerateKey(rand.Reader, testRSABits)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := x509.MarshalPKIXPublicKey(ek.Public())
	if err != nil {
		t.Fatal(err)
	}
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	for _, tc := range []struct {
		name          string
		scheme        Scheme
		privType      string
		priv, pub     []byte
		pubType       string
		prefixPrivate []byte
	}{
		{"rsa pkcs1", RSA, pkcs1Block, x509.MarshalPKCS1PrivateKey(rk), x509.MarshalPKCS1PublicKey(&rk.PublicKey), pkcs1PubBlock, nil},
		{"ecdsa sec1", ECDSA, sec1Block, sec1, ecPub, pkixBlock, nil},
		{"ecdsa sec1 after parameters", ECDSA, sec1Block, sec1, ecPub, pkixBlock, ecParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keyData := append(tc.prefixPrivate, pem.EncodeToMemory(&pem.Block{Type: tc.privType, Bytes: tc.priv})...)
			if err := os.WriteFile(filepath.Join(dir, "replica-0.key"), keyData, 0o600); err != nil {
				t.Fatal(err)
			}
			writePEM(t, filepath.Join(dir, "replica-0.pub"), tc.pubType, tc.pub, 0o644)
			a, err := Load(tc.scheme, dir, Replica(0), 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := a.Sign(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Verify(Replica(0), msg, sig); err != nil {
				t.Error(err)
			}
		})
	}
}
