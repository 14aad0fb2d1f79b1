package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/cryptocost"
	"github.com/replbench/replbench/keys"
)

// cryptoReport is what --json writes.
type cryptoReport struct {
	Machine     cryptocost.Machine      `json:"machine"`
	Runs        int                     `json:"runs"`
	Run         string                  `json:"run"` // CPU time of one timed run
	Costs       []cryptocost.Cost       `json:"costs"`
	Predictions []cryptocost.Prediction `json:"predictions"`
	Measured    []cryptocost.Measured   `json:"measured,omitempty"`
}

func newCryptoCmd() *cobra.Command {
	var (
		schemes      []string
		sizes        []string
		batches      []int
		replicas     int
		payload      string
		reply        string
		clientScheme string
		checkpoint   int
		rsaBits      int
		cores        float64
		duration     time.Duration
		runs         int
		plotPath     string
		asJSON       bool
		measuredPath string
		ceilingKind  string
		costsPath    string
	)
	cmd := &cobra.Command{
		Use:   "crypto",
		Short: "Compare authentication schemes: cost per operation, sizes, and the request rate they allow",
		Long: `Measure every authentication scheme on this machine — CPU time per sign
and verify, operations per second on one core, public key and
authenticator sizes — and predict from it the request rate ceiling of PBFT
and HotStuff per batch size when authentication alone limits them.

Each measurement warms up, then times --runs runs of --duration/--runs CPU
time each and reports the median and the spread (slowest minus fastest,
over the median). The ceiling counts what each protocol signs and verifies
per batch (docs/crypto.md) and prices it with the measured costs:
  per replica  one replica with --cores cores to itself
  one host     all replicas and the clients sharing --cores cores
both capped by signing, which runs on each replica core's one goroutine.

With --measured, the throughput a run of experiments/crypto-schemes.yaml
recorded is printed and plotted next to the ceiling. With --costs, the
costs come from an earlier --json output, so tables and figures can be
redrawn without measuring again.`,
		Example: "  replbench crypto\n" +
			"  replbench crypto --schemes ed25519,hmac --sizes 100B,4KiB --plot crypto.png\n" +
			"  replbench crypto --json > crypto.json\n" +
			"  replbench crypto --costs crypto.json --measured results/crypto-schemes/<run id> --plot schemes.png",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt, err := cryptoOptions(schemes, sizes, replicas, rsaBits, duration, runs)
			if err != nil {
				return err
			}
			cs, err := keys.ParseScheme(clientScheme)
			if err != nil {
				return fmt.Errorf("--clients-scheme: %w", err)
			}
			asked := slices.Clone(opt.Schemes) // the replica schemes of the ceilings
			if !slices.Contains(opt.Schemes, cs) {
				opt.Schemes = append(opt.Schemes, cs) // the ceilings need its costs
				fmt.Fprintf(cmd.ErrOrStderr(), "also measuring %s: the ceilings below authenticate clients with it (--clients-scheme)\n", cs)
			}
			pl, err := experiments.ParseSize(payload)
			if err != nil {
				return fmt.Errorf("--payload: %w", err)
			}
			rp, err := experiments.ParseSize(reply)
			if err != nil {
				return fmt.Errorf("--reply: %w", err)
			}
			if cores <= 0 {
				return fmt.Errorf("--cores must be positive, got %g", cores)
			}
			oneHost := measuredPath != ""
			switch ceilingKind {
			case "":
			case "replica":
				oneHost = false
			case "host":
				oneHost = true
			default:
				return fmt.Errorf("--ceiling must be replica or host, got %q", ceilingKind)
			}
			var measured []cryptocost.Measured
			if measuredPath != "" {
				if measured, err = cryptocost.ReadSummary(measuredPath); err != nil {
					return err
				}
			}

			errw := cmd.ErrOrStderr()
			report := cryptoReport{Machine: cryptocost.ThisMachine(), Runs: opt.Runs, Run: opt.Run.String(), Measured: measured}
			if costsPath != "" {
				prev, err := readCryptoReport(costsPath, opt.Schemes, cs)
				if err != nil {
					return err
				}
				report.Machine, report.Runs, report.Run, report.Costs = prev.Machine, prev.Runs, prev.Run, prev.Costs
				opt.Replicas = prev.Costs[0].Replicas
			} else {
				start := time.Now()
				progress, done := cryptoProgress(errw)
				opt.Progress = progress
				report.Costs, err = cryptocost.Measure(cmd.Context(), opt)
				done()
				if err != nil {
					return err
				}
				fmt.Fprintf(errw, "measured %d schemes in %.1fs\n", len(report.Costs), time.Since(start).Seconds())
			}
			costs := report.Costs

			base := cryptocost.Deployment{Replicas: opt.Replicas, Payload: int(pl), Reply: int(rp),
				CheckpointInterval: checkpoint, ClientScheme: cs, RSABits: rsaBits}
			if report.Predictions, err = predictAll(base, costs, asked, batches, cores); err != nil {
				return err
			}
			preds := report.Predictions
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(report); err != nil {
					return err
				}
			} else if err := writeCryptoText(out, report, opt, base, cores, oneHost); err != nil {
				return err
			}
			if plotPath != "" {
				fig := cryptocost.Figure{Costs: costs, Size: opt.Sizes[0], Predictions: preds, Measured: measured, OneHost: oneHost}
				if err := cryptocost.Plot(plotPath, fig); err != nil {
					return err
				}
				fmt.Fprintf(errw, "wrote %s\n", plotPath)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&schemes, "schemes", keys.SchemeNames(), "schemes to measure: "+strings.Join(keys.SchemeNames(), ", "))
	f.StringSliceVar(&sizes, "sizes", []string{"100B"}, "message sizes for the cost table (the first is plotted)")
	f.IntSliceVar(&batches, "batch", []int{1, 10, 100}, "batch sizes for the ceilings")
	f.IntVar(&replicas, "replicas", cryptocost.DefaultReplicas, "replicas n = 3f+1 (sizes hmac's MAC vector; the ceilings' deployment)")
	f.StringVar(&payload, "payload", "100B", "request payload for the ceilings")
	f.StringVar(&reply, "reply", "0B", "reply result for the ceilings")
	f.StringVar(&clientScheme, "clients-scheme", string(keys.HMAC), "scheme of client requests and replies for the ceilings")
	f.IntVar(&checkpoint, "checkpoint-interval", cryptocost.DefaultCheckpointInterval, "PBFT checkpoint interval in requests")
	f.IntVar(&rsaBits, "rsa-bits", keys.DefaultRSABits, "RSA modulus size in bits")
	f.Float64Var(&cores, "cores", float64(runtime.NumCPU()), "cores of a replica (per replica) or of the host (one host)")
	f.DurationVar(&duration, "duration", time.Duration(cryptocost.DefaultRuns)*cryptocost.DefaultRun, "CPU time of the timed runs of one measurement")
	f.IntVar(&runs, "runs", cryptocost.DefaultRuns, "timed runs per measurement (the median is reported)")
	f.StringVar(&plotPath, "plot", "", "also draw a figure to FILE (.png, .svg or .pdf)")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	f.StringVar(&measuredPath, "measured", "", "a run of experiments/crypto-schemes.yaml (directory or summary.csv) to compare with")
	f.StringVar(&costsPath, "costs", "", "take the costs from a previous --json output instead of measuring")
	f.StringVar(&ceilingKind, "ceiling", "", "ceiling to plot and compare: replica or host (default: host with --measured, else replica)")
	return cmd
}

