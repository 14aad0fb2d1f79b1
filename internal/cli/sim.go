package cli

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/registry"
	"github.com/replbench/replbench/protocols/sim"
)

func simProtocolNames() []string { return registry.Names() }

// lookupProtocol finds --protocol's descriptor (tests add a broken one).
var lookupProtocol = registry.Lookup

// simOptions are the command's flags and what resolve derives from them.
type simOptions struct {
	protocol                    string
	seed                        uint64
	seeds                       int
	faults                      string
	replicas, clients, requests int
	timeout, faultTicks, live   uint64
	delay, jitter               uint64
	loss, dup                   float64
	keepGoing, verbose          bool

	cmd       *cobra.Command
	entry     *protocols.Protocol
	faultSet  sim.Faults
	newCore   func(uint32, protocols.App) protocols.Core
	reproArgs []string
}

// reproFlags are the flags that shape a single run, in the order a
// failure's repro command repeats them (when given).
var reproFlags = []string{"replicas", "clients", "requests", "timeout", "fault-ticks", "liveness-ticks",
	"delay", "jitter", "loss", "dup"}

func newSimCmd() *cobra.Command {
	o := &simOptions{}
	cmd := &cobra.Command{
		Use:   "sim --protocol NAME [--seeds N] [--seed S] [--faults LIST]",
		Short: "Simulate a protocol under seeded faults and check safety and liveness",
		Long: `Run a protocol's cores in a deterministic simulation: a virtual network with
per-link delay, loss, duplication and reordering, partitions that heal and
replicas that crash and restart, never more than f at once, all drawn from
one seed. Checkers compare every replica's executions and checkpoints and
every result a client accepts; once the faults stop, every request must
complete within --liveness-ticks.

The first seed is printed first (random unless --seed is given); a failure
prints its trace and the command that replays it, and exits 1.

Protocols: ` + strings.Join(simProtocolNames(), ", ") + `
Faults:    all, none, or a comma list of ` + strings.Join(sim.FaultNames(), ", "),
		Example: "  replbench sim --protocol pbft --seeds 10000\n" +
			"  replbench sim --protocol pbft --seed 42 --faults crash,partition -v",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.cmd = cmd
			if err := o.resolve(); err != nil {
				return err
			}
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.protocol, "protocol", "", "protocol to simulate: "+strings.Join(simProtocolNames(), ", "))
	f.Uint64Var(&o.seed, "seed", 0, "first seed (default: a random one, printed)")
	f.IntVar(&o.seeds, "seeds", 1, "number of seeds to run, from --seed up")
	f.StringVar(&o.faults, "faults", "all", "faults to inject: all, none, or a comma list of "+strings.Join(sim.FaultNames(), ","))
	f.IntVar(&o.replicas, "replicas", 0, "replicas (default: the protocol's, 4 for the BFT protocols)")
	f.IntVar(&o.clients, "clients", 3, "simulated clients")
	f.IntVar(&o.requests, "requests", 20, "requests per client, one outstanding at a time")
	f.Uint64Var(&o.timeout, "timeout", 0, fmt.Sprintf("client retransmission timeout in ticks (default: the protocol's, else %d)", sim.DefaultClientTimeout))
	f.Uint64Var(&o.faultTicks, "fault-ticks", 0, fmt.Sprintf("length of the fault phase in ticks (default %d)", sim.DefaultFaultTicks))
	f.Uint64Var(&o.live, "liveness-ticks", 0, fmt.Sprintf("ticks every request has to complete once faults stop (default %d)", sim.DefaultLivenessTicks))
	f.Uint64Var(&o.delay, "delay", 0, fmt.Sprintf("base link delay in ticks (default %d)", sim.DefaultNetwork.Delay))
	f.Uint64Var(&o.jitter, "jitter", 0, fmt.Sprintf("link delay spread in ticks (default %d)", sim.DefaultNetwork.Jitter))
	f.Float64Var(&o.loss, "loss", 0, fmt.Sprintf("message loss probability while loss is on (default %g)", sim.DefaultNetwork.Loss))
	f.Float64Var(&o.dup, "dup", 0, fmt.Sprintf("message duplication probability while dup is on (default %g)", sim.DefaultNetwork.Dup))
	f.BoolVar(&o.keepGoing, "keep-going", false, "run every seed instead of stopping at the first failure")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print a line per seed and longer traces")
	return cmd
}

