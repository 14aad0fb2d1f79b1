package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/hosts"
	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/orchestrate"
	"github.com/replbench/replbench/internal/remote"
)

func newRunCmd() *cobra.Command {
	var (
		results, binary   string
		resume, keepGoing bool
		hostsPath         string
		ssh               remote.Options
		port              int
		duration          = node.NewDurationFlag(0)
		warmup            = node.NewDurationFlag(0)
		cooldown          = node.NewDurationFlag(0)
		repeat            int
	)
	cmd := &cobra.Command{
		Use:   "run SPEC.yaml",
		Short: "Run an experiment spec: every point of its sweep, with results and a summary",
		Long: `Expand the spec's sweep and run every point: generate keys and a cluster
file, start the replica processes on loopback, apply the load, sample every
replica's RSS and CPU once a second, stop everything and write

  RESULTS/<spec name>/<run id>/  spec.yaml expanded.yaml meta.json summary.csv
                                 points/<point>/rep-<k>/{latency.hlog,timeline.csv,summary.json,...}

Before anything starts, it prints the number of points and jobs and the
estimated time: each job's duration plus about 1.5s to start and stop its
processes. --duration, --warmup and --cooldown override every point's; as in
the spec, --duration is the whole of a point, warm-up and cool-down
included, so "--duration 10s --warmup 2s --cooldown 1s" measures 7s.

A progress bar with ETA goes to stderr and a summary table to stdout. A
replica that dies stops the run and keeps the finished points; --resume
continues the newest run of the same spec. Ctrl-C (or SIGTERM) stops any
phase at once, every process included, and exits with status 130 (143 for
SIGTERM).

With --hosts (or the spec's hosts: key) the same spec runs across machines
over SSH: one replica per replica host, the clients spread over the client
hosts. Host keys are checked against known_hosts; --accept-new-host-keys
records unknown ones. replbench-node is built for each host's platform and
uploaded once; every remote process is stopped and checked gone after each
point, on failure and on Ctrl-C. See README.md, "Running across hosts".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			flags := cmd.Flags()
			if err := checkTimeFlags(duration, warmup, cooldown); err != nil {
				return err
			}
			if flags.Changed("repeat") && repeat < 1 {
				return fmt.Errorf("--repeat %d: must be >= 1", repeat)
			}
			spec, err := experiments.LoadContext(ctx, args[0])
			if err != nil {
				return interruptedWhile(ctx, "checking the spec's points", err)
			}
			if setsNothing(args[0]) {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s sets no keys: running the defaults (protocol %s, %d replica(s), app %s, one point; docs/spec.md lists them)\n",
					args[0], spec.Protocol, spec.Replicas, spec.App.Name)
			}
			plan, err := orchestrate.NewPlan(ctx, spec, func(p *experiments.Spec) error {
				if flags.Changed("warmup") {
					p.Warmup = warmup.D
				}
				if flags.Changed("cooldown") {
					p.Cooldown = cooldown.D
				}
				if flags.Changed("duration") {
					p.Duration = duration.D // the whole point, as in the spec
				}
				if flags.Changed("repeat") {
					p.Repeat = repeat
				}
				if p.Measured() <= 0 && (flags.Changed("duration") || flags.Changed("warmup") || flags.Changed("cooldown")) {
					name := func(flag string, f *node.DurationFlag, spec time.Duration) string {
						if flags.Changed(flag) {
							return "--" + flag + " " + f.Text
						}
						return flag + " " + spec.String()
					}
					return fmt.Errorf("%s must be longer than %s + %s, which it includes", name("duration", duration, p.Duration),
						name("warmup", warmup, p.Warmup), name("cooldown", cooldown, p.Cooldown))
				}
				return nil
			})
			if err != nil {
				return interruptedWhile(ctx, "checking the spec's points", err)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), plan)

			// Where results go is checked before anything is built or started.
			if err := os.MkdirAll(filepath.Join(results, spec.Name), 0o755); err != nil {
				return fmt.Errorf("--results: %w", err)
			}
			keysDir, releaseKeys, err := orchestrate.NewKeysDir("", cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer releaseKeys()
			if hostsPath == "" && spec.Hosts != "" {
				hostsPath = spec.Hosts
				if !filepath.IsAbs(hostsPath) {
					hostsPath = filepath.Join(filepath.Dir(args[0]), hostsPath)
				}
			}
			runner, bins, err := newRunner(cmd, binary, keysDir, hostsPath, ssh, port)
			if err != nil {
				return interruptedWhile(ctx, "preparing replbench-node", err)
			}
			if c, ok := runner.(io.Closer); ok {
				defer c.Close()
			}
			var where []string
			if r, ok := runner.(*orchestrate.Remote); ok {
				where = r.Describe()
			}
			orchestrate.Version = node.Version
			sum, err := orchestrate.Run(ctx, orchestrate.Options{
				SpecPath:     args[0],
				Plan:         plan,
				Results:      results,
				Resume:       resume,
				KeepGoing:    keepGoing,
				Runner:       runner,
				Progress:     cmd.ErrOrStderr(),
				Out:          cmd.OutOrStdout(),
				Command:      os.Args,
				Hosts:        where,
				NodeBinaries: bins.Used,
			})
			if err != nil {
				return interruptedWhile(ctx, "running", err)
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
	f.Var(duration, "duration", "override every point's duration: the whole point, warm-up and cool-down included, as in the spec")
	f.Var(warmup, "warmup", "override every point's warm-up, the first part of its duration, not measured")
	f.Var(cooldown, "cooldown", "override every point's cool-down, the last part of its duration, not measured")
	f.IntVar(&repeat, "repeat", 0, "override how often every point is repeated")
	f.StringVar(&binary, "binary", "", "binary to start replicas and clients with, on this machine or on hosts of its platform (default $REPLBENCH_BINARY, else replbench-node built from the source tree, else this replbench)")
	f.BoolVar(&keepGoing, "keep-going", false, "run the remaining points after one fails (a dead replica, an unreachable host) instead of stopping")
	f.StringVar(&hostsPath, "hosts", "", "run on the hosts of this hosts file (YAML, or an Ansible inventory with groups replicas and clients, read by ansible-inventory when installed; $REPLBENCH_INVENTORY_READER=builtin forces the built-in reader) over SSH; default: the spec's hosts: key, else this machine")
	f.BoolVar(&ssh.AcceptNewHostKeys, "accept-new-host-keys", false, "record the keys of hosts not yet in known_hosts (a changed key is always refused)")
	f.StringVar(&ssh.KnownHosts, "known-hosts", "", "known_hosts file (default: the hosts file's known_hosts:, else ~/.ssh/known_hosts)")
	f.StringVar(&ssh.SSHConfig, "ssh-config", "", "OpenSSH client config to honour (default ~/.ssh/config)")
	f.IntVar(&port, "port", orchestrate.DefaultPort, "on hosts: replica i listens on this port + i")
	return cmd
}

// newRunner returns the runner for this machine, or for the hosts of a
// hosts file.
func newRunner(cmd *cobra.Command, binary, keysDir, hostsPath string, ssh remote.Options, port int) (orchestrate.Runner, *orchestrate.Binaries, error) {
	if binary == "" {
		binary = os.Getenv("REPLBENCH_BINARY")
	}
	bins, err := nodeBinaries(cmd, binary)
	if err != nil {
		return nil, nil, err
	}
	if hostsPath == "" {
		b, err := bins.For(cmd.Context(), runtime.GOOS, runtime.GOARCH)
		if err != nil {
			return nil, nil, err
		}
		return &orchestrate.Local{Binary: b.Path, KeysDir: keysDir}, bins, nil
	}
	hf, err := hosts.LoadReader(cmd.Context(), hostsPath, os.Getenv(hosts.ReaderEnv))
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "hosts: %s: %d replica and %d client hosts, read by %s\n",
		hostsPath, len(hf.ByRole(hosts.RoleReplica)), len(hf.ByRole(hosts.RoleClient)), hf.Reader)
	if ssh.KnownHosts == "" {
		ssh.KnownHosts = hf.KnownHosts
	}
	ssh.Log = cmd.ErrOrStderr()
	return &orchestrate.Remote{Hosts: hf, SSH: ssh, Binaries: bins, KeysDir: keysDir, Port: port, Log: cmd.ErrOrStderr()}, bins, nil
}

// nodeBinaries provides replbench-node binaries: built from the source tree
// when replbench runs inside one (a replica then links no plotting code and
// its memory is its own), else the replbench-node installed beside this
// executable, else this executable for its own platform (with a warning).
func nodeBinaries(cmd *cobra.Command, given string) (*orchestrate.Binaries, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the replbench binary: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	b := &orchestrate.Binaries{CacheDir: filepath.Join(cache, "replbench"), Fallback: self, Log: cmd.ErrOrStderr()}
	b.Given = given
	return b, nil
}

// checkTimeFlags checks --duration, --warmup and --cooldown as given,
// quoting the user's own text (a flag's Text is "" when it was not set).
// Whether a point leaves time to measure is checked per point, since a
// flag left out takes the point's value.
func checkTimeFlags(duration, warmup, cooldown *node.DurationFlag) error {
	if duration.Text != "" && duration.D <= 0 {
		return fmt.Errorf("--duration %s: must be positive (it is the whole point, warm-up and cool-down included)", duration.Text)
	}
	for _, f := range []struct {
		name string
		flag *node.DurationFlag
	}{{"warmup", warmup}, {"cooldown", cooldown}} {
		if f.flag.Text != "" && f.flag.D < 0 {
			return fmt.Errorf("--%s %s: must not be negative", f.name, f.flag.Text)
		}
	}
	if duration.Text != "" && warmup.Text != "" && cooldown.Text != "" && duration.D <= warmup.D+cooldown.D {
		return fmt.Errorf("--duration %s must be longer than --warmup %s + --cooldown %s, which it includes", duration.Text, warmup.Text, cooldown.Text)
	}
	return nil
}

// interruptedWhile says that the command was interrupted while doing what
// (so Main exits 130), when ctx ended; else it returns err.
// setsNothing reports whether the spec file at path holds no keys: it is
// empty, or comments and blank lines only.
func setsNothing(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return false
		}
	}
	return true
}

func interruptedWhile(ctx context.Context, what string, err error) error {
	if ctx.Err() == nil || errors.Is(err, orchestrate.ErrInterrupted) {
		return err
	}
	return fmt.Errorf("%w while %s, before any job ran", orchestrate.ErrInterrupted, what)
}
