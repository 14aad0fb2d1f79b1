package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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
		results, binary            string
		resume, keepGoing          bool
		hostsPath                  string
		ssh                        remote.Options
		port                       int
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
points; --resume continues the newest run of the same spec.

With --hosts (or the spec's hosts: key) the same spec runs across machines
over SSH: one replica per replica host, the clients spread over the client
hosts. Host keys are checked against known_hosts; --accept-new-host-keys
records unknown ones. replbench-node is built for each host's platform and
uploaded once; every remote process is stopped and checked gone after each
point, on failure and on Ctrl-C. See README.md, "Running across hosts".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := experiments.Load(args[0])
			if err != nil {
				return err
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
				return err
			}
			if c, ok := runner.(io.Closer); ok {
				defer c.Close()
			}
			var where []string
			if r, ok := runner.(*orchestrate.Remote); ok {
				where = r.Describe()
			}
			flags := cmd.Flags()
			orchestrate.Version = node.Version
			sum, err := orchestrate.Run(cmd.Context(), orchestrate.Options{
				SpecPath:     args[0],
				Spec:         spec,
				Results:      results,
				Resume:       resume,
				KeepGoing:    keepGoing,
				Runner:       runner,
				Progress:     cmd.ErrOrStderr(),
				Out:          cmd.OutOrStdout(),
				Command:      os.Args,
				Hosts:        where,
				NodeBinaries: bins.Used,
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
