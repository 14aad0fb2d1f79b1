package protocols

import (
	"encoding/binary"
	"errors"
	"sort"

	"github.com/replbench/replbench/internal/wire"
)

// Sessions is the replicated per-client table that makes execution
// exactly-once, shared by the replicated cores: every request up to low
// has executed (its result cached for retransmissions), and above holds
// results of requests that executed out of order while earlier ones were
// still outstanding. It is part of the checkpointed state, so a replica
// that transfers state dedups like the rest.
type Sessions struct {
	m map[uint32]*session
}

type session struct {
	low       uint64
	lowResult []byte
	above     map[uint64][]byte
}

func (s *Sessions) Init() { s.m = make(map[uint32]*session) }

// Lookup reports whether (client, seq) executed: done with its cached
// result, or old when it executed too long ago to have a result kept.
func (s *Sessions) Lookup(client uint32, seq uint64) (result []byte, done, old bool) {
	x := s.m[client]
	switch {
	case x == nil:
		return nil, false, false
	case seq == x.low && seq != 0:
		return x.lowResult, true, false
	case seq < x.low:
		return nil, false, true
	}
	r, ok := x.above[seq]
	return r, ok, false
}

// Low is the client's request number up to which all executed.
func (s *Sessions) Low(client uint32) uint64 {
	if x := s.m[client]; x != nil {
		return x.low
	}
	return 0
}

// Record notes that (client, seq) executed with result.
func (s *Sessions) Record(client uint32, seq uint64, result []byte) {
	x := s.m[client]
	if x == nil {
		x = &session{}
		s.m[client] = x
	}
	if seq != x.low+1 {
		if x.above == nil {
			x.above = make(map[uint64][]byte)
		}
		x.above[seq] = result
		return
	}
	x.low, x.lowResult = seq, result
	for {
		r, ok := x.above[x.low+1]
		if !ok {
			break
		}
		delete(x.above, x.low+1)
		x.low, x.lowResult = x.low+1, r
	}
}

// AppendTo encodes the table deterministically (clients and sequence
// numbers in order), for snapshots.
func (s *Sessions) AppendTo(dst []byte) []byte {
	ids := make([]uint32, 0, len(s.m))
	for id := range s.m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(ids)))
	for _, id := range ids {
		x := s.m[id]
		dst = binary.BigEndian.AppendUint32(dst, id)
		dst = binary.BigEndian.AppendUint64(dst, x.low)
		dst = appendBlob(dst, x.lowResult)
		seqs := make([]uint64, 0, len(x.above))
		for q := range x.above {
			seqs = append(seqs, q)
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(seqs)))
		for _, q := range seqs {
			dst = binary.BigEndian.AppendUint64(dst, q)
			dst = appendBlob(dst, x.above[q])
		}
	}
	return dst
}

// ErrSnapshot reports a snapshot that does not decode.
var ErrSnapshot = errors.New("malformed snapshot")

// Decode replaces the table by the one encoded in b and returns the rest.
func (s *Sessions) Decode(b []byte) ([]byte, error) {
	r := reader{b: b}
	n := r.u32()
	m := make(map[uint32]*session)
	for i := uint32(0); i < n && r.ok(); i++ {
		id := r.u32()
		x := &session{low: r.u64(), lowResult: r.blob()}
		k := r.u32()
		for j := uint32(0); j < k && r.ok(); j++ {
			if x.above == nil {
				x.above = make(map[uint64][]byte)
			}
			q := r.u64()
			x.above[q] = r.blob()
		}
		m[id] = x
	}
	if !r.ok() {
		return nil, ErrSnapshot
	}
	s.m = m
	return r.b, nil
}

func appendBlob(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// reader decodes snapshots; the first short read makes ok false for good.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) ok() bool { return !r.bad }

func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) blob() []byte {
	n := r.u32()
	if r.bad || uint64(n) > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	return append([]byte(nil), r.take(int(n))...)
}

// Execute runs request r on app exactly once. A request that executed
// already is answered from the table (or, executed too long ago for its
// result to be kept, not at all); a new one executes at position *execs+1
// of the total order, is recorded, and is reported in out with its reply.
// It reports whether r executed now.
func (s *Sessions) Execute(app App, r *wire.Request, view uint64, execs *uint64, out *Effects) bool {
	if res, done, old := s.Lookup(r.Client, r.Seq); done || old {
		if done {
			out.Replies = append(out.Replies, Reply{Client: r.Client, Seq: r.Seq, View: view, Result: res})
		}
		return false
	}
	result := app.Execute(nil, r.Payload)
	s.Record(r.Client, r.Seq, result)
	*execs++
	out.Executed = append(out.Executed, Execution{Seq: *execs, Client: r.Client, ReqSeq: r.Seq, Payload: r.Payload})
	out.Replies = append(out.Replies, Reply{Client: r.Client, Seq: r.Seq, View: view, Result: result})
	return true
}
