package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"slices"
	"sync"
)

// MACSize is the length of one HMAC authenticator: HMAC-SHA256 truncated to
// 16 bytes. PBFT's authenticators use short MACs too (Castro and Liskov
// truncate theirs), because a multicast carries one MAC per replica; 128 bits
// keep forgery out of reach while halving the vector.
const MACSize = 16

// MinSecretSize is the shortest pairwise secret accepted; Generate makes 32.
const MinSecretSize = 16

// secretSize is what Generate writes: SHA-256's output size, the key length
// HMAC-SHA256 is designed for.
const secretSize = 32

// hmacAuth holds one secret per peer. The MAC does not name the direction
// (A to B and B to A share a key); protocol messages carry their sender, which
// the receiver checks, so a reflected message is not mistaken for the peer's.
type hmacAuth struct {
	self     Principal
	replicas []*macKey // index = replica id; for self, a key only self can derive
	clients  []*macKey // index = client id; nil when not shared
}

var _ Authenticator = (*hmacAuth)(nil)

// NewHMACAuthenticator builds an hmac authenticator for self from the secrets
// it shares with each peer. A replica needs a secret with every other replica
// and every client, a client one with every replica; other entries in secrets
// are ignored. The secrets are copied.
func NewHMACAuthenticator(self Principal, replicas, clients int, secrets map[Principal][]byte) (Authenticator, error) {
	if err := checkSelf(self, replicas, clients); err != nil {
		return nil, fmt.Errorf("hmac authenticator: %w", err)
	}
	a := &hmacAuth{self: self, replicas: make([]*macKey, replicas)}
	var own []byte
	if self.Role == RoleReplica {
		a.clients = make([]*macKey, clients)
	}
	for _, p := range principals(replicas, clients) {
		if !needs(self, p) {
			continue
		}
		s, ok := secrets[p]
		if !ok {
			return nil, fmt.Errorf("hmac authenticator for %s: no secret shared with %s", self, p)
		}
		if len(s) < MinSecretSize {
			return nil, fmt.Errorf("hmac authenticator for %s: secret shared with %s has %d bytes, want at least %d",
				self, p, len(s), MinSecretSize)
		}
		k := newMACKey(s)
		if p.Role == RoleReplica {
			a.replicas[p.ID] = k
		} else {
			a.clients[p.ID] = k
		}
		own = append(own, s...)
	}
	if self.Role == RoleReplica && len(own) > 0 {
		// A replica's own slot is keyed by a hash of all its secrets: no peer
		// can compute it, and the replica can check frames of its own that
		// come back embedded in others' messages (certificates, new views).
		sum := sha256.Sum256(append([]byte("replbench hmac self slot\x00"), own...))
		a.replicas[self.ID] = newMACKey(sum[:])
	}
	return a, nil
}

func (a *hmacAuth) Scheme() Scheme  { return HMAC }
func (a *hmacAuth) Self() Principal { return a.self }

// MaxSize is the size of a vector; SignFor appends only MACSize.
func (a *hmacAuth) MaxSize() int { return len(a.replicas) * MACSize }

func (a *hmacAuth) key(p Principal) *macKey {
	switch {
	case p.Role == RoleReplica && int64(p.ID) < int64(len(a.replicas)):
		return a.replicas[p.ID]
	case p.Role == RoleClient && int64(p.ID) < int64(len(a.clients)):
		return a.clients[p.ID]
	}
	return nil
}

// Sign appends a vector with one MAC per replica, slot i for replica i, so a
// single multicast convinces every replica, the sender itself included.
func (a *hmacAuth) Sign(dst, msg []byte) ([]byte, error) {
	off := len(dst)
	dst = slices.Grow(dst, len(a.replicas)*MACSize)[:off+len(a.replicas)*MACSize]
	for i, k := range a.replicas {
		slot := dst[off+i*MACSize : off+(i+1)*MACSize]
		if k == nil {
			clear(slot)
			continue
		}
		k.mac(slot, msg)
	}
	return dst, nil
}

func (a *hmacAuth) SignFor(dst, msg []byte, to Principal) ([]byte, error) {
	k := a.key(to)
	if k == nil {
		return dst, fmt.Errorf("hmac sign as %s for %s: no shared secret: %w", a.self, to, ErrUnknownPrincipal)
	}
	off := len(dst)
	dst = slices.Grow(dst, MACSize)[:off+MACSize]
	k.mac(dst[off:], msg)
	return dst, nil
}

// Verify accepts a single MAC (from SignFor) or a vector (from Sign), of which
// it checks self's slot. With one replica the two have the same length and,
// by construction, the same content.
func (a *hmacAuth) Verify(from Principal, msg, auth []byte) error {
	k := a.key(from)
	if k == nil {
		return unknownSender(HMAC, from)
	}
	switch len(auth) {
	case MACSize:
	case len(a.replicas) * MACSize:
		if a.self.Role != RoleReplica {
			return badAuth(HMAC, from, fmt.Sprintf("a MAC vector is for replicas, and %s is not one", a.self))
		}
		auth = auth[a.self.ID*MACSize:][:MACSize]
	default:
		return badAuth(HMAC, from, fmt.Sprintf("%d bytes, want %d (one MAC) or %d (vector)",
			len(auth), MACSize, len(a.replicas)*MACSize))
	}
	var want [MACSize]byte
	k.mac(want[:], msg)
	if subtle.ConstantTimeCompare(want[:], auth) != 1 {
		return badAuth(HMAC, from, "")
	}
	return nil
}

// macKey computes MACs under one secret. hmac.New costs two SHA-256 blocks
// of key set-up and several allocations; pooling keyed states makes a MAC
// allocation-free and skips the set-up (see BenchmarkHMACState).
type macKey struct {
	pool sync.Pool // of *macState
}

type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newMACKey(secret []byte) *macKey {
	secret = slices.Clone(secret)
	k := &macKey{}
	k.pool.New = func() any { return &macState{h: hmac.New(sha256.New, secret)} }
	return k
}

// mac writes the truncated MAC of msg into out[:MACSize].
func (k *macKey) mac(out, msg []byte) {
	st := k.pool.Get().(*macState)
	st.h.Write(msg)
	st.h.Sum(st.sum[:0])
	copy(out[:MACSize], st.sum[:])
	st.h.Reset()
	k.pool.Put(st)
}
