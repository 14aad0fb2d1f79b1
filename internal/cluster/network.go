package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/keys"
)

// Link is how one direction of a link behaves; every process shapes what
// it sends by the links from itself (see transport.Link).
type Link struct {
	Delay     Duration `json:"delay,omitzero"`     // one-way
	Jitter    Duration `json:"jitter,omitzero"`    // added uniformly in [-Jitter, +Jitter]; delay+jitter stays >= 0
	Loss      float64  `json:"loss,omitzero"`      // fraction of frames dropped, in [0, 1)
	Bandwidth float64  `json:"bandwidth,omitzero"` // bits/s; 0 is unlimited
}

// Zero reports whether l adds nothing to a link.
func (l Link) Zero() bool { return l == Link{} }

// Transport is l in the transport's terms.
func (l Link) Transport() transport.Link {
	return transport.Link{Delay: l.Delay.Duration, Jitter: l.Jitter.Duration, Loss: l.Loss, Bandwidth: l.Bandwidth}
}

// PairLink is the link between two labels, both ways. Its values are
// complete: the spec's keys it left out were filled from the defaults
// before the cluster file was written.
type PairLink struct {
	Between [2]string `json:"between"`
	Link
}

// ClientGroup gives the client ids First to First+Count-1 their labels.
type ClientGroup struct {
	First  int      `json:"first"`
	Count  int      `json:"count"`
	Labels []string `json:"labels"`
}

// Network is the link emulation of a cluster. Processes carry labels
// (regions, racks: whatever the spec's links name); the link between two
// processes is the first PairLink whose labels they carry, else Default.
type Network struct {
	Default       Link          `json:"default"`
	Links         []PairLink    `json:"links,omitempty"`
	ReplicaLabels [][]string    `json:"replica_labels,omitempty"` // index = replica id
	ClientLabels  []ClientGroup `json:"client_labels,omitempty"`
}

// Between returns the link from one principal to another: the first
// PairLink where one of from's labels equals Between[0] and one of to's
// equals Between[1], or the reverse; else Default. A nil Network is all
// zero links.
func (n *Network) Between(from, to keys.Principal) Link {
	if n == nil {
		return Link{}
	}
	lf, lt := n.labels(from), n.labels(to)
	for _, pl := range n.Links {
		a, b := pl.Between[0], pl.Between[1]
		if slices.Contains(lf, a) && slices.Contains(lt, b) || slices.Contains(lf, b) && slices.Contains(lt, a) {
			return pl.Link
		}
	}
	return n.Default
}

func (n *Network) labels(p keys.Principal) []string {
	switch p.Role {
	case keys.RoleReplica:
		if int(p.ID) < len(n.ReplicaLabels) {
			return n.ReplicaLabels[p.ID]
		}
	case keys.RoleClient:
		for _, g := range n.ClientLabels {
			if int(p.ID) >= g.First && int(p.ID) < g.First+g.Count {
				return g.Labels
			}
		}
	}
	return nil
}

// Shaper returns what transport.Config.Link takes for the process self:
// the link to each peer. It returns nil, so the transport emulates nothing
// and costs nothing, when n is nil or every link in it is zero.
func (n *Network) Shaper(self keys.Principal) func(to keys.Principal) transport.Link {
	if n == nil || n.Default.Zero() && !slices.ContainsFunc(n.Links, func(pl PairLink) bool { return !pl.Zero() }) {
		return nil
	}
	return func(to keys.Principal) transport.Link { return n.Between(self, to).Transport() }
}

// Validate reports the first value of n that the transport cannot apply,
// for a cluster of the given size.
func (n *Network) Validate(replicas, clients int) error {
	if err := n.Default.validate(); err != nil {
		return err
	}
	for i, pl := range n.Links {
		if pl.Between[0] == "" || pl.Between[1] == "" {
			return fmt.Errorf("links[%d]: between needs two labels, got %q", i, pl.Between)
		}
		if err := pl.validate(); err != nil {
			return fmt.Errorf("links[%d] %s-%s: %w", i, pl.Between[0], pl.Between[1], err)
		}
	}
	if n.ReplicaLabels != nil && len(n.ReplicaLabels) != replicas {
		return fmt.Errorf("replica_labels has %d entries for %d replicas", len(n.ReplicaLabels), replicas)
	}
	for i, g := range n.ClientLabels {
		if g.First < 0 || g.Count < 1 || g.First+g.Count > clients {
			return fmt.Errorf("client_labels[%d]: clients %d to %d are not all among the %d clients", i, g.First, g.First+g.Count-1, clients)
		}
	}
	return nil
}

func (l Link) validate() error {
	switch {
	case l.Delay.Duration < 0:
		return fmt.Errorf("delay must be >= 0, got %v", l.Delay)
	case l.Jitter.Duration < 0:
		return fmt.Errorf("jitter must be >= 0, got %v", l.Jitter)
	case !(l.Loss >= 0 && l.Loss < 1):
		return fmt.Errorf("loss must be in [0, 1), got %g", l.Loss)
	case !(l.Bandwidth >= 0) || math.IsInf(l.Bandwidth, 1):
		return fmt.Errorf("bandwidth must be a finite number of bits/s >= 0, got %g", l.Bandwidth)
	}
	return nil
}
