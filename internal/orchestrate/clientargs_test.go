package orchestrate

import (
	"slices"
	"testing"
	"time"

	"github.com/replbench/replbench/experiments"
)

// TestClientArgsCarryWorkload checks that the load generator gets the
// point's workload, the repeat's seed, its share of the client ids and its
// times, --duration being the whole point as in the spec.
func TestClientArgsCarryWorkload(t *testing.T) {
	job := &Job{Dir: "out", Seed: 7, Load: Load{Workload: experiments.Workload{
		Mode: experiments.Closed, Clients: 2, Outstanding: 1, Payload: 64,
		Kind: experiments.WorkloadYCSB, ReadRatio: 0.95, Keys: 5000,
		Distribution: experiments.Uniform, Theta: 0.9,
	}, Warmup: 2 * time.Second, Duration: 5 * time.Second, Cooldown: time.Second}}
	args := clientArgs(job, "cluster.json", ".", 3, 2)
	for flag, want := range map[string]string{
		"--workload": "ycsb", "--read-ratio": "0.95", "--keys": "5000",
		"--distribution": "uniform", "--theta": "0.9", "--seed": "7", "--payload": "64",
		"--first": "3", "--clients": "2", "--out": ".",
		"--warmup": "2s", "--duration": "8s", "--cooldown": "1s",
	} {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) || args[i+1] != want {
			t.Errorf("%s: want %q in %v", flag, want, args)
		}
	}
}
