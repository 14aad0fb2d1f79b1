package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPublicVerifies(t *testing.T) {
	const replicas, clients = 4, 2
	msg := []byte("request client=1 seq=9")
	for _, scheme := range []Scheme{RSA, ECDSA, Ed25519} {
		t.Run(string(scheme), func(t *testing.T) {
			dir := t.TempDir()
			if err := Generate(scheme, dir, replicas, clients, GenOptions{RSABits: testRSABits}); err != nil {
				t.Fatal(err)
			}
			signers := make(map[Principal]Authenticator)
			for _, p := range principals(replicas, clients) {
				a, err := Load(scheme, dir, p, replicas, clients)
				if err != nil {
					t.Fatal(err)
				}
				signers[p] = a
			}
			// A verifier needs no private key: take them all away.
			for _, p := range principals(replicas, clients) {
				if err := os.Remove(KeyFile(dir, p)); err != nil {
					t.Fatal(err)
				}
			}
			v, err := LoadPublic(scheme, dir, replicas, clients)
			if err != nil {
				t.Fatalf("LoadPublic: %v", err)
			}
			if v.Scheme() != scheme {
				t.Errorf("Scheme() = %s, want %s", v.Scheme(), scheme)
			}
			if _, ok := v.(Authenticator); ok {
				t.Error("a public-key verifier must not be usable as an Authenticator")
			}
			for p, a := range signers {
				sig, err := a.Sign(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				if err := v.Verify(p, msg, sig); err != nil {
					t.Errorf("Verify %s: %v", p, err)
				}
				mustReject(t, "tampered message from "+p.String(), v.Verify(p, append([]byte("x"), msg...), sig))
				other := Replica((p.ID + 1) % replicas)
				if other != p {
					mustReject(t, "signature of "+p.String()+" claimed by "+other.String(), v.Verify(other, msg, sig))
				}
			}
			mustReject(t, "sender outside the deployment", v.Verify(Client(clients), msg, nil))
		})
	}
}

func TestLoadPublicErrors(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(Ed25519, dir, 2, 1, GenOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(PublicKeyFile(dir, Client(0))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name              string
		scheme            Scheme
		replicas, clients int
		want              string
	}{
		{"hmac", HMAC, 2, 1, "scheme hmac has no public keys"},
		{"none", None, 2, 1, "scheme none has no public keys"},
		{"unknown scheme", "dsa", 2, 1, `unknown scheme "dsa"`},
		{"no replicas", Ed25519, 0, 1, "need at least one replica"},
		{"missing file", Ed25519, 2, 1, "client-0.pub"},
		{"more replicas than keys", Ed25519, 3, 0, "replica-2.pub"},
		{"wrong scheme", ECDSA, 2, 0, "holds an ed25519 key, but the scheme is ecdsa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPublic(tc.scheme, dir, tc.replicas, tc.clients)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadPublic: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestInspectDir(t *testing.T) {
	for _, tc := range []struct {
		scheme            Scheme
		replicas, clients int
	}{
		{RSA, 1, 0}, {ECDSA, 4, 3}, {Ed25519, 7, 1}, {HMAC, 4, 2},
	} {
		t.Run(string(tc.scheme), func(t *testing.T) {
			dir := t.TempDir()
			if err := Generate(tc.scheme, dir, tc.replicas, tc.clients, GenOptions{RSABits: testRSABits}); err != nil {
				t.Fatal(err)
			}
			// Files that are not keys are ignored.
			if err := os.WriteFile(filepath.Join(dir, "cluster.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := InspectDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := DirInfo{tc.scheme, tc.replicas, tc.clients}
			if got != want {
				t.Errorf("InspectDir = %+v, want %+v", got, want)
			}
			if tc.scheme.Signs() {
				// Without public keys the private key of replica 0 tells the scheme.
				for _, p := range principals(tc.replicas, tc.clients) {
					if err := os.Remove(PublicKeyFile(dir, p)); err != nil {
						t.Fatal(err)
					}
				}
				if got, err := InspectDir(dir); err != nil || got != want {
					t.Errorf("InspectDir without public keys = %+v, %v; want %+v", got, err, want)
				}
			}
		})
	}
}

func TestInspectDirErrors(t *testing.T) {
	empty := t.TempDir()
	open := t.TempDir()
	if err := Generate(HMAC, open, 1, 0, GenOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(KeyFile(open, Replica(0)), 0o644); err != nil {
		t.Fatal(err)
	}
	clientsOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(clientsOnly, "client-0.pub"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(empty, "nope"), "no such file"},
		{"empty", empty, "no replica keys"},
		{"clients only", clientsOnly, "no replica keys"},
		{"private file open to others", open, "chmod 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := InspectDir(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("InspectDir: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
