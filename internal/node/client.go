package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/loadgen"
	"github.com/replbench/replbench/msgdump"
	"github.com/replbench/replbench/replicas/app"
)

type clientFlags struct {
	config, out, mode, once   string
	hexOnce                   string
	kv                        []string
	first, count, outstanding int
	payload                   int
	rate                      float64
	timeout, connect          time.Duration
	// duration is the whole run, warm-up and cool-down included, as a
	// spec's duration; what is measured lies between them.
	warmup, duration, cool DurationFlag

	workload, distribution string
	readRatio, theta       float64
	keys                   int
	seed                   uint64

	capture    string
	watchStdin bool
	forget     bool
	captures   []*msgdump.CaptureWriter // closed when the command ends
}

// NewClientCmd returns the load generator command.
func NewClientCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "client --config CLUSTER.json [--once TEXT | --hex HEX | --kv OP... | load flags]",
		Short: "Apply load to a running cluster, or send single requests",
		Long: `Connect clients to the cluster described by a cluster file and either send
single requests and print their results, or apply closed- or open-loop load
and write latency.hlog and client.json to --out (what 'run' does per point).

Single requests: --once sends its text as the payload, --hex the bytes its
hex digits spell, and --kv key-value operations of the kv app, written as
'get KEY', 'put KEY VALUE' or 'delete KEY' (repeat --kv for several, sent in
order): for example --kv 'put user:1042 alice' --kv 'get user:1042' prints
"ok" and "ok alice".

Every process is a new session of its client id, so its requests never
meet the cached replies of an earlier process with the same keys. A load
run ends with a one-line summary and fails when it completed nothing, got a
reply that did not match its request, had more requests fail or stay
unfinished than complete (a stall), or (open loop) completed less than half
of what was due.

Closed loop: --clients clients each keep --outstanding requests in flight.
Open loop: requests leave on a schedule at --rate requests/s in total, and
latency counts from the intended send time (coordinated omission corrected).

Workloads: fixed sends --payload zero bytes every time; ycsb sends gets and
puts of the kv app (--payload is the value size), keys drawn from --keys
keys by --distribution. Each client first puts its share of the keys once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if f.config == "" {
				return fmt.Errorf("--config is required")
			}
			cfg, err := cluster.Load(f.config)
			if err != nil {
				return err
			}
			defer func() {
				for _, w := range f.captures {
					if cerr := w.Close(); cerr != nil && err == nil {
						err = fmt.Errorf("--capture: %w", cerr)
					}
				}
			}()
			ctx, cancel := lifeline(cmd, f.watchStdin)
			defer cancel()
			if f.once != "" || f.hexOnce != "" || len(f.kv) > 0 {
				return runOnce(ctx, cmd, cfg, &f)
			}
			return runLoad(ctx, cmd.OutOrStdout(), cfg, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "cluster file (JSON) written by 'replbench run'")
	fl.StringVar(&f.out, "out", ".", "directory for latency.hlog and client.json")
	fl.StringVar(&f.once, "once", "", "send this text as one request's payload, print the result and exit")
	fl.StringVar(&f.hexOnce, "hex", "", "send the bytes these hex digits spell as one request's payload, print the result and exit")
	fl.StringArrayVar(&f.kv, "kv", nil, "kv app: send this operation ('get KEY', 'put KEY VALUE', 'delete KEY'), print its result; repeat for several")
	fl.StringVar(&f.capture, "capture", "", "write every frame the client sends and receives to this capture file (a directory of one file per client when --clients > 1); read it with 'replbench msgdump'")
	fl.StringVar(&f.mode, "mode", "closed", "load mode: closed or open")
	fl.IntVar(&f.first, "first", 0, "id of the first client (clients are first..first+clients-1)")
	fl.IntVar(&f.count, "clients", 1, "number of clients, each with its own connections and keys")
	fl.IntVar(&f.outstanding, "outstanding", 1, "closed loop: requests in flight per client")
	fl.IntVar(&f.payload, "payload", 100, "request payload size in bytes")
	fl.Float64Var(&f.rate, "rate", 0, "open loop: total requests per second")
	fl.DurationVar(&f.timeout, "timeout", time.Second, "time before a request is retransmitted to all replicas")
	fl.DurationVar(&f.connect, "connect-timeout", 10*time.Second, "how long to wait for connections to all replicas, and then for each client's first reply (sent before the load starts)")
	f.warmup, f.duration, f.cool = DurationFlag{D: 2 * time.Second}, DurationFlag{D: 10 * time.Second}, DurationFlag{D: time.Second}
	fl.Var(&f.duration, "duration", "how long load runs, warm-up and cool-down included (as a spec's duration); the time between them is measured")
	fl.Var(&f.warmup, "warmup", "first part of --duration, not measured")
	fl.Var(&f.cool, "cooldown", "last part of --duration, not measured")
	fl.StringVar(&f.workload, "workload", "fixed", "request payloads: fixed or ycsb (kv app only)")
	fl.Float64Var(&f.readRatio, "read-ratio", 0.5, "ycsb: fraction of requests that are gets")
	fl.IntVar(&f.keys, "keys", 1000, "ycsb: number of keys")
	fl.StringVar(&f.distribution, "distribution", loadgen.Zipfian, "ycsb: key distribution, uniform or zipfian")
	fl.Float64Var(&f.theta, "theta", loadgen.DefaultTheta, "ycsb: zipfian skew, in (0, 1)")
	fl.BoolVar(&f.watchStdin, "watch-stdin", false, watchStdinUsage)
	fl.BoolVar(&f.forget, "forget-keys", false, forgetKeysUsage)
	fl.Uint64Var(&f.seed, "seed", 1, "ycsb: seed of the clients' random streams")
	return cmd
}

func dialClient(ctx context.Context, cfg *cluster.Config, id int, f *clientFlags) (*clients.Client, error) {
	auth, err := cfg.ClientAuth(uint32(id))
	if err != nil {
		return nil, err
	}
	ccfg := clients.Config{Cluster: cfg, ID: uint32(id), Auth: auth, Timeout: f.timeout}
	if f.capture != "" {
		path := f.capture
		if f.count > 1 { // one file per client in the directory --capture names
			if err := os.MkdirAll(f.capture, 0o755); err != nil {
				return nil, fmt.Errorf("--capture: %w", err)
			}
			path = msgdump.CaptureFile(f.capture, keys.Client(uint32(id)))
		}
		w, err := msgdump.CreateCapture(path, msgdump.CaptureHeader{Self: keys.Client(uint32(id)), Tool: "replbench " + Version + " client"})
		if err != nil {
			return nil, err
		}
		ccfg.Tap = w
		f.captures = append(f.captures, w)
	}
	ctx, cancel := context.WithTimeout(ctx, f.connect)
	defer cancel()
	return clients.New(ctx, ccfg)
}

// runOnce sends the single requests --once, --hex or --kv ask for, one
// after the other, and prints each result.
func runOnce(ctx context.Context, cmd *cobra.Command, cfg *cluster.Config, f *clientFlags) error {
	type request struct {
		payload []byte
		show    func(res []byte) string
	}
	quoted := func(res []byte) string { return strconv.Quote(string(res)) }
	var reqs []request
	switch {
	case (f.once != "") && (f.hexOnce != "" || len(f.kv) > 0), f.hexOnce != "" && len(f.kv) > 0:
		return fmt.Errorf("--once, --hex and --kv are alternatives: give one of them")
	case f.once != "":
		reqs = append(reqs, request{[]byte(f.once), quoted})
	case f.hexOnce != "":
		b, err := hex.DecodeString(strings.Join(strings.Fields(f.hexOnce), ""))
		if err != nil {
			return fmt.Errorf("--hex %q: %w", f.hexOnce, err)
		}
		reqs = append(reqs, request{b, quoted})
	default:
		if cfg.App != "kv" {
			return fmt.Errorf("--kv sends key-value operations, but the cluster runs app %q, not kv", cfg.App)
		}
		for _, text := range f.kv {
			op, err := app.ParseKVText(text)
			if err != nil {
				return fmt.Errorf("--kv: %w", err)
			}
			reqs = append(reqs, request{op, func(res []byte) string { return app.DescribeKVResult(op, res) }})
		}
	}
	c, err := dialClient(ctx, cfg, f.first, f)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, r := range reqs {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := c.Invoke(ctx, r.payload)
		cancel()
		if err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), r.show(res))
	}
	return nil
}

// firstRequests has every client complete one request (an empty payload,
// which every app answers and none takes for a change of state) before the
// load starts. The warm-up then starts with a cluster that is serving:
// replicas connected to each other and to every client, past whatever
// their start-up costs on a busy machine, so that a short point measures
// the protocol rather than the start.
func firstRequests(ctx context.Context, cs []*clients.Client, first int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Invoke(ctx, nil); err != nil {
				errs[i] = fmt.Errorf("client %d: the cluster did not answer its first request within %v (--connect-timeout): %w", first+i, timeout, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// caller adapts a client to the load generator. With the echo app it also
// stamps every payload with a call number and checks that each result is
// its own request's payload, so a reply to the wrong request is caught.
type caller struct {
	c          *clients.Client
	check      bool
	calls      *atomic.Uint64
	mismatches *atomic.Uint64
}

func (c caller) Call(payload []byte, done func(error)) {
	if !c.check {
		c.c.InvokeAsync(payload, func(_ []byte, err error) { done(err) })
		return
	}
	sent := append([]byte(nil), payload...)
	var stamp [8]byte
	binary.BigEndian.PutUint64(stamp[:], c.calls.Add(1))
	copy(sent, stamp[:])
	c.c.InvokeAsync(sent, func(res []byte, err error) {
		if err == nil && !bytes.Equal(res, sent) {
			c.mismatches.Add(1)
		}
		done(err)
	})
}

func runLoad(ctx context.Context, stdout io.Writer, cfg *cluster.Config, f *clientFlags) error {
	if f.count < 1 || f.first < 0 || f.first+f.count > cfg.Clients {
		return fmt.Errorf("clients %d..%d out of range: the cluster has %d client ids", f.first, f.first+f.count-1, cfg.Clients)
	}
	measured, err := f.measured()
	if err != nil {
		return err
	}
	lc := loadgen.Config{
		Mode: f.mode, Outstanding: f.outstanding, Rate: f.rate, Payload: f.payload,
		Warmup: f.warmup.D, Duration: measured, Cooldown: f.cool.D,
	}
	switch f.workload {
	case "fixed":
	case "ycsb":
		if cfg.App != "kv" {
			return fmt.Errorf("--workload ycsb sends key-value operations, but the cluster runs app %q, not kv", cfg.App)
		}
		w, err := loadgen.NewYCSB(loadgen.YCSB{ReadRatio: f.readRatio, Keys: f.keys, Distribution: f.distribution,
			Theta: f.theta, ValueSize: f.payload, Preload: true, Seed: f.seed})
		if err != nil {
			return err
		}
		lc.Payload, lc.Workload = 0, w
	default:
		return fmt.Errorf("unknown --workload %q (want fixed or ycsb)", f.workload)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	cs := make([]*clients.Client, f.count)
	errs := make([]error, f.count)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cs[i], errs[i] = dialClient(ctx, cfg, f.first+i, f)
		}(i)
	}
	wg.Wait()
	defer func() {
		for _, c := range cs {
			if c != nil {
				c.Close()
			}
		}
	}()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if f.forget {
		for i := range cs {
			if err := forgetKeys(cfg, keys.Client(uint32(f.first+i))); err != nil {
				return err
			}
		}
	}
	if err := firstRequests(ctx, cs, f.first, f.connect); err != nil {
		return err
	}
	var calls, mismatches atomic.Uint64
	check := cfg.App == "echo" && cfg.AppReply == 0
	callers := make([]loadgen.Caller, len(cs))
	for i, c := range cs {
		callers[i] = caller{c: c, check: check, calls: &calls, mismatches: &mismatches}
	}
	res, err := loadgen.Run(ctx, callers, lc)
	if err != nil {
		return err
	}
	hlogPath := filepath.Join(f.out, "latency.hlog")
	hlog, err := os.Create(hlogPath)
	if err != nil {
		return writeError(hlogPath, err)
	}
	if err := res.WriteHlog(hlog); err != nil {
		hlog.Close()
		return writeError(hlogPath, err)
	}
	if err := hlog.Close(); err != nil {
		return writeError(hlogPath, err)
	}
	rep := ClientReport{
		Start: res.Start, End: res.End,
		Measure:    [2]float64{f.warmup.D.Seconds(), (f.warmup.D + measured).Seconds()},
		Throughput: res.Throughput, Completed: res.Completed, Errors: res.Errors,
		Latency: loadgen.Summarize(res.Latency), Uncorrected: loadgen.Summarize(res.Uncorrected),
		Timeline: res.Timeline, Mismatches: mismatches.Load(),
	}
	for _, c := range cs {
		rep.Clients = append(rep.Clients, c.Stats())
	}
	if err := WriteJSON(filepath.Join(f.out, "client.json"), rep); err != nil {
		return err
	}
	fmt.Fprintln(stdout, rep.Line(res.Measured))
	return rep.Check(res, lc)
}

// measured is the time between warm-up and cool-down. Errors quote the
// flags as given.
func (f *clientFlags) measured() (time.Duration, error) {
	for _, d := range []struct {
		name string
		flag *DurationFlag
	}{{"warmup", &f.warmup}, {"cooldown", &f.cool}} {
		if d.flag.D < 0 {
			return 0, fmt.Errorf("--%s %s: must not be negative", d.name, d.flag)
		}
	}
	if f.duration.D <= 0 {
		return 0, fmt.Errorf("--duration %s: must be positive (it includes warm-up and cool-down)", &f.duration)
	}
	m := f.duration.D - f.warmup.D - f.cool.D
	if m <= 0 {
		return 0, fmt.Errorf("--duration %s must be longer than --warmup %s + --cooldown %s, which it includes", &f.duration, &f.warmup, &f.cool)
	}
	return m, nil
}
