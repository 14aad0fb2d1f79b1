package pbft

import (
	"testing"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// FuzzCoreMessage hands a core arbitrary frames, as a faulty replica with a
// valid authenticator could send: the core rejects what is malformed and
// never panics. The corpus starts from every frame of a short real run.
func FuzzCoreMessage(f *testing.F) {
	c := newCluster(&testing.T{}, 4, nil)
	var frames [][]byte
	c.filter = func(m msg) bool { frames = append(frames, m.frame); return true }
	for seq := uint64(1); seq <= 5; seq++ {
		c.request(0, 1, seq, "x")
		c.run()
	}
	var e protocols.Effects
	c.cores[0].out = &e
	c.cores[0].startViewChange(1)
	c.effects(0, &e)
	c.run()
	for _, fr := range frames {
		f.Add(uint8(1), fr)
	}
	f.Fuzz(func(t *testing.T, from uint8, frame []byte) {
		core, err := New(Config{ID: 2, N: 4, App: sim.NewChainApp(), BatchSize: 2, CheckpointInterval: 4})
		if err != nil {
			t.Fatal(err)
		}
		var e protocols.Effects
		core.Message(uint32(from%5), frame, &e)
		core.Tick(&e)
	})
}
