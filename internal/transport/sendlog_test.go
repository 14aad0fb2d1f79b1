package transport

import (
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/keys"
)

// TestSendRefusalsLogged: Send refusals reach the log with their reason
// and peer, the first of each (peer, reason) at once, repeats at most every
// sendLogEvery with the count of those not logged.
func TestSendRefusalsLogged(t *testing.T) {
	auths := generate(t, keys.HMAC, 2, 0)
	lg := newLogs("send refused")
	// Replica 1 is never started: frames to it wait in its bounded queue.
	tr := start(t, node{self: keys.Replica(0), auth: auths[keys.Replica(0)], log: lg.logger(),
		peers: map[keys.Principal]string{keys.Replica(1): "127.0.0.1:1"},
		tweak: func(c *Config) { c.MaxFrame = 1 << 10; c.QueueBytes = 1 << 10 }})
	clock := time.Unix(0, 0)
	tr.sendLog.mu.Lock()
	tr.sendLog.now = func() time.Time { return clock }
	tr.sendLog.mu.Unlock()

	if err := tr.Send(keys.Replica(1), testFrame(1, 2<<10)); err == nil {
		t.Fatal("a 2 KiB frame over a 1 KiB limit was accepted")
	}
	if line := lg.next(t); !strings.Contains(line, "reason=frame over the size limit") || !strings.Contains(line, "peer=replica-1") {
		t.Errorf("logged %q; want the reason and the peer", line)
	}
	// Fill the queue, then overflow it: another reason, logged at once.
	if err := tr.Send(keys.Replica(1), testFrame(2, 900)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(keys.Replica(1), testFrame(3, 900)); err != ErrQueueFull {
		t.Fatalf("Send to a full queue: %v, want ErrQueueFull", err)
	}
	if line := lg.next(t); !strings.Contains(line, "reason=send queue full") {
		t.Errorf("logged %q; want the queue-full reason", line)
	}
	if err := tr.Send(keys.Replica(7), testFrame(4, 100)); err != ErrUnknownPeer {
		t.Fatalf("Send to an unknown peer: %v", err)
	}
	if line := lg.next(t); !strings.Contains(line, "reason=unknown peer") || !strings.Contains(line, "peer=replica-7") {
		t.Errorf("logged %q; want the unknown peer", line)
	}
	// Repeats within sendLogEvery are counted, not logged.
	for i := range 5 {
		_ = tr.Send(keys.Replica(1), testFrame(uint64(10+i), 2<<10))
	}
	// Send logs before it returns, so the lines are all there.
	refusals := func() []string {
		lg.mu.Lock()
		defer lg.mu.Unlock()
		var out []string
		for _, l := range lg.lines {
			if strings.HasPrefix(l, "send refused") {
				out = append(out, l)
			}
		}
		return out
	}
	if got := refusals(); len(got) != 3 {
		t.Fatalf("%d refusals logged; want 3, one per (peer, reason):\n%s", len(got), strings.Join(got, "\n"))
	}
	clock = clock.Add(sendLogEvery)
	_ = tr.Send(keys.Replica(1), testFrame(20, 2<<10))
	got := refusals()
	if len(got) != 4 || !strings.HasPrefix(got[3], "send refused again") || !strings.Contains(got[3], "unlogged_since_last=5") {
		t.Errorf("refusals logged:\n%s\nwant a fourth, again, counting the 5 not logged since", strings.Join(got, "\n"))
	}
}
