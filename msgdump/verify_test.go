package msgdump

import (
	"strings"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// TestVerifyWithKeyDirectory signs traffic with keys from 'keygen' and checks
// it with LoadVerifier, for a signature scheme (public keys only) and hmac
// (as a replica).
func TestVerifyWithKeyDirectory(t *testing.T) {
	for _, tc := range []struct {
		scheme       keys.Scheme
		repliesCheck bool
	}{
		{keys.Ed25519, true},
		{keys.ECDSA, true},
		{keys.HMAC, false},
	} {
		t.Run(string(tc.scheme), func(t *testing.T) {
			dir := t.TempDir()
			if err := keys.Generate(tc.scheme, dir, 4, 2, keys.GenOptions{}); err != nil {
				t.Fatal(err)
			}
			k := &testKeys{scheme: tc.scheme, auths: make(map[keys.Principal]keys.Authenticator)}
			for _, p := range []keys.Principal{keys.Client(0), keys.Client(1), keys.Replica(2)} {
				a, err := keys.Load(tc.scheme, dir, p, 4, 2)
				if err != nil {
					t.Fatal(err)
				}
				k.auths[p] = a
			}
			bad := k.request(t, 1, 2, 0, "transfer 100")
			bad[31] ^= 1 // the first payload byte, after signing
			data := captureFile(t, keys.Replica(2),
				Record{at(0), Received, keys.Client(0), k.request(t, 0, 1, 0, "a")},
				Record{at(1), Received, keys.Client(1), k.request(t, 1, 1, wire.FlagReadOnly, "b")},
				Record{at(2), Received, keys.Client(1), bad},
				Record{at(3), Sent, keys.Client(0), k.reply(t, 2, 0, 1, 0, "ok")},
			)
			v, info, err := LoadVerifier(dir, keys.Replica(0))
			if err != nil {
				t.Fatal(err)
			}
			if info != (keys.DirInfo{Scheme: tc.scheme, Replicas: 4, Clients: 2}) {
				t.Errorf("key directory read as %+v", info)
			}
			out, sum := dump(t, Options{Verifier: v}, namedInput{"c", data})
			wantOK := 2
			if tc.repliesCheck {
				wantOK++
			}
			if sum.Verified != wantOK || sum.BadAuth != 1 {
				t.Errorf("verified %d, bad %d; want %d and 1:\n%s", sum.Verified, sum.BadAuth, wantOK, out)
			}
			mustContain(t, out, "client=1 session=1763717400000000001 seq=2 flags=- payload=12 auth=", " BAD\n")
			if !tc.repliesCheck && strings.Contains(out, "result=2 auth=16 ok") {
				t.Error("an hmac reply was marked verified, but no replica can check another's reply")
			}
		})
	}
}

func TestLoadVerifierErrors(t *testing.T) {
	hmacDir := t.TempDir()
	if err := keys.Generate(keys.HMAC, hmacDir, 4, 1, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		as        keys.Principal
		want      string
	}{
		{"hmac as a client", hmacDir, keys.Client(0), "verify as a replica, not client-0"},
		{"hmac as a replica outside", hmacDir, keys.Replica(9), "replica-9 is outside the deployment"},
		{"no keys (scheme none)", t.TempDir(), keys.Replica(0), "no replica keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := LoadVerifier(tc.dir, tc.as); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadVerifier: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
