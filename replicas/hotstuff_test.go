package replicas_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/keys"
)

// TestHotStuffOverTCP runs 4 HotStuff replicas and 4 clients over loopback
// and checks every reply is the echo of its own request. With HMAC between
// replicas, the QCs' votes verify only if the runtime authenticated them
// for everyone (Message.Transferable), not for their one receiver.
func TestHotStuffOverTCP(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.Ed25519, keys.HMAC} {
		t.Run(string(scheme), func(t *testing.T) {
			cfg, rs := startCluster(t, "hotstuff", 4, 4, scheme, keys.HMAC, 10)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for id := 0; id < 4; id++ {
				auth, err := cfg.ClientAuth(uint32(id))
				if err != nil {
					t.Fatal(err)
				}
				c, err := clients.New(ctx, clients.Config{Cluster: cfg, ID: uint32(id), Auth: auth, Timeout: 500 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				wg.Add(1)
				go func(id int) {
					defer wg.Done()
					for i := 0; i < 50; i++ {
						want := fmt.Sprintf("client %d op %d", id, i)
						got, err := c.Invoke(ctx, []byte(want))
						if err != nil || string(got) != want {
							t.Errorf("client %d: Invoke(%q) = %q, %v", id, want, got, err)
							return
						}
					}
					if s := c.Stats(); s.Retransmits != 0 {
						t.Logf("client %d retransmitted %d times", id, s.Retransmits)
					}
				}(id)
			}
			wg.Wait()
			for i, r := range rs {
				if s := r.Stats(); s.BadAuth != 0 || s.Malformed != 0 {
					t.Errorf("replica %d rejected frames: %+v", i, s)
				}
			}
		})
	}
}
