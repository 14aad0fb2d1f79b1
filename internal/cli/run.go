package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/orchestrate"
)

func newRunCmd() *cobra.Command {
	var (
		results, binary            string
		resume                     bool
		duration, warmup, cooldown time.Duration
		repeat                     int
	)
	cmd := &cobra.Command{
		Use:   "run SPEC.yaml",
		Short: "Run an experiment spec: every point of its sweep, with results and a summary",
		Long: `Expand the spec's sweep and run every point: generate keys and a cluster
file, start the replica processes on loopback, apply the load, sample every
replica's RSS and CPU once a second, stop everything and write

  RESULTS/<spec name>/<run id>/  spec.yaml expanded.yaml meta.json summary.csv
                                 points/<point>/rep-<k>/{latency.hlog,timeline.csv,summary.json,...}

A progress bar with ETA goes to stderr and a summary table to stdout. A
replica that dies, or Ctrl-C, stops every process and keeps the finished
points; --resume continues the newest run of the same spec.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := experiments.Load(args[0])
			if err != nil {
				return err
			}
			if binary == "" {
				binary = os.Getenv("REPLBENCH_BINARY")
			}
			if binary == "" {
				bins, err := nodeBinaries(cmd)
				if err != nil {
					return err
				}
				b, err := bins.For(cmd.Context(), runtime.GOOS, runtime.GOARCH)
				if err != nil {
					return err
				}
				binary = b.Path
			}
			keysDir, err := os.MkdirTemp("", "replbench-keys-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(keysDir)
			flags := cmd.Flags()
			orchestrate.Version = node.Version
			sum, err := orchestrate.Run(cmd.Context(), orchestrate.Options{
				SpecPath: args[0],
				Spec:     spec,
				Results:  results,
				Resume:   resume,
				Runner:   &orchestrate.Local{Binary: binary, KeysDir: keysDir},
				Progress: cmd.ErrOrStderr(),
				Out:      cmd.OutOrStdout(),
				Command:  os.Args,
				Override: func(p *experiments.Spec) {
					if flags.Changed("warmup") {
						p.Warmup = warmup
					}
					if flags.Changed("cooldown") {
						p.Cooldown = cooldown
					}
					if flags.Changed("duration") {
						// duration is the whole point: warm-up + measured + cool-down.
						p.Duration = duration + p.Warmup + p.Cooldown
					}
					if flags.Changed("repeat") {
						p.Repeat = repeat
					}
				},
			})
			if err != nil {
				return err
			}
			if abs, err := filepath.Abs(sum.Dir); err == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "results: %s\n", abs)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&results, "results", "results", "directory under which runs are written")
	f.BoolVar(&resume, "resume", false, "continue the newest run of this spec, skipping finished points")
	f.DurationVar(&duration, "duration", 0, "override every point's measured time (warm-up and cool-down come on top)")
	f.DurationVar(&warmup, "warmup", 0, "override every point's warm-up")
	f.DurationVar(&cooldown, "cooldown", 0, "override every point's cool-down")
	f.IntVar(&repeat, "repeat", 0, "override how often every point is repeated")
	f.StringVar(&binary, "binary", "", "binary to start replicas and clients with (default $REPLBENCH_BINARY, else replbench-node built from the source tree, else this replbench)")
	return cmd
}

// nodeBinaries provides replbench-node binaries: built from the source tree
// when replbench runs inside one (a replica then links no plotting code and
// its memory is its own), else this executable for its own platform.
func nodeBinaries(cmd *cobra.Command) (*orchestrate.Binaries, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the replbench binary: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return &orchestrate.Binaries{CacheDir: filepath.Join(cache, "replbench"), Fallback: self, Log: cmd.ErrOrStderr()}, nil
}
