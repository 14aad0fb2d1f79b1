package msgdump

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// t0 is the start of every synthetic capture, so output is the same on every run.
var t0 = time.Date(2025, 11, 21, 9, 30, 0, 0, time.UTC)

// testKeys are a deployment of 4 replicas and 3 clients with keys derived
// from fixed seeds, so that signatures and MACs, and so the golden files,
// never change.
type testKeys struct {
	scheme keys.Scheme
	auths  map[keys.Principal]keys.Authenticator
}

const testReplicas, testClients = 4, 3

func fixedKeys(t testing.TB, scheme keys.Scheme) *testKeys {
	t.Helper()
	ps := []keys.Principal{}
	for i := range testReplicas {
		ps = append(ps, keys.Replica(uint32(i)))
	}
	for i := range testClients {
		ps = append(ps, keys.Client(uint32(i)))
	}
	k := &testKeys{scheme: scheme, auths: make(map[keys.Principal]keys.Authenticator)}
	for _, self := range ps {
		var (
			a   keys.Authenticator
			err error
		)
		switch scheme {
		case keys.Ed25519:
			pub := func(p keys.Principal) ed25519.PublicKey { return seedKey(p).Public().(ed25519.PublicKey) }
			var replicaKeys, clientKeys []crypto.PublicKey
			for i := range testReplicas {
				replicaKeys = append(replicaKeys, pub(keys.Replica(uint32(i))))
			}
			for i := range testClients {
				clientKeys = append(clientKeys, pub(keys.Client(uint32(i))))
			}
			a, err = keys.NewSignatureAuthenticator(self, seedKey(self), replicaKeys, clientKeys)
		case keys.HMAC:
			secrets := make(map[keys.Principal][]byte)
			for _, p := range ps {
				secrets[p] = pairSecret(self, p)
			}
			a, err = keys.NewHMACAuthenticator(self, testReplicas, testClients, secrets)
		case keys.None:
			a, err = keys.NewNoneAuthenticator(self, testReplicas, testClients)
		}
		if err != nil {
			t.Fatalf("keys for %s: %v", self, err)
		}
		k.auths[self] = a
	}
	return k
}

func seedKey(p keys.Principal) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("msgdump test key " + p.String()))
	return ed25519.NewKeyFromSeed(seed[:])
}

// pairSecret is the secret a and b share, the same whichever asks.
func pairSecret(a, b keys.Principal) []byte {
	x, y := a.String(), b.String()
	if x > y {
		x, y = y, x
	}
	s := sha256.Sum256([]byte("msgdump test secret " + x + " " + y))
	return s[:]
}

// request builds a sealed request authenticated by the client.
// testSession is the session of the test captures' clients: a process
// started at 2025-11-21T09:30:00Z, plus the client id.
const testSession = 1763717400000000000

func (k *testKeys) request(t testing.TB, client uint32, seq uint64, flags uint8, payload string) []byte {
	t.Helper()
	f := wire.AppendRequest(nil, &wire.Request{Client: client, Session: testSession + uint64(client), Seq: seq, Flags: flags, Payload: []byte(payload)})
	auth, err := k.auths[keys.Client(client)].Sign(nil, wire.SignedBytes(f))
	if err != nil {
		t.Fatal(err)
	}
	return wire.Seal(f, auth)
}

// reply builds a sealed reply from replica to client.
func (k *testKeys) reply(t testing.TB, replica, client uint32, seq, view uint64, result string) []byte {
	t.Helper()
	f := wire.AppendReply(nil, &wire.Reply{Replica: replica, Client: client, Session: testSession + uint64(client), Seq: seq, View: view, Result: []byte(result)})
	auth, err := k.auths[keys.Replica(replica)].SignFor(nil, wire.SignedBytes(f), keys.Client(client))
	if err != nil {
		t.Fatal(err)
	}
	return wire.Seal(f, auth)
}

// sealed seals an unsealed protocol frame from replica.
func (k *testKeys) sealed(t testing.TB, replica uint32, f []byte) []byte {
	t.Helper()
	auth, err := k.auths[keys.Replica(replica)].Sign(nil, wire.SignedBytes(f))
	if err != nil {
		t.Fatal(err)
	}
	return wire.Seal(f, auth)
}

// handshake returns a hello, challenge and proof between a dialer and an acceptor.
func (k *testKeys) handshake(t testing.TB, dialer, acceptor keys.Principal) (hello, challenge, proof []byte) {
	t.Helper()
	var dn, an [wire.NonceSize]byte
	copy(dn[:], "dialer nonce "+dialer.String())
	copy(an[:], "acceptor nonce "+acceptor.String())
	hello = wire.AppendHello(nil, &wire.Hello{From: dialer, To: acceptor, Nonce: dn})
	ca, err := k.auths[acceptor].SignFor(nil, wire.AppendTranscript(nil, wire.SideAcceptor, dialer, acceptor, &dn, &an), dialer)
	if err != nil {
		t.Fatal(err)
	}
	challenge = wire.AppendChallenge(nil, &wire.Challenge{From: acceptor, Nonce: an, Auth: ca})
	pa, err := k.auths[dialer].SignFor(nil, wire.AppendTranscript(nil, wire.SideDialer, dialer, acceptor, &dn, &an), acceptor)
	if err != nil {
		t.Fatal(err)
	}
	proof = wire.AppendProof(nil, &wire.Proof{Sender: dialer.ID, Auth: pa})
	return hello, challenge, proof
}

// dump runs a Dumper over inputs and returns what it wrote.
func dump(t testing.TB, opt Options, inputs ...namedInput) (string, Summary) {
	t.Helper()
	var out bytes.Buffer
	d := New(&out, opt)
	for _, in := range inputs {
		if err := d.Dump(in.name, bytes.NewReader(in.data)); err != nil {
			t.Fatalf("Dump %s: %v", in.name, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.String(), d.Summary()
}

type namedInput struct {
	name string
	data []byte
}

// captureFile writes records into a capture taken by self.
func captureFile(t testing.TB, self keys.Principal, recs ...Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewCaptureWriter(&buf, CaptureHeader{Self: self, Start: t0, Tool: "replbench test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !bytes.Contains([]byte(out), []byte(w)) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}
