package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/msgdump"
	"github.com/replbench/replbench/replicas"
)

// NewReplicaCmd returns the replica command.
func NewReplicaCmd() *cobra.Command {
	var (
		config, statsPath, logLevel string
		captureDir, profile         string
		memProfile                  string
		id                          uint32
		watchStdin, forget          bool
	)
	cmd := &cobra.Command{
		Use:   "replica --config CLUSTER.json --id N",
		Short: "Run one replica process (what 'run' starts on each replica host)",
		Long: `Run one replica of the cluster described by a cluster file (written by
'replbench run' for every point). It prints "ready ADDRESS" on stdout once it
listens, runs until SIGINT or SIGTERM, then writes its counters to --stats.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if config == "" {
				return fmt.Errorf("--config is required")
			}
			cfg, err := cluster.Load(config)
			if err != nil {
				return err
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("replica", id)
			opts := replicas.Options{Logger: log}
			if captureDir != "" {
				if err := os.MkdirAll(captureDir, 0o755); err != nil {
					return fmt.Errorf("--capture-dir: %w", err)
				}
				w, err := msgdump.CreateCapture(msgdump.CaptureFile(captureDir, keys.Replica(id)),
					msgdump.CaptureHeader{Self: keys.Replica(id), Tool: "replbench " + Version + " replica"})
				if err != nil {
					return err
				}
				defer w.Close()
				opts.Tap = w
			}
			r, err := replicas.New(cfg, id, opts)
			if err != nil {
				return err
			}
			if forget {
				if err := forgetKeys(cfg, keys.Replica(id)); err != nil {
					r.Close()
					return err
				}
			}
			if profile != "" {
				stop, err := startCPUProfile(strings.ReplaceAll(profile, "%d", fmt.Sprint(id)))
				if err != nil {
					return err
				}
				defer stop()
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready %s\n", cfg.Replicas[id])
			ctx, cancel := lifeline(cmd, watchStdin)
			defer cancel()
			runErr := r.Run(ctx)
			closeErr := r.Close()
			if memProfile != "" {
				if err := writeHeapProfile(strings.ReplaceAll(memProfile, "%d", fmt.Sprint(id))); err != nil {
					return err
				}
			}
			log.Info("stopped", "stats", r.Stats(), "transport", r.TransportStats())
			if statsPath != "" {
				if err := writeStats(statsPath, r.Stats(), r.TransportStats()); err != nil {
					return err
				}
			}
			if runErr != nil {
				return runErr
			}
			return closeErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&config, "config", "", "cluster file (JSON) written by 'replbench run'")
	f.Uint32Var(&id, "id", 0, "this replica's id (0-based index into the cluster's replicas)")
	f.StringVar(&statsPath, "stats", "", "write the replica's counters as JSON to this file on exit")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&profile, "cpuprofile", os.Getenv("REPLBENCH_CPUPROFILE"), "write a CPU profile (pprof) of the replica to this file; %d in it becomes the replica id (default $REPLBENCH_CPUPROFILE, so 'run' can profile every replica)")
	f.BoolVar(&watchStdin, "watch-stdin", false, watchStdinUsage)
	f.BoolVar(&forget, "forget-keys", false, forgetKeysUsage)
	f.StringVar(&memProfile, "memprofile", os.Getenv("REPLBENCH_MEMPROFILE"), "write a heap profile (pprof, in-use and allocated) of the replica to this file when it stops; %d becomes the replica id (default $REPLBENCH_MEMPROFILE)")
	f.StringVar(&captureDir, "capture-dir", "", "write every frame this replica receives to DIR/replica-<id>.rbcap (read it with 'replbench msgdump')")
	return cmd
}

// writeHeapProfile writes the heap profile as of the last garbage collection.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("--memprofile: %w", err)
	}
	return f.Close()
}

// startCPUProfile profiles the process into path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// writeStats writes a replica's counters to path as replica-<i>.stats.json:
// its runtime's, its transport's and the Go runtime's memory figures, every
// key in snake_case.
func writeStats(path string, rs replicas.Stats, ts transport.Stats) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, err := json.MarshalIndent(struct {
		Runtime   replicas.Stats    `json:"runtime"`
		Transport transport.Stats   `json:"transport"`
		Memory    map[string]uint64 `json:"go_memory"`
	}{rs, ts, map[string]uint64{
		"heap_inuse": ms.HeapInuse, "heap_sys": ms.HeapSys, "stack_sys": ms.StackSys,
		"sys": ms.Sys, "num_gc": uint64(ms.NumGC), "total_alloc": ms.TotalAlloc,
	}}, "", "  ")
	if err != nil {
		return fmt.Errorf("write stats: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return writeError(path, err)
	}
	return nil
}
