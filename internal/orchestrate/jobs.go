package orchestrate

import (
	"fmt"
	"path/filepath"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/cluster"
)

// pointJobs turns one point into its jobs (one per repeat), with their
// directories under dir.
func pointJobs(p experiments.Point, dir string) ([]*Job, error) {
	c := p.Config
	values := make([]string, 0, len(p.Values))
	for _, kv := range p.Values {
		values = append(values, kv.Value)
	}
	label := pointName(p)
	var jobs []*Job
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
			return nil, fmt.Errorf("point %s: %w", label, err)
		}
		jobs = append(jobs, &Job{
			Point: p.Index, Repeat: r, Label: label, Values: values,
			Dir:     filepath.Join(dir, "points", p.Dir(), fmt.Sprintf("rep-%d", r+1)),
			Cluster: cl, RSABits: c.Crypto.RSABits, Seed: int64(c.Seed) + int64(r),
			Load: Load{Workload: c.Load, Warmup: c.Warmup, Duration: c.Measured(), Cooldown: c.Cooldown},
		})
	}
	return jobs, nil
}