func cryptoOptions(schemes, sizes []string, replicas, rsaBits int, duration time.Duration, runs int) (cryptocost.Options, error) {
	opt := cryptocost.Options{Replicas: replicas, RSABits: rsaBits, Runs: runs}
	for _, s := range schemes {
		sc, err := keys.ParseScheme(strings.TrimSpace(s))
		if err != nil {
			return opt, fmt.Errorf("--schemes: %w", err)
		}
		if !slices.Contains(opt.Schemes, sc) {
			opt.Schemes = append(opt.Schemes, sc)
		}
	}
	for _, s := range sizes {
		n, err := experiments.ParseSize(s)
		if err != nil {
			return opt, fmt.Errorf("--sizes: %w (write sizes like 100B or 4KiB)", err)
		}
		if n > 64<<20 {
			return opt, fmt.Errorf("--sizes: %s is beyond the 64MiB this command measures", s)
		}
		opt.Sizes = append(opt.Sizes, int(n))
	}
	if len(opt.Sizes) == 0 {
		return opt, fmt.Errorf("--sizes: give at least one size")
	}
	if replicas < 1 {
		return opt, fmt.Errorf("--replicas must be at least 1, got %d", replicas)
	}
	if runs < 1 {
		return opt, fmt.Errorf("--runs must be at least 1, got %d", runs)
	}
	if duration <= 0 {
		return opt, fmt.Errorf("--duration must be positive, got %v", duration)
	}
	opt.Run = duration / time.Duration(runs)
	return opt, nil
}

