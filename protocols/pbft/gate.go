package pbft

import (
	"encoding/binary"
	"sync"

	"github.com/replbench/replbench/internal/wire"
)

// Gate lets the runtime skip verifying votes the core no longer needs. Once
// an entry has prepared, further prepares for it in that view change
// nothing, and once it has committed, neither do further commits; with
// signatures, verifying them costs as much as the rest of the request. The
// core marks slots done; the runtime asks Needed before verifying a frame.
// It is the one piece of a core shared with other goroutines, hence the lock.
type Gate struct {
	mu   sync.Mutex
	done map[gateKey]struct{}
}

type gateKey struct {
	t         wire.Type
	view, seq uint64
}

// NewGate returns an empty gate; pass it in Config.Gate.
func NewGate() *Gate { return &Gate{done: make(map[gateKey]struct{})} }

// Needed reports whether frame may still matter to the core: false only for
// a prepare or commit whose slot the core already marked done.
func (g *Gate) Needed(frame []byte) bool {
	if g == nil || len(frame) < wire.HeaderSize+4+16 {
		return true
	}
	t := wire.TypeOf(frame)
	if t != wire.TypePrepare && t != wire.TypeCommit {
		return true
	}
	body := frame[wire.HeaderSize+4:]
	k := gateKey{t, binary.BigEndian.Uint64(body), binary.BigEndian.Uint64(body[8:])}
	g.mu.Lock()
	_, done := g.done[k]
	g.mu.Unlock()
	return !done
}

func (g *Gate) mark(t wire.Type, view, seq uint64) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.done[gateKey{t, view, seq}] = struct{}{}
	g.mu.Unlock()
}

// prune forgets slots at or below the low watermark.
func (g *Gate) prune(low uint64) {
	if g == nil {
		return
	}
	g.mu.Lock()
	for k := range g.done {
		if k.seq <= low {
			delete(g.done, k)
		}
	}
	g.mu.Unlock()
}
