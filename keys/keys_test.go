package keys

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// testRSABits keeps RSA key generation cheap in tests.
const testRSABits = 1024

// loadAll generates keys for a deployment on disk and loads every principal's
// authenticator back, the way replicas and clients do.
func loadAll(t testing.TB, scheme Scheme, replicas, clients int) map[Principal]Authenticator {
	t.Helper()
	dir := t.TempDir()
	if err := Generate(scheme, dir, replicas, clients, GenOptions{RSABits: testRSABits}); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	out := make(map[Principal]Authenticator)
	for _, p := range principals(replicas, clients) {
		a, err := Load(scheme, dir, p, replicas, clients)
		if err != nil {
			t.Fatalf("Load %s: %v", p, err)
		}
		if a.Scheme() != scheme || a.Self() != p {
			t.Fatalf("Load %s: got scheme %s self %s", p, a.Scheme(), a.Self())
		}
		out[p] = a
	}
	return out
}

// mustReject fails unless err wraps ErrBadAuth.
func mustReject(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrBadAuth) {
		t.Errorf("%s: got %v, want an error wrapping ErrBadAuth", what, err)
	}
}

func TestRoundTrip(t *testing.T) {
	const replicas, clients = 4, 2
	msg := []byte("pre-prepare view=0 seq=1 digest=abc")
	for _, scheme := range Schemes() {
		t.Run(string(scheme), func(t *testing.T) {
			auths := loadAll(t, scheme, replicas, clients)
			for signer, a := range auths {
				prefix := []byte("frame-header")
				sig, err := a.Sign(bytes.Clone(prefix), msg)
				if err != nil {
					t.Fatalf("%s Sign: %v", signer, err)
				}
				if !bytes.HasPrefix(sig, prefix) {
					t.Fatalf("%s Sign did not append to dst", signer)
				}
				sig = sig[len(prefix):]
				if len(sig) > a.MaxSize() {
					t.Errorf("%s Sign appended %d bytes, MaxSize is %d", signer, len(sig), a.MaxSize())
				}
				// Sign is for every replica.
				for id := range replicas {
					v := auths[Replica(uint32(id))]
					if v.Self() == signer {
						continue
					}
					if err := v.Verify(signer, msg, sig); err != nil {
						t.Errorf("%s verifying Sign of %s: %v", v.Self(), signer, err)
					}
				}
				// SignFor is for one receiver.
				for receiver, v := range auths {
					if !needs(signer, receiver) {
						continue
					}
					one, err := a.SignFor(nil, msg, receiver)
					if err != nil {
						t.Fatalf("%s SignFor %s: %v", signer, receiver, err)
					}
					if err := v.Verify(signer, msg, one); err != nil {
						t.Errorf("%s verifying SignFor of %s: %v", receiver, signer, err)
					}
				}
			}
		})
	}
}

func TestRejects(t *testing.T) {
	msg := []byte("commit view=3 seq=42")
	for _, scheme := range []Scheme{RSA, ECDSA, Ed25519, HMAC} {
		t.Run(string(scheme), func(t *testing.T) {
			auths := loadAll(t, scheme, 4, 1)
			signer, other, verifier := Replica(1), Replica(2), auths[Replica(0)]
			sig, err := auths[signer].Sign(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			tampered := bytes.Clone(msg)
			tampered[0] ^= 1
			mustReject(t, "tampered message", verifier.Verify(signer, tampered, sig))

			// Flip a bit in the part the verifier checks (for a MAC vector, its slot).
			bad := bytes.Clone(sig)
			if scheme == HMAC {
				bad[0] ^= 0x80 // replica 0's slot
			} else {
				bad[len(bad)/2] ^= 0x80
			}
			mustReject(t, "tampered authenticator", verifier.Verify(signer, msg, bad))
			mustReject(t, "wrong signer", verifier.Verify(other, msg, sig))
			mustReject(t, "empty authenticator", verifier.Verify(signer, msg, nil))
			mustReject(t, "truncated authenticator", verifier.Verify(signer, msg, sig[:len(sig)-1]))

			err = verifier.Verify(Client(7), msg, sig)
			mustReject(t, "unknown sender", err)
			if !errors.Is(err, ErrUnknownPrincipal) {
				t.Errorf("unknown sender: got %v, want ErrUnknownPrincipal", err)
			}
			if want := "client-7"; err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Errorf("unknown sender error %q does not name %s", err, want)
			}
			// Clients hear only from replicas.
			c, err := auths[Client(0)].Sign(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifier.Verify(Client(0), msg, c); err != nil {
				t.Errorf("replica verifying a client: %v", err)
			}
		})
	}
}

func TestDeterministicSignatures(t *testing.T) {
	msg := []byte("request client=0 seq=7")
	for _, scheme := range []Scheme{RSA, Ed25519} {
		auths := loadAll(t, scheme, 2, 0)
		a := auths[Replica(0)]
		s1, err1 := a.Sign(nil, msg)
		s2, err2 := a.SignFor(nil, msg, Replica(1))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v, %v", scheme, err1, err2)
		}
		if !bytes.Equal(s1, s2) {
			t.Errorf("%s: Sign and SignFor differ", scheme)
		}
	}
}

