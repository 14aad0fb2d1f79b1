package experiments

import (
	"fmt"
	"strconv"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols/registry"
)

// authSize bounds the authenticator scheme appends for a cluster of n
// replicas: what keys' Authenticator.MaxSize reports once keys exist (the
// test checks the two agree).
func authSize(scheme keys.Scheme, n, rsaBits int) int {
	switch scheme {
	case keys.RSA:
		return (rsaBits + 7) / 8
	case keys.ECDSA:
		return 72 // ASN.1 SEQUENCE of two 33-byte INTEGERs at most
	case keys.Ed25519:
		return 64
	case keys.HMAC:
		return n * keys.MACSize // a MAC per replica
	}
	return 0
}

// requestSize is the largest sealed request a point's clients send: the
// request fields, the payload (for ycsb, a put of the payload as value to
// the longest key) and the client's authenticator.
func requestSize(s *Spec) int {
	payload := int(s.Load.Payload)
	if s.Load.Kind == WorkloadYCSB {
		// op code, key length (one uvarint byte), "user" and the key number.
		payload += 2 + len("user") + len(strconv.Itoa(max(s.Load.Keys-1, 0)))
	}
	empty := wire.AppendRequest(nil, &wire.Request{})
	return len(empty) + payload + authSize(s.Crypto.Clients, s.Replicas, s.Crypto.RSABits) + 2
}

// batchBudget is the batch byte cap the point's replicas apply (see
// replicas.BatchBudget), 0 for none, with the message that bounds it.
func batchBudget(s *Spec) (int, string) {
	p, err := registry.Lookup(string(s.Protocol))
	if err != nil || p.BatchBudget == nil {
		return 0, ""
	}
	return p.BatchBudget(wire.DefaultMaxFrame, s.Replicas, authSize(s.Crypto.Replicas, s.Replicas, s.Crypto.RSABits))
}

// checkRequestSize refuses a point whose requests can never be ordered:
// larger than a frame, or than the largest batch the protocol can carry
// through every message that holds one. Replicas would refuse each such
// request (counted as oversized), so the run would measure nothing.
func checkRequestSize(c *errs, s *Spec, blame func(...string) int, where string) {
	if p, err := registry.Lookup(string(s.Protocol)); err != nil || p.CheckReplicas(s.Replicas) != nil {
		return // reported already; the budget needs a valid cluster
	}
	size := requestSize(s)
	line := blame("load.payload", "protocol", "replicas", "crypto.clients", "crypto.replicas")
	limit := Size(wire.DefaultMaxFrame)
	if size-4 > wire.DefaultMaxFrame {
		c.addLine(line, "load.payload", fmt.Sprintf("a request of %v payload is a %v frame, over the %v frame limit%s",
			s.Load.Payload, Size(size), limit, where))
		return
	}
	budget, why := batchBudget(s)
	if budget == 0 || 4+size <= budget {
		return
	}
	// The largest payload that fits, rounded down to what a spec would say.
	most := Size(max(0, int(s.Load.Payload)-(4+size-budget)) / 1024 * 1024)
	c.addLine(line, "load.payload", fmt.Sprintf("%s cannot order %v requests with %d replicas: %s, within the %v frame limit, so a batch holds at most %.2fMiB (%d bytes) and the largest payload is %v%s",
		s.Protocol, s.Load.Payload, s.Replicas, why, limit, float64(budget)/(1<<20), budget, most, where))
}
