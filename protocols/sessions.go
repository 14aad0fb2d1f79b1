package protocols

import (
	"encoding/binary"
	"errors"
	"sort"

	"github.com/replbench/replbench/internal/wire"
)

// RequestID names one client request: requests are exactly-once per
// (Client, Session), numbered from 1 within a session.
type RequestID struct {
	Client  uint32
	Session uint64
	Seq     uint64
}

// IDOf returns r's identity.
func IDOf(r *wire.Request) RequestID { return RequestID{r.Client, r.Session, r.Seq} }

// Sessions is the replicated per-client table that makes execution
// exactly-once, shared by the replicated cores. Each client has one current
// session, the latest that executed a request: every request of it up to
// low has executed (its result cached for retransmissions), and above holds
// results of requests that executed out of order while earlier ones were
// still outstanding. A request of a later session starts the client's table
// afresh; requests of earlier sessions are old and never execute again. It
// is part of the checkpointed state, so a replica that transfers state
// dedups like the rest.
type Sessions struct {
	m map[uint32]*session
}

type session struct {
	id        uint64
	low       uint64
	lowResult []byte
	above     map[uint64][]byte
}

func (s *Sessions) Init() { s.m = make(map[uint32]*session) }

// Lookup reports whether request r executed: done with its cached result,
// or old when it executed too long ago to have a result kept, or belongs to
// a session the client has left.
func (s *Sessions) Lookup(r RequestID) (result []byte, done, old bool) {
	x := s.m[r.Client]
	switch {
	case x == nil || r.Session > x.id:
		return nil, false, false
	case r.Session < x.id:
		return nil, false, true
	case r.Seq == x.low && r.Seq != 0:
		return x.lowResult, true, false
	case r.Seq < x.low:
		return nil, false, true
	}
	res, ok := x.above[r.Seq]
	return res, ok, false
}

// Low is the request number up to which all of r's session executed: 0 for
// a session that has executed nothing yet.
func (s *Sessions) Low(r RequestID) uint64 {
	if x := s.m[r.Client]; x != nil && x.id == r.Session {
		return x.low
	}
	return 0
}

// Record notes that request r executed with result.
func (s *Sessions) Record(r RequestID, result []byte) {
	x := s.m[r.Client]
	switch {
	case x == nil || r.Session > x.id:
		x = &session{id: r.Session}
		s.m[r.Client] = x
	case r.Session < x.id:
		return // a left session: Execute never gets here
	}
	if r.Seq != x.low+1 {
		if x.above == nil {
			x.above = make(map[uint64][]byte)
		}
		x.above[r.Seq] = result
		return
	}
	x.low, x.lowResult = r.Seq, result
	for {
		res, ok := x.above[x.low+1]
		if !ok {
			break
		}
		delete(x.above, x.low+1)
		x.low, x.lowResult = x.low+1, res
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
		dst = binary.BigEndian.AppendUint64(dst, x.id)
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
		x := &session{id: r.u64(), low: r.u64(), lowResult: r.blob()}
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
	id := IDOf(r)
	if res, done, old := s.Lookup(id); done || old {
		if done {
			out.Replies = append(out.Replies, Reply{Request: id, View: view, Result: res})
		}
		return false
	}
	result := app.Execute(nil, r.Payload)
	s.Record(id, result)
	*execs++
	out.Executed = append(out.Executed, Execution{Seq: *execs, Request: id, Payload: r.Payload})
	out.Replies = append(out.Replies, Reply{Request: id, View: view, Result: result})
	return true
}