func TestHMACVector(t *testing.T) {
	msg := []byte("prepare view=0 seq=9")
	auths := loadAll(t, HMAC, 4, 2)
	r1 := auths[Replica(1)]
	if got, want := r1.MaxSize(), 4*MACSize; got != want {
		t.Errorf("MaxSize = %d, want %d", got, want)
	}
	vec, err := r1.Sign(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(vec) != 4*MACSize {
		t.Fatalf("vector has %d bytes, want %d", len(vec), 4*MACSize)
	}
	// Replica 1 checks its own slot (frames of its own come back embedded in
	// others' certificates); no other replica can forge that slot.
	if err := r1.Verify(Replica(1), msg, vec); err != nil {
		t.Errorf("replica 1 rejected its own vector: %v", err)
	}
	forged, _ := auths[Replica(2)].Sign(nil, msg)
	mustReject(t, "own slot forged by another replica", r1.Verify(Replica(1), msg, forged))
	for j := range 4 {
		if j == 1 {
			continue
		}
		one, err := r1.SignFor(nil, msg, Replica(uint32(j)))
		if err != nil {
			t.Fatal(err)
		}
		if len(one) != MACSize {
			t.Fatalf("SignFor appended %d bytes, want %d", len(one), MACSize)
		}
		if !bytes.Equal(one, vec[j*MACSize:(j+1)*MACSize]) {
			t.Errorf("slot %d of the vector is not the MAC for replica-%d", j, j)
		}
		// A receiver checks its own slot only: corrupting another leaves it valid.
		other := bytes.Clone(vec)
		other[((j+1)%4)*MACSize] ^= 1
		if (j+1)%4 != 1 {
			if err := auths[Replica(uint32(j))].Verify(Replica(1), msg, other); err != nil {
				t.Errorf("replica-%d rejected a vector with only another slot changed: %v", j, err)
			}
		}
	}
	// A client has no slot in a vector.
	reply, _ := r1.Sign(nil, msg)
	mustReject(t, "client given a vector", auths[Client(0)].Verify(Replica(1), msg, reply))
	// A MAC for client 0 does not convince client 1.
	mac, err := r1.SignFor(nil, msg, Client(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := auths[Client(0)].Verify(Replica(1), msg, mac); err != nil {
		t.Errorf("client-0: %v", err)
	}
	mustReject(t, "MAC for another client", auths[Client(1)].Verify(Replica(1), msg, mac))
	// Clients share no secrets.
	if _, err := auths[Client(0)].SignFor(nil, msg, Client(1)); !errors.Is(err, ErrUnknownPrincipal) {
		t.Errorf("client to client SignFor: got %v, want ErrUnknownPrincipal", err)
	}
	mustReject(t, "odd length", auths[Replica(0)].Verify(Replica(1), msg, vec[:3*MACSize]))
}

func TestHMACSingleReplica(t *testing.T) {
	msg := []byte("x")
	auths := loadAll(t, HMAC, 1, 1)
	c, r := auths[Client(0)], auths[Replica(0)]
	vec, err := c.Sign(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(Client(0), msg, vec); err != nil {
		t.Errorf("vector of one: %v", err)
	}
	own, err := r.Sign(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(own) != MACSize {
		t.Errorf("the only replica's vector should have one slot, got %x", own)
	}
	if err := r.Verify(Replica(0), msg, own); err != nil {
		t.Errorf("the only replica rejected its own vector: %v", err)
	}
}

func TestNone(t *testing.T) {
	auths := loadAll(t, None, 2, 1)
	a := auths[Client(0)]
	if a.MaxSize() != 0 {
		t.Errorf("MaxSize = %d, want 0", a.MaxSize())
	}
	out, err := a.Sign([]byte("hdr"), []byte("msg"))
	if err != nil || string(out) != "hdr" {
		t.Errorf("Sign = %q, %v; want dst unchanged", out, err)
	}
	v := auths[Replica(0)]
	if err := v.Verify(Client(0), []byte("msg"), nil); err != nil {
		t.Errorf("empty authenticator: %v", err)
	}
	mustReject(t, "signed message under none", v.Verify(Client(0), []byte("msg"), []byte{1}))
	mustReject(t, "unknown sender", v.Verify(Client(5), []byte("msg"), nil))
}

func TestGenerateInMemory(t *testing.T) {
	msg := []byte("in memory")
	for _, scheme := range Schemes() {
		t.Run(string(scheme), func(t *testing.T) {
			auths, err := GenerateInMemoryWith(scheme, 4, 1, GenOptions{RSABits: testRSABits})
			if err != nil {
				t.Fatal(err)
			}
			if len(auths) != 5 {
				t.Fatalf("got %d authenticators, want 5", len(auths))
			}
			sig, err := auths[Client(0)].Sign(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			for id := range 4 {
				if err := auths[Replica(uint32(id))].Verify(Client(0), msg, sig); err != nil {
					t.Errorf("replica-%d: %v", id, err)
				}
			}
		})
	}
}

func TestDefaultRSABits(t *testing.T) {
	auths, err := GenerateInMemory(RSA, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := auths[Replica(0)].MaxSize(), DefaultRSABits/8; got != want {
		t.Errorf("MaxSize = %d, want %d (a %d-bit key)", got, want, DefaultRSABits)
	}
}

// TestConcurrentUse shares authenticators between goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	for _, scheme := range []Scheme{Ed25519, HMAC} {
		auths, err := GenerateInMemory(scheme, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		signer, verifier := auths[Replica(1)], auths[Replica(0)]
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 20 {
					msg := fmt.Appendf(nil, "g%d i%d", g, i)
					sig, err := signer.Sign(nil, msg)
					if err == nil {
						err = verifier.Verify(Replica(1), msg, sig)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", scheme, err)
		}
	}
}

func TestParsePrincipal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Principal
		ok   bool
	}{
		{"replica-0", Replica(0), true},
		{"client-12", Client(12), true},
		{"replica-4294967295", Replica(4294967295), true},
		{"replica-4294967296", Principal{}, false},
		{"replica-", Principal{}, false},
		{"replica--1", Principal{}, false},
		{"server-1", Principal{}, false},
		{"", Principal{}, false},
	} {
		got, err := ParsePrincipal(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParsePrincipal(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("String of ParsePrincipal(%q) = %q", tc.in, got.String())
		}
	}
}
