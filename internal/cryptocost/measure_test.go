package cryptocost

import (
	"context"
	"encoding/pem"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/replbench/replbench/keys"
)

func TestMeasure(t *testing.T) {
	costs, err := Measure(context.Background(), Options{
		Schemes: []keys.Scheme{keys.Ed25519, keys.HMAC, keys.None},
		Sizes:   []int{100, 4096}, Replicas: 4, Run: 2 * time.Millisecond, Runs: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 3 {
		t.Fatalf("%d costs, want 3", len(costs))
	}
	for _, c := range costs {
		for _, size := range []int{100, 4096, FitSize} {
			for _, op := range []Op{Sign, SignFor, Verify} {
				s, ok := c.Sample(op, size)
				if !ok {
					t.Errorf("%s: no %s sample at %d bytes", c.Scheme, op, size)
					continue
				}
				if s.Runs < 3 || s.Iters < 1 || s.MinNs > s.NsPerOp || s.NsPerOp > s.MaxNs || s.NsPerOp < 0 {
					t.Errorf("%s %s at %d: implausible sample %+v", c.Scheme, op, size, s)
				}
			}
		}
		// SignFor is timed on its own only where it differs from Sign.
		apart := false
		for _, s := range c.Samples {
			apart = apart || s.Op == SignFor
		}
		if apart != (c.Scheme == keys.HMAC) {
			t.Errorf("%s: SignFor measured apart from Sign: %v", c.Scheme, apart)
		}
	}
	ed, mac := &costs[0], &costs[1]
	// Ed25519 verification is two orders of magnitude dearer than a MAC;
	// a factor of 10 leaves room for any machine.
	if v, m := ed.At(Verify, 100), mac.At(Verify, 100); v < 10*m || m <= 0 {
		t.Errorf("ed25519 verify %.0f ns, hmac verify %.0f ns", v, m)
	}
	// Hashing 16 KiB costs more than hashing 100 bytes.
	if _, per := ed.Line(Sign); per <= 0 {
		t.Errorf("ed25519 sign: per-byte cost %g", per)
	}
	// Under hmac Sign is one MAC per replica and SignFor one MAC.
	if one, all := mac.At(SignFor, 100), mac.At(Sign, 100); one >= all {
		t.Errorf("hmac: one MAC %.0f ns, a vector of 4 %.0f ns", one, all)
	}
	for _, c := range []struct {
		cost              *Cost
		pub, auth, vector int
	}{
		{ed, 44, 64, 64},
		{mac, 32, keys.MACSize, 4 * keys.MACSize},
		{&costs[2], 0, 0, 0},
	} {
		if c.cost.PublicKey != c.pub || c.cost.Auth != c.auth || c.cost.Vector != c.vector {
			t.Errorf("%s: key %d, auth %d, vector %d bytes; want %d, %d, %d", c.cost.Scheme,
				c.cost.PublicKey, c.cost.Auth, c.cost.Vector, c.pub, c.auth, c.vector)
		}
	}
}

func TestMeasureStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Measure(ctx, Options{Schemes: []keys.Scheme{keys.None}, Run: time.Millisecond})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Measure after cancel: %v", err)
	}
	if _, err := Measure(context.Background(), Options{Sizes: []int{-1}}); err == nil {
		t.Error("Measure accepted a negative size")
	}
}

func TestMeasureFailingOp(t *testing.T) {
	boom := errors.New("boom")
	if _, err := measure(func() error { return boom }, time.Millisecond, 1); !errors.Is(err, boom) {
		t.Errorf("measure of a failing op: %v", err)
	}
}

// TestKeySizes checks the sizes the table reports against the files
// keygen writes: DER inside the PEM of every public key, and the secret
// in an hmac key file.
func TestKeySizes(t *testing.T) {
	for _, s := range []keys.Scheme{keys.RSA, keys.ECDSA, keys.Ed25519, keys.HMAC} {
		dir := t.TempDir()
		const bits = 1024 // the smallest RSA keys generate fastest; the length rule is the same
		if err := keys.Generate(s, dir, 1, 0, keys.GenOptions{RSABits: bits}); err != nil {
			t.Fatal(err)
		}
		path := keys.PublicKeyFile(dir, keys.Replica(0))
		if s == keys.HMAC {
			if err := keys.Generate(s, dir, 2, 0, keys.GenOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
			path = keys.KeyFile(dir, keys.Replica(0))
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatalf("%s: %s holds no PEM", s, path)
		}
		got, err := publicKeySize(s, bits)
		if err != nil {
			t.Fatal(err)
		}
		if got != len(block.Bytes) {
			t.Errorf("%s: reported %d bytes, keygen wrote %d", s, got, len(block.Bytes))
		}
	}
	if got, _ := publicKeySize(keys.RSA, 2048); got != 294 {
		t.Errorf("rsa-2048 public key: %d bytes, want 294", got)
	}
}