// readCryptoReport reads the costs of an earlier --json output, keeping the
// schemes asked for and the client scheme the ceilings need.
func readCryptoReport(path string, schemes []keys.Scheme, client keys.Scheme) (cryptoReport, error) {
	var r cryptoReport
	data, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("--costs: %w", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("--costs %s: not the JSON of replbench crypto --json: %w", path, err)
	}
	keep := r.Costs[:0]
	for _, c := range r.Costs {
		if slices.Contains(schemes, c.Scheme) {
			keep = append(keep, c)
		}
	}
	r.Costs = keep
	if !slices.ContainsFunc(r.Costs, func(c cryptocost.Cost) bool { return c.Scheme == client }) {
		return r, fmt.Errorf("--costs %s has no costs for %s, the clients' scheme", path, client)
	}
	return r, nil
}

// cryptoProgress reports each measurement on one rewritten line on a
// terminal, and each scheme on a line of its own otherwise (logs).
func cryptoProgress(w io.Writer) (progress func(keys.Scheme, cryptocost.Op, int), done func()) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return func(s keys.Scheme, op cryptocost.Op, size int) {
				fmt.Fprintf(w, "\rmeasuring %-8s %-8s %-7s", s, op, experiments.Size(size))
			}, func() {
				fmt.Fprintf(w, "\r%-40s\r", "")
			}
	}
	var last keys.Scheme
	return func(s keys.Scheme, _ cryptocost.Op, _ int) {
		if s != last {
			fmt.Fprintf(w, "measuring %s\n", s)
			last = s
		}
	}, func() {}
}

// predictAll predicts the ceilings with each of the replica schemes; costs
// must hold theirs and the client scheme's.
func predictAll(base cryptocost.Deployment, costs []cryptocost.Cost, replicaSchemes []keys.Scheme, batches []int, cores float64) ([]cryptocost.Prediction, error) {
	byScheme := make(map[keys.Scheme]*cryptocost.Cost)
	for i := range costs {
		byScheme[costs[i].Scheme] = &costs[i]
	}
	var out []cryptocost.Prediction
	for _, proto := range cryptocost.Protocols() {
		for _, b := range batches {
			for _, c := range costs {
				if !slices.Contains(replicaSchemes, c.Scheme) {
					continue
				}
				d := base
				d.Protocol, d.Batch, d.ReplicaScheme = proto, b, c.Scheme
				plan, err := cryptocost.NewPlan(d)
				if err != nil {
					return nil, fmt.Errorf("--batch %d: %w", b, err)
				}
				p, err := cryptocost.Predict(plan, byScheme[c.Scheme], byScheme[d.ClientScheme], cores)
				if err != nil {
					return nil, err
				}
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func writeCryptoText(w io.Writer, r cryptoReport, opt cryptocost.Options, d cryptocost.Deployment, cores float64, oneHost bool) error {
	m := r.Machine
	fmt.Fprintf(w, "Authentication cost on %s (%d cores, %s %s/%s): %s per operation,\n"+
		"median of %d runs of %v each; spread = (slowest - fastest) / median.\n\n",
		m.CPU, m.Cores, m.Go, m.OS, m.Arch, m.Clock, r.Runs, r.Run)
	if err := cryptocost.WriteCosts(w, r.Costs, opt.Sizes); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nRequest rate ceiling from authentication alone (docs/crypto.md): %d replicas (f = %d),\n"+
		"%s clients, %s requests, %s replies, a checkpoint every %d requests; signs and\n"+
		"verifies count the replica scheme at the busiest replica (HotStuff: the average, as\n"+
		"leaders rotate). Per replica: %g cores to itself; one host: %d replicas and the\n"+
		"clients on %g cores.\n\n",
		d.Replicas, d.F(), d.ClientScheme, experiments.Size(d.Payload), experiments.Size(d.Reply),
		d.CheckpointInterval, cores, d.Replicas, cores)
	if err := cryptocost.WritePredictions(w, r.Predictions); err != nil {
		return err
	}
	if len(r.Measured) == 0 {
		return nil
	}
	which := "per-replica"
	if oneHost {
		which = "one-host"
	}
	fmt.Fprintf(w, "\nMeasured throughput (mean over repeats) against the %s ceiling:\n\n", which)
	return cryptocost.WriteComparison(w, r.Measured, r.Predictions, oneHost)
}
