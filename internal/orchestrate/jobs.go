package orchestrate

import (
	"fmt"
	"path/filepath"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/cluster"
)

// jobsFor turns expanded points into jobs (one per repeat), with their
// directories under dir, and returns the swept key paths for summary.csv.
func jobsFor(points []experiments.Point, dir string) ([]*Job, []string, error) {
	var jobs []*Job
	var swept []string
	for _, kv := range firstValues(points) {
		swept = append(swept, kv.Key)
	}
	for _, p := range points {
		c := p.Config
		values := make([]string, 0, len(p.Values))
		for _, kv := range p.Values {
			values = append(values, kv.Value)
		}
		label := p.Label()
		if label == "" {
			label = "base"
		}
		for r := 0; r < max(c.Repeat, 1); r++ {
			cl := cluster.Config{
				Protocol:           string(c.Protocol),
				Replicas:           make([]string, c.Replicas),
				Clients:            c.Load.Clients,
				ReplicaScheme:      c.Crypto.Replicas,
				ClientScheme:       c.Crypto.Clients,
				App:                string(c.App.Name),
				AppReply:           int(c.App.Reply),
				BatchSize:          c.Batch.Size,
				BatchTimeout:       cluster.Duration{Duration: c.Batch.Timeout},
				CheckpointInterval: c.CheckpointInterval,
				ViewChangeTimeout:  cluster.Duration{Duration: c.ViewChangeTimeout},
				Network:            clusterNetwork(c.Network, c.Replicas, c.Load.Clients),
			}
			if err := cl.Validate(); err != nil {
				return nil, nil, fmt.Errorf("point %s: %w", label, err)
			}
			jobs = append(jobs, &Job{
				Point: p.Index, Repeat: r, Label: label, Values: values,
				Dir:     filepath.Join(dir, "points", p.Dir(), fmt.Sprintf("rep-%d", r+1)),
				Cluster: cl, RSABits: c.Crypto.RSABits, Seed: int64(c.Seed) + int64(r),
				Load: Load{Workload: c.Load, Warmup: c.Warmup, Duration: c.Measured(), Cooldown: c.Cooldown},
			})
		}
	}
	return jobs, swept, nil
}

func firstValues(points []experiments.Point) []experiments.KV {
	if len(points) == 0 {
		return nil
	}
	return points[0].Values
}
