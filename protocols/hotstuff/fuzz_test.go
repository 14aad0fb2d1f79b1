package hotstuff

import (
	"fmt"
	"testing"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// FuzzCoreMessage hands a core arbitrary frames, as a faulty replica with a
// valid authenticator could send: the core rejects what is malformed and
// never panics. The corpus starts from every frame of a short real run
// (proposals, votes, new-views, fetches and their answers), and the core
// under test has taken part in that run, so frames reach deep into it.
func FuzzCoreMessage(f *testing.F) {
	run := func(record func(msg)) *cluster {
		c := newCluster(&testing.T{}, nil)
		c.filter = func(m msg) bool {
			if record != nil {
				record(m)
			}
			// Replica 3 misses a stretch, so it fetches and transfers state.
			return !(m.to == 3 && m.from != 3 && (m.frame[5]&1 == 0) && c.cores[0].View() > 8 && c.cores[0].View() < 30)
		}
		for seq := uint64(1); seq <= 12; seq++ {
			c.request(1, seq, fmt.Sprint(seq))
			c.run()
			c.tick(60)
		}
		return c
	}
	run(func(m msg) { f.Add(uint8(m.from), m.frame) })
	f.Fuzz(func(t *testing.T, from uint8, frame []byte) {
		c := run(nil)
		for _, core := range []*Core{c.cores[2], mustNew(t)} {
			var e protocols.Effects
			core.Message(uint32(from%5), frame, &e)
			core.Tick(&e)
		}
	})
}

func mustNew(t *testing.T) *Core {
	c, err := New(Config{ID: 2, N: 4, App: sim.NewChainApp(), BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
