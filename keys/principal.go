package keys

import (
	"fmt"
	"strconv"
	"strings"
)

// ParsePrincipal is the inverse of Principal.String: "replica-3" or "client-0".
func ParsePrincipal(s string) (Principal, error) {
	for _, r := range []struct {
		prefix string
		role   Role
	}{{"replica-", RoleReplica}, {"client-", RoleClient}} {
		if rest, ok := strings.CutPrefix(s, r.prefix); ok {
			id, err := strconv.ParseUint(rest, 10, 32)
			if err != nil {
				return Principal{}, fmt.Errorf("bad principal %q: id must be a number", s)
			}
			return Principal{r.role, uint32(id)}, nil
		}
	}
	return Principal{}, fmt.Errorf("bad principal %q (want replica-N or client-N)", s)
}

// principals lists replicas 0..replicas-1 then clients 0..clients-1, the
// order in which generation and help output walk them.
func principals(replicas, clients int) []Principal {
	out := make([]Principal, 0, replicas+clients)
	for i := range replicas {
		out = append(out, Replica(uint32(i)))
	}
	for i := range clients {
		out = append(out, Client(uint32(i)))
	}
	return out
}

// needs reports whether self must hold key material for peer: replicas talk
// to everyone, clients only to replicas. HMAC uses it for which secrets exist,
// signatures for which public keys to load; the same rule keeps both honest.
func needs(self, peer Principal) bool {
	if self == peer {
		return false
	}
	return self.Role == RoleReplica || peer.Role == RoleReplica
}

// inRange reports whether p is one of the configured principals.
func inRange(p Principal, replicas, clients int) bool {
	switch p.Role {
	case RoleReplica:
		return int64(p.ID) < int64(replicas)
	case RoleClient:
		return int64(p.ID) < int64(clients)
	}
	return false
}

// checkCounts validates the size of a deployment.
func checkCounts(replicas, clients int) error {
	if replicas < 1 {
		return fmt.Errorf("need at least one replica, got %d", replicas)
	}
	if clients < 0 {
		return fmt.Errorf("number of clients must not be negative, got %d", clients)
	}
	return nil
}

// checkSelf validates the deployment and that self belongs to it.
func checkSelf(self Principal, replicas, clients int) error {
	if err := checkCounts(replicas, clients); err != nil {
		return err
	}
	if !inRange(self, replicas, clients) {
		return fmt.Errorf("%s is outside the deployment (%d replicas, %d clients)", self, replicas, clients)
	}
	return nil
}