// resolve checks the flags and builds what every seed's Config shares.
func (o *simOptions) resolve() error {
	if o.protocol == "" {
		return fmt.Errorf("--protocol is required (one of %s)", strings.Join(simProtocolNames(), ", "))
	}
	entry, err := lookupProtocol(o.protocol)
	if err != nil {
		return err
	}
	o.entry = entry
	if !o.changed("replicas") {
		o.replicas = entry.DefaultReplicas
	}
	if o.replicas < 1 || o.seeds < 1 || o.clients < 0 || o.requests < 0 {
		return fmt.Errorf("--replicas (%d) and --seeds (%d) must be positive, --clients (%d) and --requests (%d) not negative",
			o.replicas, o.seeds, o.clients, o.requests)
	}
	if o.faultSet, err = sim.ParseFaults(o.faults); err != nil {
		return fmt.Errorf("--faults: %w", err)
	}
	if err := entry.CheckReplicas(o.replicas); err != nil {
		return fmt.Errorf("%s %w", entry.Name, err)
	}
	if _, err := entry.SimNew(0, o.replicas, sim.NewChainApp()); err != nil {
		return err
	}
	n := o.replicas
	o.newCore = func(id uint32, app protocols.App) protocols.Core {
		c, _ := entry.SimNew(id, n, app) // n was checked above
		return c
	}
	if !o.changed("seed") {
		var b [4]byte // 32 bits: plenty of seeds, and a repro line one can type
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("pick a seed: %w", err)
		}
		o.seed = uint64(binary.BigEndian.Uint32(b[:]))
	}
	for _, name := range reproFlags {
		if o.changed(name) {
			o.reproArgs = append(o.reproArgs, "--"+name, o.cmd.Flags().Lookup(name).Value.String())
		}
	}
	return nil
}

func (o *simOptions) changed(flag string) bool { return o.cmd.Flags().Changed(flag) }

// config returns the Config for one seed.
func (o *simOptions) config(seed uint64) sim.Config {
	c := sim.Config{
		Seed: seed, N: o.replicas, New: o.newCore, Clients: o.clients, Requests: o.requests,
		Faults: o.faultSet, Protocol: o.protocol, ReproArgs: o.reproArgs,
	}
	if t := o.entry.SimClientTimeout; t != 0 {
		c.ClientTimeout = t
	}
	c.ClientsSendToAll = o.entry.ClientsSendToAll
	if o.verbose {
		c.TraceLines = 400
	}
	set := o.changed
	if set("timeout") {
		c.ClientTimeout = o.timeout
	}
	if set("fault-ticks") {
		c.FaultTicks = o.faultTicks
	}
	if set("liveness-ticks") {
		c.LivenessTicks = o.live
	}
	if set("delay") || set("jitter") || set("loss") || set("dup") {
		if c.Network == (sim.Network{}) {
			c.Network = sim.DefaultNetwork
		}
		if set("delay") {
			c.Network.Delay = o.delay
		}
		if set("jitter") {
			c.Network.Jitter = o.jitter
		}
		if set("loss") {
			c.Network.Loss = o.loss
		}
		if set("dup") {
			c.Network.Dup = o.dup
		}
	}
	return c
}

// simResult is one seed's outcome.
type simResult struct {
	rep *sim.Report
	err error
}

// simTotals sums the reports of the seeds run.
type simTotals struct {
	seeds, safety, liveness                     int
	completed, ticks, sent, dropped, duplicated uint64
	retransmits, unchecked                      uint64
	crashes, partitions                         int
	failed                                      []*sim.Failure
}

func (t *simTotals) add(r simResult) {
	t.seeds++
	if r.rep != nil {
		t.completed += r.rep.Completed
		t.ticks += r.rep.Ticks
		t.sent += r.rep.Sent
		t.dropped += r.rep.Dropped
		t.duplicated += r.rep.Duplicated
		t.retransmits += r.rep.Retransmits
		t.unchecked += uint64(r.rep.Unchecked)
		t.crashes += r.rep.Crashes
		t.partitions += r.rep.Partitions
	}
	var f *sim.Failure
	if errors.As(r.err, &f) {
		t.failed = append(t.failed, f)
		if f.Kind == sim.Safety {
			t.safety++
		} else {
			t.liveness++
		}
	}
}

