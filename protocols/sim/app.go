package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/replbench/replbench/protocols"
)

// ChainApp is the simulator's default application: a hash chain. Each
// operation replaces the state by sha256(state || op) and returns the first
// 8 bytes of the new state, so replicas that execute different operations,
// or the same ones in a different order, return different results and
// report different digests.
type ChainApp struct {
	state [32]byte
	ops   uint64
	h     hash.Hash // reused: one allocation per app, not per operation
}

// NewChainApp returns a ChainApp in its initial state.
func NewChainApp() *ChainApp { return &ChainApp{} }

// ResultSize is the length of every ChainApp result.
const ResultSize = 8

// Execute applies op and appends its result to dst.
func (a *ChainApp) Execute(dst, op []byte) []byte {
	if a.h == nil {
		a.h = sha256.New()
	}
	h := a.h
	h.Reset()
	h.Write(a.state[:])
	h.Write(op)
	h.Sum(a.state[:0])
	a.ops++
	return append(dst, a.state[:ResultSize]...)
}

// Snapshot returns the operation count and the chain's head.
func (a *ChainApp) Snapshot() []byte {
	return append(binary.BigEndian.AppendUint64(nil, a.ops), a.state[:]...)
}

// Restore replaces the state by a Snapshot.
func (a *ChainApp) Restore(s []byte) error {
	if len(s) != 8+len(a.state) {
		return fmt.Errorf("chain app: snapshot is %d bytes, want %d", len(s), 8+len(a.state))
	}
	a.ops = binary.BigEndian.Uint64(s)
	copy(a.state[:], s[8:])
	return nil
}

// Digest summarises the state.
func (a *ChainApp) Digest() [32]byte { return sha256.Sum256(a.Snapshot()) }

// Ops returns how many operations the app executed, restored ones included.
func (a *ChainApp) Ops() uint64 { return a.ops }

// recorder sits between a core and its application and notes what each
// Execute returned during one step, so the checker learns the result the
// application really produced for an execution, whatever the core replies.
type recorder struct {
	protocols.App
	calls   []call
	results []byte
}

type call struct {
	op         []byte // the core's slice: only read during the step
	start, end int    // the result in results
}

func (r *recorder) Execute(dst, op []byte) []byte {
	n := len(dst)
	dst = r.App.Execute(dst, op)
	start := len(r.results)
	r.results = append(r.results, dst[n:]...)
	r.calls = append(r.calls, call{op: op, start: start, end: len(r.results)})
	return dst
}

func (r *recorder) reset() {
	clear(r.calls) // drop the references to the core's buffers
	r.calls = r.calls[:0]
	r.results = r.results[:0]
}
