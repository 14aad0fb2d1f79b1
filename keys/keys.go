// Package keys generates, stores and loads key material and turns it into
// authenticators: one factory, selected by scheme name, for every scheme
// replbench measures (rsa, ecdsa, ed25519 signatures; hmac and none baselines).
package keys

import (
	"errors"
	"fmt"
)

// Scheme names an authentication scheme. The same constants feed the CLI help
// and the spec validation, so the list is written down exactly once.
type Scheme string

const (
	RSA     Scheme = "rsa"     // RSA PKCS#1 v1.5 over SHA-256, 2048-bit keys by default
	ECDSA   Scheme = "ecdsa"   // ECDSA P-256 over SHA-256, ASN.1 signatures
	Ed25519 Scheme = "ed25519" // pure Ed25519
	HMAC    Scheme = "hmac"    // HMAC-SHA256 with pairwise secrets (MAC vectors for multicast)
	None    Scheme = "none"    // no authentication: the cost floor
)

// Schemes lists every supported scheme in the order help text shows them.
func Schemes() []Scheme { return []Scheme{RSA, ECDSA, Ed25519, HMAC, None} }

// SchemeNames is Schemes as strings, for flag help and error messages.
func SchemeNames() []string {
	s := Schemes()
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// ParseScheme returns the scheme called name or an error listing the valid names.
func ParseScheme(name string) (Scheme, error) {
	for _, s := range Schemes() {
		if string(s) == name {
			return s, nil
		}
	}
	return "", fmt.Errorf("unknown scheme %q (want one of %v)", name, SchemeNames())
}

// Role tells replicas and clients apart; they have separate id spaces.
type Role uint8

const (
	RoleReplica Role = 1
	RoleClient  Role = 2
)

// Principal is one party that holds a key: replica i or client i.
type Principal struct {
	Role Role
	ID   uint32
}

// Replica and Client build principals.
func Replica(id uint32) Principal { return Principal{RoleReplica, id} }
func Client(id uint32) Principal  { return Principal{RoleClient, id} }

func (p Principal) String() string {
	switch p.Role {
	case RoleReplica:
		return fmt.Sprintf("replica-%d", p.ID)
	case RoleClient:
		return fmt.Sprintf("client-%d", p.ID)
	}
	return fmt.Sprintf("principal(%d)-%d", p.Role, p.ID)
}

// ErrBadAuth is returned (wrapped) by Verify for an authenticator that does not check out.
var ErrBadAuth = errors.New("authenticator does not verify")

// Authenticator is one principal's handle on a scheme: it authenticates
// messages as that principal and verifies messages from others. It is safe
// for concurrent use, so a pool of workers can share one.
//
// Signature schemes produce one signature that anyone can check. HMAC
// produces a MAC per receiver: SignFor a single receiver, Sign a vector with
// one MAC per replica (index = replica id) so one multicast serves all.
type Authenticator interface {
	Scheme() Scheme
	Self() Principal
	// Sign appends to dst an authenticator of msg that every replica can verify.
	Sign(dst, msg []byte) ([]byte, error)
	// SignFor appends to dst an authenticator of msg for receiver to alone.
	SignFor(dst, msg []byte, to Principal) ([]byte, error)
	// Verify checks auth on msg as sent by from (by Sign or SignFor); it returns
	// an error wrapping ErrBadAuth when it does not verify.
	Verify(from Principal, msg, auth []byte) error
	// MaxSize bounds the length of what Sign appends (for buffer sizing).
	MaxSize() int
}