func (o *simOptions) run(ctx context.Context, out, progress io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.seeds == 1 {
		fmt.Fprintf(out, "seed %d\n", o.seed)
	} else {
		fmt.Fprintf(out, "seeds %d..%d\n", o.seed, o.seed+uint64(o.seeds)-1)
	}
	fmt.Fprintf(out, "protocol %s: %s (f=%d), %d clients x %d requests, faults %s\n",
		o.protocol, plural(o.replicas, "replica"), (o.replicas-1)/3, o.clients, o.requests, o.faultSet)

	var (
		next    atomic.Int64 // the next seed index a worker takes
		stop    atomic.Bool
		results = make(chan indexed, 64)
		wg      sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), o.seeds) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.seeds {
					return
				}
				rep, err := sim.Run(o.config(o.seed + uint64(i)))
				results <- indexed{i, simResult{rep, err}}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	// Results arrive in any order; they are taken in seed order, so the
	// output and the seed a run stops at do not depend on scheduling.
	var (
		totals  simTotals
		pending = map[int]simResult{}
		done    int
		fatal   error
	)
	step := max(o.seeds/10, 1)
	for r := range results {
		pending[r.i] = r.res
		for {
			res, ok := pending[done]
			if !ok || stop.Load() {
				break
			}
			delete(pending, done)
			seed := o.seed + uint64(done)
			done++
			var f *sim.Failure
			if res.err != nil && !errors.As(res.err, &f) {
				fatal = res.err // a configuration error: every seed would fail alike
				stop.Store(true)
				break
			}
			totals.add(res)
			if o.verbose && res.rep != nil {
				r := res.rep
				fmt.Fprintf(out, "seed %d: %d ticks, %d frames (%d dropped, %d duplicated), %d requests, %d crashes, %d partitions, trace %016x",
					seed, r.Ticks, r.Sent, r.Dropped, r.Duplicated, r.Completed, r.Crashes, r.Partitions, r.TraceHash)
				if f != nil {
					fmt.Fprintf(out, ": %s", f.Kind)
				}
				fmt.Fprintln(out)
			}
			if f != nil && !o.keepGoing {
				stop.Store(true)
				break
			}
			if o.seeds >= 10 && done%step == 0 {
				fmt.Fprintf(progress, "%d/%d seeds, %d failures\n", done, o.seeds, len(totals.failed))
			}
		}
	}
	if fatal != nil {
		return fatal
	}
	o.summary(out, &totals)
	if err := ctx.Err(); err != nil && totals.seeds < o.seeds && len(totals.failed) == 0 {
		return fmt.Errorf("interrupted after %d of %d seeds: %w", totals.seeds, o.seeds, err)
	}
	if len(totals.failed) == 0 {
		return nil
	}
	first := totals.failed[0]
	fmt.Fprintf(out, "\n%s", first.Details())
	if len(totals.failed) > 1 {
		fmt.Fprintf(out, "\nother failures:\n")
		for _, f := range totals.failed[1:] {
			fmt.Fprintf(out, "  %v\n", f)
		}
	}
	return fmt.Errorf("%s; reproduce with: %s", first, first.Repro)
}

type indexed struct {
	i   int
	res simResult
}

func (o *simOptions) summary(out io.Writer, t *simTotals) {
	fmt.Fprintf(out, "seeds run:          %d", t.seeds)
	switch {
	case t.seeds < o.seeds && len(t.failed) > 0:
		fmt.Fprintf(out, " of %d (stopped at the first failure; --keep-going runs them all)", o.seeds)
	case t.seeds < o.seeds:
		fmt.Fprintf(out, " of %d (interrupted)", o.seeds)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "safety violations:  %d\n", t.safety)
	fmt.Fprintf(out, "liveness failures:  %d\n", t.liveness)
	fmt.Fprintf(out, "requests completed: %d (%d retransmissions)\n", t.completed, t.retransmits)
	fmt.Fprintf(out, "ticks:              %d\n", t.ticks)
	fmt.Fprintf(out, "frames sent:        %d (%d dropped, %d duplicated)\n", t.sent, t.dropped, t.duplicated)
	fmt.Fprintf(out, "crashes:            %d\n", t.crashes)
	fmt.Fprintf(out, "partitions:         %d\n", t.partitions)
	if t.unchecked > 0 {
		fmt.Fprintf(out, "unchecked results:  %d (accepted results no replica's step showed)\n", t.unchecked)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
