package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/experiments"
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
				if binary, err = os.Executable(); err != nil {
					return fmt.Errorf("find the replbench binary: %w", err)
				}
			}
			keysDir, err := os.MkdirTemp("", "replbench-keys-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(keysDir)
			flags := cmd.Flags()
			orchestrate.Version = Version
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
	f.StringVar(&binary, "binary", "", "replbench binary to start replicas and clients with (default: this one)")
	return cmd
}
