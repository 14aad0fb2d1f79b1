package sim

import (
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
)

// noteCore counts the requests it gets and answers each with a message to
// itself, counting those that come back.
type noteCore struct {
	id             uint32
	requests, self int
}

func (c *noteCore) Request(_ *wire.Request, out *protocols.Effects) {
	c.requests++
	out.Messages = append(out.Messages, protocols.Message{To: keys.Replica(c.id), Frame: toyFrame(typeRelay, c.id)})
}

func (c *noteCore) Message(from uint32, _ []byte, _ *protocols.Effects) {
	if from == c.id {
		c.self++
	}
}

func (c *noteCore) Tick(*protocols.Effects) {}

// TestClientsSendToAll: a first transmission reaches the believed primary,
// or every replica with ClientsSendToAll; a message a replica addresses to
// itself comes straight back, off the network.
func TestClientsSendToAll(t *testing.T) {
	for _, all := range []bool{false, true} {
		s, err := New(Config{N: 4, Clients: 1, ClientsSendToAll: all,
			New: func(id uint32, _ protocols.App) protocols.Core { return &noteCore{id: id} }})
		if err != nil {
			t.Fatal(err)
		}
		s.Submit(0, []byte("x"))
		s.DeliverAll()
		for id := uint32(0); id < 4; id++ {
			c := s.Core(id).(*noteCore)
			want := 0
			if all || id == 0 {
				want = 1
			}
			if c.requests != want || c.self != want {
				t.Errorf("send to all %t: replica %d got %d requests and %d messages from itself, want %d", all, id, c.requests, c.self, want)
			}
		}
		if sent, want := s.Report().Sent, uint64(map[bool]int{false: 1, true: 4}[all]); sent != want {
			t.Errorf("send to all %t: %d frames on the network, want %d (the requests only)", all, sent, want)
		}
	}
}
