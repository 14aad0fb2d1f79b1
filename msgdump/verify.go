package msgdump

import (
	"fmt"

	"github.com/replbench/replbench/keys"
)

// LoadVerifier reads what checking client authenticators takes from a key
// directory made by 'replbench keygen': for a signature scheme the public
// keys of every principal, which check requests and replies alike; for hmac
// the secrets of replica as, whose slot of each request's MAC vector it
// checks (a reply's MAC is for its client alone, so replies go unchecked).
func LoadVerifier(dir string, as keys.Principal) (keys.Verifier, keys.DirInfo, error) {
	info, err := keys.InspectDir(dir)
	if err != nil {
		return nil, info, err
	}
	if info.Scheme.Signs() {
		v, err := keys.LoadPublic(info.Scheme, dir, info.Replicas, info.Clients)
		return v, info, err
	}
	if as.Role != keys.RoleReplica {
		return nil, info, fmt.Errorf("hmac keys in %s: verify as a replica, not %s (a request's MACs are one per replica)", dir, as)
	}
	a, err := keys.Load(info.Scheme, dir, as, info.Replicas, info.Clients)
	return a, info, err
}
