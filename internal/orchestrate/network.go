package orchestrate

import (
	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/cluster"
)

// clusterNetwork turns a point's network keys into the cluster file's form:
// the top-level values as the default link, each entry of network.links
// completed with them, and the labels of network.labels (replica i gets the
// i-th label; every client id the client process runs gets the clients'
// labels). A run across hosts replaces the labels with the hosts file's. It
// returns nil when nothing is emulated, so the cluster file says nothing.
func clusterNetwork(n experiments.Network, replicas, clients int) *cluster.Network {
	def := cluster.Link{
		Delay:     cluster.Duration{Duration: n.Delay},
		Jitter:    cluster.Duration{Duration: n.Jitter},
		Loss:      n.Loss,
		Bandwidth: float64(n.Bandwidth),
	}
	out := &cluster.Network{Default: def}
	emulated := !def.Zero()
	for _, l := range n.Links {
		pl := cluster.PairLink{Between: l.Between, Link: def}
		if l.Delay != nil {
			pl.Delay.Duration = *l.Delay
		}
		if l.Jitter != nil {
			pl.Jitter.Duration = *l.Jitter
		}
		if l.Loss != nil {
			pl.Loss = *l.Loss
		}
		if l.Bandwidth != nil {
			pl.Bandwidth = float64(*l.Bandwidth)
		}
		out.Links = append(out.Links, pl)
		emulated = emulated || !pl.Zero()
	}
	if !emulated {
		return nil
	}
	if len(n.Labels.Replicas) > 0 {
		out.ReplicaLabels = make([][]string, replicas)
		for i, label := range n.Labels.Replicas {
			out.ReplicaLabels[i] = []string{label}
		}
	}
	if len(n.Labels.Clients) > 0 && clients > 0 {
		out.ClientLabels = []cluster.ClientGroup{{First: 0, Count: clients, Labels: n.Labels.Clients}}
	}
	return out
}
