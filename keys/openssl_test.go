package keys

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Interoperability with openssl: keys it makes load here, keys made here load
// there, and signatures verify both ways.

func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("REPLBENCH_REQUIRE_OPENSSL") == "1" {
			t.Fatalf("openssl not on PATH, and REPLBENCH_REQUIRE_OPENSSL=1: %v", err)
		}
		t.Skip("openssl not on PATH, so interoperability is untested (set REPLBENCH_REQUIRE_OPENSSL=1 to fail instead)")
	}
}

// openssl runs openssl in dir and returns its stdout.
func openssl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// opensslSign signs the file msg with key the way scheme does.
func opensslSign(t *testing.T, dir string, scheme Scheme, key, msg, sig string) {
	if scheme == Ed25519 {
		openssl(t, dir, "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", msg, "-out", sig)
		return
	}
	openssl(t, dir, "dgst", "-sha256", "-sign", key, "-out", sig, msg)
}

func opensslVerify(t *testing.T, dir string, scheme Scheme, pub, msg, sig string) {
	if scheme == Ed25519 {
		openssl(t, dir, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", msg, "-sigfile", sig)
		return
	}
	openssl(t, dir, "dgst", "-sha256", "-verify", pub, "-signature", sig, msg)
}

func TestOpenSSLKeysLoad(t *testing.T) {
	needOpenSSL(t)
	genpkey := map[Scheme][]string{
		RSA:     {"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"},
		ECDSA:   {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"},
		Ed25519: {"genpkey", "-algorithm", "ed25519"},
	}
	for _, tc := range []struct {
		name     string
		scheme   Scheme
		generate func(key string) [][]string // openssl commands writing key
		pub      func(key, pub string) []string
		keyType  string // PEM type of the private key, to know which path is tested
		pubType  string // PEM type of the public key; "" means PKIX
	}{
		{
			name: "rsa genpkey", scheme: RSA, keyType: pkcs8Block,
			generate: func(key string) [][]string { return [][]string{append(genpkey[RSA], "-out", key)} },
		},
		{
			name: "rsa traditional", scheme: RSA, keyType: pkcs1Block, pubType: pkcs1PubBlock,
			generate: func(key string) [][]string {
				return [][]string{append(genpkey[RSA], "-out", "pkcs8.pem"), {"pkey", "-in", "pkcs8.pem", "-traditional", "-out", key}}
			},
			pub: func(key, pub string) []string { return []string{"rsa", "-in", key, "-RSAPublicKey_out", "-out", pub} },
		},
		{
			name: "ecdsa genpkey", scheme: ECDSA, keyType: pkcs8Block,
			generate: func(key string) [][]string { return [][]string{append(genpkey[ECDSA], "-out", key)} },
		},
		{
			name: "ecdsa ecparam", scheme: ECDSA, keyType: "EC PARAMETERS",
			generate: func(key string) [][]string {
				return [][]string{{"ecparam", "-name", "prime256v1", "-genkey", "-out", key}}
			},
		},
		{
			name: "ed25519 genpkey", scheme: Ed25519, keyType: pkcs8Block,
			generate: func(key string) [][]string { return [][]string{append(genpkey[Ed25519], "-out", key)} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, p := range []Principal{Replica(0), Replica(1)} {
				key, pub := p.String()+".key", p.String()+".pub"
				for _, args := range tc.generate(key) {
					openssl(t, dir, args...)
				}
				if err := os.Chmod(filepath.Join(dir, key), 0o600); err != nil {
					t.Fatal(err)
				}
				pubArgs := []string{"pkey", "-in", key, "-pubout", "-out", pub}
				if tc.pub != nil {
					pubArgs = tc.pub(key, pub)
				}
				openssl(t, dir, pubArgs...)
			}
			if tc.pubType == "" {
				tc.pubType = pkixBlock
			}
			for file, typ := range map[string]string{"replica-0.key": tc.keyType, "replica-0.pub": tc.pubType} {
				data, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(data), "-----BEGIN "+typ+"-----") {
					t.Fatalf("openssl wrote %.40q to %s, not the %s this case means to test", data, file, typ)
				}
			}

			r0, err := Load(tc.scheme, dir, Replica(0), 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			r1, err := Load(tc.scheme, dir, Replica(1), 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("signed by an openssl key")
			sig, err := r1.Sign(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := r0.Verify(Replica(1), msg, sig); err != nil {
				t.Errorf("our signature with an openssl key: %v", err)
			}
			// A signature openssl made verifies here.
			if err := os.WriteFile(filepath.Join(dir, "msg"), msg, 0o644); err != nil {
				t.Fatal(err)
			}
			opensslSign(t, dir, tc.scheme, "replica-1.key", "msg", "sig")
			osig, err := os.ReadFile(filepath.Join(dir, "sig"))
			if err != nil {
				t.Fatal(err)
			}
			if err := r0.Verify(Replica(1), msg, osig); err != nil {
				t.Errorf("openssl's signature: %v", err)
			}
			mustReject(t, "openssl's signature on another message", r0.Verify(Replica(1), []byte("other"), osig))
		})
	}
}

func TestOpenSSLReadsOurKeys(t *testing.T) {
	needOpenSSL(t)
	for _, tc := range []struct {
		scheme Scheme
		text   string // in openssl's description of the private key
	}{
		{RSA, "Private-Key: (1024 bit"},
		{ECDSA, "prime256v1"},
		{Ed25519, "ED25519 Private-Key"},
	} {
		t.Run(string(tc.scheme), func(t *testing.T) {
			dir := t.TempDir()
			if err := Generate(tc.scheme, dir, 1, 0, GenOptions{RSABits: testRSABits}); err != nil {
				t.Fatal(err)
			}
			openssl(t, dir, "pkey", "-in", "replica-0.key", "-noout")
			openssl(t, dir, "pkey", "-pubin", "-in", "replica-0.pub", "-noout")
			if out := openssl(t, dir, "pkey", "-in", "replica-0.key", "-noout", "-text"); !strings.Contains(out, tc.text) {
				t.Errorf("openssl describes our key as %.80q, want it to mention %q", out, tc.text)
			}
			a, err := Load(tc.scheme, dir, Replica(0), 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("checked by openssl")
			sig, err := a.Sign(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"msg": msg, "sig": sig} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			opensslVerify(t, dir, tc.scheme, "replica-0.pub", "msg", "sig")
		})
	}
}
