package experiments

import (
	"fmt"
	"strings"
	"testing"

	"github.com/replbench/replbench/keys"
)

// TestRequestSizeRefused: a spec whose requests no batch of its protocol
// can carry is refused at load, at the payload's line, saying why and what
// the largest payload is; that largest payload is accepted and one KiB more
// is not; what fits is accepted.
func TestRequestSizeRefused(t *testing.T) {
	base := "protocol: %s\nreplicas: %d\ncrypto: {replicas: ed25519, clients: hmac}\nload:\n  payload: %s\n"
	tests := []struct {
		protocol string
		n        int
		payload  string
		want     string // "" when the spec is valid
	}{
		{"pbft", 4, "9MiB", "spec.yaml:5: load.payload: pbft cannot order 9MiB requests with 4 replicas: a PBFT new-view carries 3 view-changes, each with a prepared batch, within the 16MiB frame limit, so a batch holds at most 5.33MiB (5590997 bytes) and the largest payload is 5459KiB"},
		{"pbft", 4, "5459KiB", ""},
		{"pbft", 4, "5460KiB", "largest payload is 5459KiB"},
		{"pbft", 7, "4MiB", "spec.yaml:5: load.payload: pbft cannot order 4MiB requests with 7 replicas: a PBFT new-view carries 5 view-changes"},
		{"pbft", 4, "2MiB", ""},
		{"hotstuff", 4, "9MiB", ""},
		{"hotstuff", 4, "16383KiB", "spec.yaml:5: load.payload: hotstuff cannot order 16383KiB requests with 4 replicas: a HotStuff block travels with a QC inside a fetch answer, within the 16MiB frame limit"},
		{"unreplicated", 1, "16383KiB", ""},
		{"unreplicated", 1, "16777200B", "spec.yaml:5: load.payload: a request of 16777200B payload is a"},
	}
	for _, tt := range tests {
		src := fmt.Sprintf(base, tt.protocol, tt.n, tt.payload)
		got := parseErr(src)
		switch {
		case tt.want == "" && got != "":
			t.Errorf("%s n=%d payload %s: refused: %s", tt.protocol, tt.n, tt.payload, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("%s n=%d payload %s:\ngot  %s\nwant %s", tt.protocol, tt.n, tt.payload, got, tt.want)
		}
	}
	// A swept payload is blamed on the sweep's line, naming the point.
	got := parseErr("protocol: pbft\nreplicas: 4\nsweep:\n  load.payload: [1MiB, 9MiB]\n")
	if want := "spec.yaml:4: load.payload: pbft cannot order 9MiB requests"; !strings.HasPrefix(got, want) || !strings.Contains(got, "(at point load.payload=9MiB)") {
		t.Errorf("swept payload:\ngot  %s\nwant %s ... (at point load.payload=9MiB)", got, want)
	}
}

// TestAuthSizeMatchesKeys: the authenticator sizes the check assumes are
// those of real keys.
func TestAuthSizeMatchesKeys(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.RSA, keys.ECDSA, keys.Ed25519, keys.HMAC, keys.None} {
		opt := keys.GenOptions{RSABits: 1024}
		auths, err := keys.GenerateInMemoryWith(scheme, 4, 1, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []keys.Principal{keys.Replica(0), keys.Client(0)} {
			if got, want := auths[p].MaxSize(), authSize(scheme, 4, 1024); got != want {
				t.Errorf("%s %v: MaxSize %d, the spec check assumes %d", scheme, p, got, want)
			}
		}
	}
}
