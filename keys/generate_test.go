package keys

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGenerateFiles(t *testing.T) {
	for _, scheme := range []Scheme{RSA, ECDSA, Ed25519, HMAC} {
		t.Run(string(scheme), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			if err := Generate(scheme, dir, 4, 2, GenOptions{RSABits: testRSABits}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("new key directory has mode %04o, want no group/other access", perm)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, filepath.Join(dir, e.Name()))
			}
			want := slices.Sorted(slices.Values(Files(scheme, dir, 4, 2)))
			if !slices.Equal(got, want) {
				t.Fatalf("wrote %v, want %v", got, want)
			}
			for _, f := range got {
				checkFile(t, f)
			}
		})
	}
}

// checkFile checks a generated file's mode and PEM type by its name.
func checkFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	wantMode, wantTypes := fs.FileMode(0o600), []string{pkcs8Block, hmacBlock}
	if strings.HasSuffix(path, ".pub") {
		wantMode, wantTypes = 0o644, []string{pkixBlock}
	}
	if got := fi.Mode().Perm(); got != wantMode {
		t.Errorf("%s: mode %04o, want %04o", path, got, wantMode)
	}
	if !slices.Contains(wantTypes, b.Type) {
		t.Errorf("%s: PEM type %q, want one of %q", path, b.Type, wantTypes)
	}
}

func TestGenerateHMACSecrets(t *testing.T) {
	const replicas, clients = 3, 2
	dir := t.TempDir()
	if err := Generate(HMAC, dir, replicas, clients, GenOptions{}); err != nil {
		t.Fatal(err)
	}
	all := make(map[Principal]map[Principal][]byte)
	for _, p := range principals(replicas, clients) {
		data, err := os.ReadFile(KeyFile(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if all[p], err = parseSecrets(data); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	seen := make(map[string]bool)
	for p, secrets := range all {
		for _, q := range principals(replicas, clients) {
			s, ok := secrets[q]
			if ok != needs(p, q) {
				t.Errorf("%s holds a secret for %s: %v, want %v", p, q, ok, needs(p, q))
			}
			if !ok {
				continue
			}
			if len(s) != secretSize {
				t.Errorf("%s-%s secret has %d bytes, want %d", p, q, len(s), secretSize)
			}
			if !bytes.Equal(s, all[q][p]) {
				t.Errorf("%s and %s hold different secrets for their pair", p, q)
			}
			seen[string(s)] = true
		}
	}
	// 3 replica pairs + 3*2 replica-client pairs, all distinct.
	if want := 3 + replicas*clients; len(seen) != want {
		t.Errorf("%d distinct secrets, want %d", len(seen), want)
	}
}

func TestGenerateNoneWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := Generate(None, dir, 4, 1, GenOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Generate none touched %s: %v", dir, err)
	}
	if f := Files(None, dir, 4, 1); len(f) != 0 {
		t.Errorf("Files(none) = %v, want none", f)
	}
}

func TestGenerateRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(Ed25519, dir, 2, 0, GenOptions{}); err != nil {
		t.Fatal(err)
	}
	key := KeyFile(dir, Replica(0))
	before, _ := os.ReadFile(key)

	err := Generate(Ed25519, dir, 2, 0, GenOptions{})
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), key) {
		t.Fatalf("second Generate: got %v, want fs.ErrExist naming %s", err, key)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("a refused Generate changed a key")
	}
	// Force replaces the keys and repairs a loosened mode.
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Generate(Ed25519, dir, 2, 0, GenOptions{Force: true}); err != nil {
		t.Fatalf("Generate with Force: %v", err)
	}
	if after, _ := os.ReadFile(key); bytes.Equal(before, after) {
		t.Error("Generate with Force kept the old key")
	}
	checkFile(t, key)
}

func TestGenerateBadRequests(t *testing.T) {
	for _, tc := range []struct {
		name              string
		scheme            Scheme
		replicas, clients int
		opt               GenOptions
		want              string
	}{
		{"weak rsa", RSA, 4, 0, GenOptions{RSABits: 512}, "at least 1024"},
		{"huge rsa", RSA, 4, 0, GenOptions{RSABits: 1 << 20}, "maximum"},
		{"no replicas", Ed25519, 0, 0, GenOptions{}, "at least one replica"},
		{"negative clients", HMAC, 4, -1, GenOptions{}, "must not be negative"},
		{"unknown scheme", "dsa", 4, 0, GenOptions{}, `unknown scheme "dsa"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			err := Generate(tc.scheme, dir, tc.replicas, tc.clients, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a refused Generate created %s", dir)
			}
		})
	}
}
