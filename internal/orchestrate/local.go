package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/procstat"
)

// Load is the load a point applies.
type Load struct {
	experiments.Workload
	Warmup   time.Duration // not measured
	Duration time.Duration // measured
	Cooldown time.Duration // not measured
}

// Job is one repeat of one point: everything needed to run it.
type Job struct {
	Point   int      // index among the spec's points
	Repeat  int      // 0-based
	Label   string   // swept values, e.g. "load.clients=4,load.payload=1KiB"
	Values  []string // the swept values alone, in axis order (summary.csv columns)
	Dir     string   // where this job's files go
	Cluster cluster.Config
	RSABits int
	Load    Load
	Seed    int64
}

// Local runs jobs as processes on this machine, on loopback.
type Local struct {
	Binary  string // the replbench binary started for replicas and clients
	KeysDir string // generated keys, cached per scheme and cluster size
	// ReadyTimeout bounds the wait for a replica's "ready" line.
	ReadyTimeout time.Duration

	keys keyCache
}

// freePorts reserves n loopback addresses. The listeners are closed before
// the replicas bind, so another process could take one in between; the
// replica then fails to listen and the point reports it.
func freePorts(n int) ([]string, error) {
	addrs := make([]string, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		ls = append(ls, l)
		addrs[i] = l.Addr().String()
	}
	return addrs, nil
}

// Run executes one job: start the replicas, wait until they are ready,
// run the load generator while sampling the replicas' RSS and CPU, stop
// everything and check it exited. Any replica that dies fails the job.
func (l *Local) Run(ctx context.Context, job *Job) (*PointResult, error) {
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	cfg := job.Cluster
	n := len(cfg.Replicas)
	var err error
	if cfg.ReplicaKeys, err = l.keys.get(l.KeysDir, cfg.ReplicaScheme, n, 0, job.RSABits); err != nil {
		return nil, err
	}
	if cfg.ClientKeys, err = l.keys.get(l.KeysDir, cfg.ClientScheme, n, cfg.Clients, job.RSABits); err != nil {
		return nil, err
	}
	if cfg.Replicas, err = freePorts(n); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(job.Dir, "cluster.json")
	if err := cfg.Write(cfgPath); err != nil {
		return nil, err
	}

	env := fairShare(runtime.NumCPU(), n+1)
	var reps []*proc
	defer func() { // on every path: nothing is left running
		for _, p := range reps {
			p.kill()
		}
	}()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("replica %d", i)
		p, err := startProc(name, l.Binary, []string{"replica", "--config", cfgPath, "--id", strconv.Itoa(i),
			"--stats", filepath.Join(job.Dir, fmt.Sprintf("replica-%d.stats.json", i))}, env,
			filepath.Join(job.Dir, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			return nil, err
		}
		reps = append(reps, p)
	}
	timeout := l.ReadyTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	for _, p := range reps {
		if err := p.waitReady(ctx, timeout); err != nil {
			return nil, err
		}
	}

	pids := make(map[string]int, n)
	for i, p := range reps {
		pids[strconv.Itoa(i)] = p.cmd.Process.Pid
	}
	sampler := procstat.NewSampler(pids, time.Second)
	client, err := startProc("load generator", l.Binary, clientArgs(job, cfgPath, job.Dir, 0, job.Load.Clients), env, filepath.Join(job.Dir, "client.log"))
	if err != nil {
		sampler.Stop()
		return nil, err
	}
	defer client.kill()

	died := firstExit(reps)
	select {
	case <-client.exited:
	case p := <-died:
		client.kill()
		sampler.Stop()
		return nil, p.deathError()
	case <-ctx.Done():
		client.kill()
		sampler.Stop()
		return nil, errInterrupted
	}
	series := sampler.Stop()
	if client.err != nil {
		return nil, fmt.Errorf("load generator failed: %v; %s", client.err, client.log.lastLines(10))
	}
	var stopErrs []error
	for _, p := range reps {
		if err := p.stop(5 * time.Second); err != nil {
			stopErrs = append(stopErrs, err)
		}
	}
	if err := errors.Join(stopErrs...); err != nil {
		return nil, fmt.Errorf("replicas did not stop cleanly: %w", err)
	}
	var rep node.ClientReport
	if err := node.ReadJSON(filepath.Join(job.Dir, "client.json"), &rep); err != nil {
		return nil, fmt.Errorf("read load generator report: %w", err)
	}
	return buildResult(job, &rep, n, series), nil
}

// fairShare is the environment that gives each of procs processes sharing
// a machine of cores its share of the cores as GOMAXPROCS (at least 1),
// unless the user set GOMAXPROCS. Left at the default, every Go process
// would run as many threads as the machine has cores; co-located replicas
// then spin and hand work between threads for cores they do not get: on
// 2 cores with 4 replicas and a load generator, a share of 1 gave 6% more
// PBFT throughput at batch 100 and lower latency at batch 1 than the default.
func fairShare(cores, procs int) []string {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	return []string{"GOMAXPROCS=" + strconv.Itoa(max(1, cores/max(1, procs)))}
}

// clientArgs is the load generator's command line for clients first..first+count-1.
func clientArgs(job *Job, cfgPath, out string, first, count int) []string {
	ld := job.Load
	return []string{"client", "--config", cfgPath, "--out", out,
		"--first", strconv.Itoa(first), "--clients", strconv.Itoa(count), "--outstanding", strconv.Itoa(ld.Outstanding),
		"--payload", strconv.Itoa(int(ld.Payload)), "--mode", string(ld.Mode),
		"--rate", strconv.FormatFloat(ld.Rate, 'g', -1, 64), "--timeout", ld.Timeout.String(),
		"--warmup", ld.Warmup.String(), "--duration", (ld.Warmup + ld.Duration + ld.Cooldown).String(), "--cooldown", ld.Cooldown.String(),
		"--workload", string(ld.Kind), "--read-ratio", strconv.FormatFloat(ld.ReadRatio, 'g', -1, 64),
		"--keys", strconv.Itoa(ld.Keys), "--distribution", string(ld.Distribution),
		"--theta", strconv.FormatFloat(ld.Theta, 'g', -1, 64), "--seed", strconv.FormatUint(uint64(job.Seed), 10),
	}
}
