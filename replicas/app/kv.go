package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Operations of the kv application. An operation (a request's payload) is
//
//	'G' uvarint(len(key)) key         get key
//	'P' uvarint(len(key)) key value   put key = value; the value is the rest of the op
//	'D' uvarint(len(key)) key         delete key
//
// Its result is one status byte, followed for a successful get by the value.
// docs/apps.md describes the format with examples.
const (
	OpGet    byte = 'G'
	OpPut    byte = 'P'
	OpDelete byte = 'D'
)

// Status bytes that start every kv result.
const (
	StatusOK       byte = 0 // done; a get's value follows
	StatusNotFound byte = 1 // get or delete of a key that is not there
	StatusBadOp    byte = 2 // malformed: unknown op code, truncated key, bytes after a get or delete
)

// AppendGet appends the operation that gets key to dst.
func AppendGet(dst, key []byte) []byte { return appendKeyOp(dst, OpGet, key) }

// AppendPut appends the operation that sets key to value to dst.
func AppendPut(dst, key, value []byte) []byte {
	return append(appendKeyOp(dst, OpPut, key), value...)
}

// AppendDelete appends the operation that deletes key to dst.
func AppendDelete(dst, key []byte) []byte { return appendKeyOp(dst, OpDelete, key) }

func appendKeyOp(dst []byte, op byte, key []byte) []byte {
	dst = binary.AppendUvarint(append(dst, op), uint64(len(key)))
	return append(dst, key...)
}

// parseOp splits an operation into its code, key and the bytes after the
// key; ok is false when the key length is unreadable or overruns op.
func parseOp(op []byte) (code byte, key, rest []byte, ok bool) {
	if len(op) == 0 {
		return 0, nil, nil, false
	}
	n, k := binary.Uvarint(op[1:])
	if k <= 0 || n > uint64(len(op)-1-k) {
		return 0, nil, nil, false
	}
	body := op[1+k:]
	return op[0], body[:n], body[n:], true
}

// KV is a deterministic in-memory key-value store.
//
// Its Digest is kept up to date as operations run, so that checkpoints cost
// the same with ten keys or a million: the store keeps the sum, modulo
// 2^256, of SHA-256(uvarint(len(key)) || key || value) over its pairs, and
// a put or delete subtracts the old pair's hash and adds the new one's.
// Addition commutes, so equal contents have equal digests whatever the
// history that led to them. (A sum of hashes is a set hash that a patient
// adversary could collide; it guards replicas against bugs, not attacks.)
type KV struct {
	m     map[string][]byte
	bytes int       // total length of keys and values, to size snapshots
	sum   [4]uint64 // the digest accumulator, most significant word first
	// scratch holds a pair while it is hashed, so hashing allocates nothing.
	scratch []byte
}

// NewKV returns an empty store.
func NewKV() *KV { return &KV{m: make(map[string][]byte)} }

// Len is the number of keys stored.
func (s *KV) Len() int { return len(s.m) }

// Execute applies one operation and appends its result to dst. A malformed
// operation changes nothing and returns StatusBadOp.
func (s *KV) Execute(dst, op []byte) []byte {
	code, key, rest, ok := parseOp(op)
	if !ok {
		return append(dst, StatusBadOp)
	}
	switch code {
	case OpGet:
		if len(rest) != 0 {
			break
		}
		v, found := s.m[string(key)]
		if !found {
			return append(dst, StatusNotFound)
		}
		return append(append(dst, StatusOK), v...)
	case OpPut:
		s.put(key, rest)
		return append(dst, StatusOK)
	case OpDelete:
		if len(rest) != 0 {
			break
		}
		v, found := s.m[string(key)]
		if !found {
			return append(dst, StatusNotFound)
		}
		s.mix(key, v, false)
		s.bytes -= len(key) + len(v)
		delete(s.m, string(key))
		return append(dst, StatusOK)
	}
	return append(dst, StatusBadOp)
}

func (s *KV) put(key, value []byte) {
	old, found := s.m[string(key)]
	if !found {
		s.m[string(key)] = bytes.Clone(value)
		s.bytes += len(key) + len(value)
		s.mix(key, value, true)
		return
	}
	s.mix(key, old, false)
	s.mix(key, value, true)
	s.bytes += len(value) - len(old)
	if len(value) == len(old) {
		// The common case of a benchmark: overwrite in place, no garbage
		// and no map write.
		copy(old, value)
		return
	}
	// Reuse the old memory when the value fits and wastes at most half of it.
	if len(value) <= cap(old) && cap(old) <= 2*len(value) {
		old = old[:len(value)]
		copy(old, value)
		s.m[string(key)] = old
		return
	}
	s.m[string(key)] = bytes.Clone(value)
}

// mix adds the hash of a pair to the digest accumulator, or subtracts it.
func (s *KV) mix(key, value []byte, add bool) {
	s.scratch = binary.AppendUvarint(s.scratch[:0], uint64(len(key)))
	s.scratch = append(append(s.scratch, key...), value...)
	h := sha256.Sum256(s.scratch)
	var carry uint64
	for i := 3; i >= 0; i-- {
		w := binary.BigEndian.Uint64(h[8*i:])
		if add {
			s.sum[i], carry = bits.Add64(s.sum[i], w, carry)
		} else {
			s.sum[i], carry = bits.Sub64(s.sum[i], w, carry)
		}
	}
}

// Digest summarises the contents in O(1): a hash of the number of keys and
// the accumulator described at KV.
func (s *KV) Digest() [32]byte {
	var b [len(kvDigestTag) + binary.MaxVarintLen64 + 32]byte
	buf := append(b[:0], kvDigestTag...)
	buf = binary.AppendUvarint(buf, uint64(len(s.m)))
	for _, w := range s.sum {
		buf = binary.BigEndian.AppendUint64(buf, w)
	}
	return sha256.Sum256(buf)
}

const kvDigestTag = "replbench kv digest\x00"

// kvMagic starts every kv snapshot: the format's name and version.
const kvMagic = "KV\x01"

// Snapshot serialises the store deterministically:
//
//	"KV\x01" uvarint(count) then per pair, in increasing key order:
//	uvarint(len(key)) key uvarint(len(value)) value
func (s *KV) Snapshot() []byte {
	keys := make([]string, 0, len(s.m))
	size := len(kvMagic) + uvarintLen(uint64(len(s.m))) + s.bytes
	for k, v := range s.m {
		keys = append(keys, k)
		size += uvarintLen(uint64(len(k))) + uvarintLen(uint64(len(v)))
	}
	slices.Sort(keys)
	out := make([]byte, 0, size)
	out = append(out, kvMagic...)
	out = binary.AppendUvarint(out, uint64(len(keys)))
	for _, k := range keys {
		v := s.m[k]
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// Restore replaces the contents by a snapshot's. It accepts only what
// Snapshot writes (keys strictly increasing, lengths in their shortest
// encoding, nothing left over), so a snapshot has one form, and it leaves
// the store as it was when the snapshot is malformed.
//
// The restored keys share one string and the values one array, so a large
// store costs the garbage collector two objects rather than two per pair.
// The price: a value that later grows moves out of the array, and the
// arrays stay allocated as long as any restored key or value is in use.
func (s *KV) Restore(snap []byte) error {
	body, ok := bytes.CutPrefix(snap, []byte(kvMagic))
	if !ok {
		return errors.New("app kv: snapshot does not start with the kv snapshot header")
	}
	count, k := binary.Uvarint(body)
	if k <= 0 || k != uvarintLen(count) {
		return errors.New("app kv: snapshot: unreadable pair count")
	}
	body = body[k:]
	// Each pair takes at least two bytes, which bounds the map made below.
	if count > uint64(len(body))/2 {
		return fmt.Errorf("app kv: snapshot: %d pairs cannot fit in %d bytes", count, len(body))
	}
	// First pass: check the structure and measure the arrays.
	var keyBytes, valueBytes int
	var prev []byte
	rest := body
	for i := range count {
		key, value, next, err := nextPair(rest)
		if err != nil {
			return fmt.Errorf("app kv: snapshot: pair %d: %w", i, err)
		}
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return fmt.Errorf("app kv: snapshot: pair %d: keys must strictly increase", i)
		}
		prev, rest = key, next
		keyBytes += len(key)
		valueBytes += len(value)
	}
	if len(rest) != 0 {
		return fmt.Errorf("app kv: snapshot: %d bytes after the last pair", len(rest))
	}
	// Second pass: copy keys and values into one array each and hash the
	// pairs. Nothing can fail any more.
	n := KV{scratch: s.scratch}
	var kb strings.Builder
	kb.Grow(keyBytes)
	values := make([]byte, 0, valueBytes)
	for rest = body; len(rest) > 0; {
		key, value, next, _ := nextPair(rest)
		kb.Write(key)
		values = append(values, value...)
		n.mix(key, value, true)
		rest = next
	}
	// Third pass: index the arrays.
	keys := kb.String()
	n.m = make(map[string][]byte, count)
	for rest = body; len(rest) > 0; {
		key, value, next, _ := nextPair(rest)
		n.m[keys[:len(key)]] = values[:len(value):len(value)]
		keys, values, rest = keys[len(key):], values[len(value):], next
	}
	n.bytes = keyBytes + valueBytes
	*s = n
	return nil
}

// nextPair reads one pair of a snapshot.
func nextPair(b []byte) (key, value, rest []byte, err error) {
	key, b, err = lengthPrefixed(b, "key")
	if err != nil {
		return nil, nil, nil, err
	}
	value, b, err = lengthPrefixed(b, "value")
	return key, value, b, err
}

func lengthPrefixed(b []byte, what string) (field, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || k != uvarintLen(n) {
		return nil, nil, fmt.Errorf("unreadable %s length", what)
	}
	if n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%s length %d overruns the snapshot", what, n)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
