package sim

import (
	"errors"
	"fmt"
	"strings"

	"github.com/replbench/replbench/protocols"
)

// Config describes one simulated run. Zero fields take the defaults listed
// on each; New and Run fill them in.
type Config struct {
	Seed uint64 // fixes every random choice of the run
	N, F int    // replicas and the faults tolerated; F defaults to (N-1)/3

	// New builds replica id's core on app; App builds one application per
	// replica (default NewChainApp).
	New func(id uint32, app protocols.App) protocols.Core
	App func() protocols.App

	// Clients each send Requests requests, one at a time, pausing up to
	// ThinkTicks between them (Run turns a zero ThinkTicks into
	// 2*FaultTicks/Requests, spreading the requests over the fault phase).
	// A client retransmits to every replica after ClientTimeout ticks
	// without a reply quorum (default 100).
	Clients, Requests int
	ThinkTicks        uint64
	ClientTimeout     uint64
	// ClientsSendToAll makes clients send every request to all replicas at
	// once, not to the primary first: protocols with a rotating leader
	// (HotStuff) want every replica to hold every request.
	ClientsSendToAll bool

	Faults  Faults  // what may go wrong during the fault phase (default none)
	Network Network // link delays and fault rates; the zero Network takes DefaultNetwork

	// FaultTicks is how long Run injects faults (default 3000); afterwards
	// every request must complete within LivenessTicks (default 20000).
	FaultTicks, LivenessTicks uint64

	// TraceLines is how many recent events the trace ring keeps and a
	// failure reports (default 60). Observe, if set, sees every event.
	TraceLines int
	Observe    func(Event)

	// Protocol and ReproArgs only feed Failure.Repro: the protocol's name
	// on the command line and any flags beyond --seed and --faults.
	Protocol  string
	ReproArgs []string
}

// Network is the virtual network. Every directed link gets a fixed delay
// drawn from [Delay, Delay+Jitter] when the run starts, so each link is FIFO
// unless Reorder adds up to Jitter more to every message. Loss and Dup are
// per-message probabilities applied while the Loss and Dup faults are active.
type Network struct {
	Delay, Jitter uint64  // ticks; a Delay of 0 counts as 1, so that every tick ends
	Loss, Dup     float64 // in [0, 1)
}

// DefaultNetwork is what a zero Config.Network stands for.
var DefaultNetwork = Network{Delay: 2, Jitter: 4, Loss: 0.05, Dup: 0.05}

// Faults is a set of fault kinds.
type Faults uint8

const (
	Loss      Faults = 1 << iota // messages and replies are dropped
	Dup                          // messages and replies are delivered twice
	Reorder                      // per-message jitter reorders each link
	Partition                    // up to F replicas are cut off from the rest, then healed
	Crash                        // up to F replicas stop, then restart where they stopped

	NoFaults  Faults = 0
	AllFaults        = Loss | Dup | Reorder | Partition | Crash
)

var faultNames = []struct {
	f    Faults
	name string
}{{Loss, "loss"}, {Dup, "dup"}, {Reorder, "reorder"}, {Partition, "partition"}, {Crash, "crash"}}

// FaultNames lists the names ParseFaults accepts, besides "all" and "none".
func FaultNames() []string {
	names := make([]string, len(faultNames))
	for i, n := range faultNames {
		names[i] = n.name
	}
	return names
}

// ParseFaults reads a comma-separated list of fault names, or "all" or "none".
func ParseFaults(s string) (Faults, error) {
	var f Faults
	for _, word := range strings.Split(s, ",") {
		word = strings.TrimSpace(word)
		switch word {
		case "all":
			f |= AllFaults
			continue
		case "none", "":
			continue
		}
		found := false
		for _, n := range faultNames {
			if n.name == word {
				f |= n.f
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown fault %q (want all, none or a comma list of %s)", word, strings.Join(FaultNames(), ", "))
		}
	}
	return f, nil
}

// Has reports whether every fault in g is in f.
func (f Faults) Has(g Faults) bool { return f&g == g }

// String returns the form ParseFaults reads: "none", "all" or a comma list.
func (f Faults) String() string {
	switch f & AllFaults {
	case NoFaults:
		return "none"
	case AllFaults:
		return "all"
	}
	var names []string
	for _, n := range faultNames {
		if f.Has(n.f) {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// Defaults used for zero Config fields.
const (
	DefaultClientTimeout = 100
	DefaultFaultTicks    = 3000
	DefaultLivenessTicks = 20000
	DefaultTraceLines    = 60
)

// withDefaults checks c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.N < 1 {
		return c, fmt.Errorf("need at least 1 replica, got %d", c.N)
	}
	if c.F == 0 {
		c.F = (c.N - 1) / 3
	}
	if c.F < 0 || c.F >= c.N {
		return c, fmt.Errorf("%d faults out of range for %d replicas", c.F, c.N)
	}
	if c.New == nil {
		return c, errors.New("no core factory (Config.New)")
	}
	if c.Clients < 0 || c.Requests < 0 {
		return c, fmt.Errorf("negative clients (%d) or requests (%d)", c.Clients, c.Requests)
	}
	if c.App == nil {
		c.App = func() protocols.App { return NewChainApp() }
	}
	if c.ClientTimeout == 0 {
		c.ClientTimeout = DefaultClientTimeout
	}
	if c.FaultTicks == 0 {
		c.FaultTicks = DefaultFaultTicks
	}
	if c.LivenessTicks == 0 {
		c.LivenessTicks = DefaultLivenessTicks
	}
	if c.TraceLines <= 0 {
		c.TraceLines = DefaultTraceLines
	}
	nw := &c.Network
	if *nw == (Network{}) {
		*nw = DefaultNetwork
	}
	nw.Delay = max(nw.Delay, 1)
	if nw.Loss < 0 || nw.Loss >= 1 || nw.Dup < 0 || nw.Dup >= 1 {
		return c, fmt.Errorf("loss %g and dup %g must lie in [0, 1)", nw.Loss, nw.Dup)
	}
	return c, nil
}

// quorum is how many matching replies a client needs.
func (c *Config) quorum() int { return c.F + 1 }
