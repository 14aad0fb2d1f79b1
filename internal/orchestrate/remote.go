package orchestrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/hosts"
	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/procstat"
	"github.com/replbench/replbench/internal/remote"
	"github.com/replbench/replbench/keys"
)

// Remote runs jobs on the hosts of a hosts file over SSH: one replica per
// replica host (round-robin when there are fewer hosts than replicas) and
// the clients spread over the client hosts, one load generator process per
// client host. Connections and uploaded binaries are kept across jobs.
type Remote struct {
	Hosts    *hosts.File
	SSH      remote.Options
	Binaries *Binaries
	KeysDir  string // local key cache, as for Local
	// Port is the first replica port: replica i listens on Port+i on its host.
	Port         int
	ReadyTimeout time.Duration
	Log          io.Writer // connection and upload progress

	keys  keyCache
	mu    sync.Mutex
	conns map[string]*hostConn // by host name
}

// hostConn is one connected host and the node binary it runs.
type hostConn struct {
	host  hosts.Host
	c     *remote.Client
	bin   string // remote path of the node binary
	cores int    // online CPUs
}

// DefaultPort is the first port replicas listen on on remote hosts.
const DefaultPort = 7400

// Describe lists the hosts for meta.json: "name user@address:port role labels".
func (r *Remote) Describe() []string {
	var out []string
	for _, h := range r.Hosts.Hosts {
		addr := h.Address
		if h.User != "" {
			addr = h.User + "@" + addr
		}
		if h.Port != 0 {
			addr += ":" + strconv.Itoa(h.Port)
		}
		d := fmt.Sprintf("%s %s %s", h.Name, addr, h.Role)
		if len(h.Labels) > 0 {
			d += " " + strings.Join(h.Labels, ",")
		}
		out = append(out, d)
	}
	return out
}

// Close closes every connection.
func (r *Remote) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for name, hc := range r.conns {
		errs = append(errs, hc.c.Close())
		delete(r.conns, name)
	}
	return errors.Join(errs...)
}

// placement says which host runs what in one job.
type placement struct {
	replicaHost []hosts.Host   // index = replica id
	clientHosts []hosts.Host   // hosts with at least one client
	clientFirst []int          // first client id per client host
	clientCount []int          // clients per client host
	byName      map[string]int // every host in the job -> index in names
	names       []string
}

// place spreads n replicas and c clients over the hosts.
func place(f *hosts.File, n, c int) (*placement, error) {
	reps, cls := f.ByRole(hosts.RoleReplica), f.ByRole(hosts.RoleClient)
	if len(reps) == 0 || len(cls) == 0 {
		return nil, fmt.Errorf("hosts file %s needs at least one replica host and one client host", f.Path)
	}
	p := &placement{byName: make(map[string]int)}
	add := func(h hosts.Host) {
		if _, ok := p.byName[h.Name]; !ok {
			p.byName[h.Name] = len(p.names)
			p.names = append(p.names, h.Name)
		}
	}
	for i := 0; i < n; i++ {
		h := reps[i%len(reps)]
		p.replicaHost = append(p.replicaHost, h)
		add(h)
	}
	first := 0
	for j, h := range cls {
		count := c / len(cls)
		if j < c%len(cls) {
			count++
		}
		if count == 0 {
			continue
		}
		p.clientHosts = append(p.clientHosts, h)
		p.clientFirst = append(p.clientFirst, first)
		p.clientCount = append(p.clientCount, count)
		first += count
		add(h)
	}
	return p, nil
}

// processes counts the processes a job runs on a host.
func (p *placement) processes(name string) int {
	n := 0
	for _, h := range append(append([]hosts.Host(nil), p.replicaHost...), p.clientHosts...) {
		if h.Name == name {
			n++
		}
	}
	return n
}

// hosts returns the distinct hosts of a placement.
func (p *placement) hosts() []hosts.Host {
	out := make([]hosts.Host, len(p.names))
	for _, h := range append(append([]hosts.Host(nil), p.replicaHost...), p.clientHosts...) {
		out[p.byName[h.Name]] = h
	}
	return out
}

// Run executes one job on the hosts. Whatever happens, every process it
// started is stopped and checked gone, and the job's remote directory
// (which holds private keys) is removed.
func (r *Remote) Run(ctx context.Context, job *Job) (res *PointResult, err error) {
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	cfg := job.Cluster
	n := len(cfg.Replicas)
	pl, err := place(r.Hosts, n, job.Load.Clients)
	if err != nil {
		return nil, err
	}
	conns, err := r.connect(ctx, pl.hosts())
	if err != nil {
		return nil, err
	}
	replicaKeys, err := r.keys.get(r.KeysDir, cfg.ReplicaScheme, n, 0, job.RSABits)
	if err != nil {
		return nil, err
	}
	clientKeys, err := r.keys.get(r.KeysDir, cfg.ClientScheme, n, cfg.Clients, job.RSABits)
	if err != nil {
		return nil, err
	}
	port := r.Port
	if port == 0 {
		port = DefaultPort
	}
	cfg.Replicas = make([]string, n) // the job's own slice stays as it was
	for i, h := range pl.replicaHost {
		cfg.Replicas[i] = net.JoinHostPort(conns[h.Name].c.HostName(), strconv.Itoa(port+i))
	}
	cfg.ReplicaKeys, cfg.ClientKeys = "keys/replicas", "keys/clients"
	if cfg.Network != nil {
		nw := *cfg.Network
		nw.ReplicaLabels = make([][]string, n)
		for i, h := range pl.replicaHost {
			nw.ReplicaLabels[i] = h.Labels
		}
		nw.ClientLabels = nil
		for j, h := range pl.clientHosts {
			nw.ClientLabels = append(nw.ClientLabels, cluster.ClientGroup{First: pl.clientFirst[j], Count: pl.clientCount[j], Labels: h.Labels})
		}
		cfg.Network = &nw
	}
	cfgPath := filepath.Join(job.Dir, "cluster.json")
	if err := cfg.Write(cfgPath); err != nil {
		return nil, err
	}
	w := &remoteJob{r: r, job: job, pl: pl, conns: conns, dirs: make(map[string]string)}
	defer func() {
		if cerr := w.cleanup(); cerr != nil {
			err = errors.Join(err, cerr)
			res = nil
		}
	}()
	if err := w.upload(ctx, cfgPath, replicaKeys, clientKeys); err != nil {
		return nil, err
	}
	return w.run(ctx)
}

// connect dials (or reuses) every host of a job in parallel and makes sure
// each has the node binary for its platform.
func (r *Remote) connect(ctx context.Context, hs []hosts.Host) (map[string]*hostConn, error) {
	out := make(map[string]*hostConn, len(hs))
	errs := make([]error, len(hs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc, err := r.conn(ctx, h)
			if err != nil {
				errs[i] = err
				return
			}
			mu.Lock()
			out[h.Name] = hc
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (r *Remote) conn(ctx context.Context, h hosts.Host) (*hostConn, error) {
	r.mu.Lock()
	hc := r.conns[h.Name]
	r.mu.Unlock()
	if hc != nil {
		if _, err := hc.c.Output(ctx, "true"); err == nil {
			return hc, nil
		}
		r.forget(h.Name) // the connection broke since the last job: dial again
	}
	c, err := remote.Dial(ctx, h, r.SSH)
	if err != nil {
		return nil, err
	}
	hc = &hostConn{host: h, c: c}
	if err := r.install(ctx, hc); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	r.mu.Lock()
	if r.conns == nil {
		r.conns = make(map[string]*hostConn)
	}
	r.conns[h.Name] = hc
	r.mu.Unlock()
	return hc, nil
}

func (r *Remote) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hc := r.conns[name]; hc != nil {
		hc.c.Close()
		delete(r.conns, name)
	}
}

// install finds the host's platform and uploads the node binary built for
// it, unless a copy with the same hash is there already.
func (r *Remote) install(ctx context.Context, hc *hostConn) error {
	out, err := hc.c.Output(ctx, "uname -s -m && getconf _NPROCESSORS_ONLN")
	if err != nil {
		return fmt.Errorf("find platform: %w", err)
	}
	uname, ncpu, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	goos, goarch, err := platform(uname)
	if err != nil {
		return err
	}
	if hc.cores, err = strconv.Atoi(strings.TrimSpace(ncpu)); err != nil || hc.cores < 1 {
		return fmt.Errorf("unexpected CPU count %q from getconf", ncpu)
	}
	bin, err := r.Binaries.For(ctx, goos, goarch)
	if err != nil {
		return err
	}
	dir := path.Join(hc.host.WorkDir(), "bin")
	dst := path.Join(dir, "replbench-node-"+bin.Hash[:16])
	// Temporary files of uploads cut short (Ctrl-C, a killed orchestrator)
	// are swept once they are old enough not to be another run's upload.
	sweep := "find " + remote.Quote(dir) + " -maxdepth 1 -name '.replbench-node-*.tmp-*' -mmin +10 -exec rm -f {} + 2>/dev/null; "
	if _, err := hc.c.Output(ctx, sweep+"test -x "+remote.Quote(dst)); err == nil {
		hc.bin = dst
		return nil
	}
	f, err := os.Open(bin.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	if r.Log != nil {
		fmt.Fprintf(r.Log, "%s: uploading replbench-node for %s/%s\n", hc.host.Name, goos, goarch)
	}
	if err := hc.c.Upload(ctx, f, dst, 0o755); err != nil {
		return fmt.Errorf("upload replbench-node: %w", err)
	}
	hc.bin = dst
	return nil
}

// platform maps `uname -s -m` to GOOS/GOARCH.
func platform(uname string) (goos, goarch string, err error) {
	f := strings.Fields(uname)
	if len(f) != 2 {
		return "", "", fmt.Errorf("unexpected `uname -s -m` output %q", strings.TrimSpace(uname))
	}
	goos = strings.ToLower(f[0])
	arch := map[string]string{
		"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
		"armv7l": "arm", "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
	}
	if goarch = arch[f[1]]; goarch == "" || (goos != "linux" && goos != "freebsd" && goos != "darwin") {
		return "", "", fmt.Errorf("unsupported platform %s", strings.TrimSpace(uname))
	}
	return goos, goarch, nil
}

// remoteJob is one job in flight on the hosts.
type remoteJob struct {
	r     *Remote
	job   *Job
	pl    *placement
	conns map[string]*hostConn
	dirs  map[string]string // host name -> the job's remote directory

	mu    sync.Mutex
	procs []*remoteProc // everything started, for cleanup
}

// remoteProc is a process started on a host, with its log on this machine.
type remoteProc struct {
	name string // "replica 2", "load generator"
	hc   *hostConn
	p    *remote.Process
	log  *readyLog
}

// jobDir is the job's directory on a host: WorkDir/jobs/<run>/<point>/rep-k.
func (w *remoteJob) jobDir(h hosts.Host) string {
	rel := filepath.ToSlash(w.job.Dir)
	parts := strings.Split(rel, "/")
	if len(parts) > 4 {
		parts = parts[len(parts)-4:] // <run id>/points/<point>/rep-k
	}
	return path.Join(h.WorkDir(), "jobs", path.Join(parts...))
}

// upload sends every host the cluster file and the keys its processes
// need: their own private keys (0600, in a 0700 directory) and the public ones.
func (w *remoteJob) upload(ctx context.Context, cfgPath, replicaKeys, clientKeys string) error {
	need := make(map[string][]keys.Principal)
	for i, h := range w.pl.replicaHost {
		need[h.Name] = append(need[h.Name], keys.Replica(uint32(i)))
	}
	for j, h := range w.pl.clientHosts {
		for k := 0; k < w.pl.clientCount[j]; k++ {
			need[h.Name] = append(need[h.Name], keys.Client(uint32(w.pl.clientFirst[j]+k)))
		}
	}
	cfgData, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	return w.eachHost(func(hc *hostConn) error {
		dir := w.jobDir(hc.host)
		w.mu.Lock()
		w.dirs[hc.host.Name] = dir
		w.mu.Unlock()
		files := []remote.File{{Name: "cluster.json", Mode: 0o644, Data: cfgData}}
		for _, set := range []struct{ local, remote string }{{replicaKeys, "keys/replicas"}, {clientKeys, "keys/clients"}} {
			kfs, err := keyFiles(set.local, need[hc.host.Name])
			if err != nil {
				return err
			}
			for _, f := range kfs {
				data, err := os.ReadFile(f.path)
				if err != nil {
					return err
				}
				files = append(files, remote.File{Name: set.remote + "/" + filepath.Base(f.path), Mode: f.mode, Data: data})
			}
		}
		return hc.c.UploadFiles(ctx, dir, files)
	})
}

type keyFile struct {
	path string
	mode os.FileMode
}

// keyFiles lists what a host needs from a key directory: the private key
// files of its principals (0600) and every public key (0644).
func keyFiles(dir string, own []keys.Principal) ([]keyFile, error) {
	var out []keyFile
	for _, p := range own {
		f := keys.KeyFile(dir, p)
		if _, err := os.Stat(f); err == nil {
			out = append(out, keyFile{f, 0o600})
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	pubs, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil {
		return nil, err
	}
	for _, f := range pubs {
		out = append(out, keyFile{f, 0o644})
	}
	return out, nil
}

// eachHost runs fn for every host of the job in parallel; errors name the
// host (the SSH layer's already do).
func (w *remoteJob) eachHost(fn func(hc *hostConn) error) error {
	hs := w.pl.hosts()
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(w.conns[h.Name]); err != nil {
				if !strings.HasPrefix(err.Error(), h.Name+" ") {
					err = fmt.Errorf("%s: %w", h.Name, err)
				}
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// start runs the node binary with args in the job's directory on a host.
func (w *remoteJob) start(hc *hostConn, name, logName string, args []string) (*remoteProc, error) {
	logf, err := newReadyLog(filepath.Join(w.job.Dir, logName))
	if err != nil {
		return nil, err
	}
	q := make([]string, 0, len(args)+1)
	q = append(q, remote.Quote(hc.bin))
	for _, a := range args {
		q = append(q, remote.Quote(a))
	}
	env := ""
	if procs := w.pl.processes(hc.host.Name); procs > 1 {
		env = strings.Join(fairShare(hc.cores, procs), " ") + " "
	}
	cmd := "cd " + remote.Quote(w.dirs[hc.host.Name]) + " && " + env + "exec " + strings.Join(q, " ") + " --watch-stdin --forget-keys"
	p, err := hc.c.Start(cmd, logf.stdout(), logf)
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("%s on %s: start: %w", name, hc.host.Name, err)
	}
	rp := &remoteProc{name: name, hc: hc, p: p, log: logf}
	w.mu.Lock()
	w.procs = append(w.procs, rp)
	w.mu.Unlock()
	return rp, nil
}

// died describes a remote process that ended while it was needed.
func (rp *remoteProc) died() error {
	why := "exited"
	if err := rp.p.Err(); err != nil {
		why = err.Error()
	}
	return fmt.Errorf("%s on host %s (pid %d) died: %s; %s",
		rp.name, rp.hc.host.Name, rp.p.Pid(), why, rp.log.lf.lastLines(10))
}

func (w *remoteJob) run(ctx context.Context) (*PointResult, error) {
	job, pl := w.job, w.pl
	n := len(pl.replicaHost)
	reps := make([]*remoteProc, n)
	for i, h := range pl.replicaHost {
		rp, err := w.start(w.conns[h.Name], fmt.Sprintf("replica %d", i), fmt.Sprintf("replica-%d.log", i),
			[]string{"replica", "--config", "cluster.json", "--id", strconv.Itoa(i), "--stats", fmt.Sprintf("replica-%d.stats.json", i)})
		if err != nil {
			return nil, err
		}
		reps[i] = rp
	}
	timeout := w.r.ReadyTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, rp := range reps {
		select {
		case <-rp.log.ready:
		case <-rp.p.Done():
			return nil, rp.died()
		case <-deadline.C:
			return nil, fmt.Errorf("%s on host %s not ready after %v; %s", rp.name, rp.hc.host.Name, timeout, rp.log.lf.lastLines(10))
		case <-ctx.Done():
			return nil, errInterrupted
		}
	}

	samplers := make(map[string]*procstat.Sampler)
	for _, name := range pl.names {
		pids := make(map[string]int)
		for i, rp := range reps {
			if pl.replicaHost[i].Name == name {
				pids[strconv.Itoa(i)] = rp.p.Pid()
			}
		}
		if len(pids) > 0 {
			hc := w.conns[name]
			samplers[name] = procstat.NewSamplerFunc(pids, time.Second, func(pid int) (procstat.Sample, error) { return readRemote(ctx, hc, pid) })
		}
	}
	stopSampling := func() map[string]procstat.Series {
		all := make(map[string]procstat.Series)
		for _, s := range samplers {
			for k, v := range s.Stop() {
				all[k] = v
			}
		}
		return all
	}

	var loads []*remoteProc
	for j, h := range pl.clientHosts {
		logName := "client.log"
		if len(pl.clientHosts) > 1 {
			logName = "client-" + h.Name + ".log"
		}
		rp, err := w.start(w.conns[h.Name], "load generator", logName, clientArgs(job, "cluster.json", ".", pl.clientFirst[j], pl.clientCount[j]))
		if err != nil {
			stopSampling()
			return nil, err
		}
		loads = append(loads, rp)
	}

	died := make(chan *remoteProc, n)
	for _, rp := range reps {
		go func() {
			<-rp.p.Done()
			died <- rp
		}()
	}
	for _, lp := range loads {
		select {
		case <-lp.p.Done():
			if lp.p.Err() != nil {
				stopSampling()
				return nil, fmt.Errorf("load generator on host %s failed: %v; %s", lp.hc.host.Name, lp.p.Err(), lp.log.lf.lastLines(10))
			}
		case rp := <-died:
			stopSampling()
			return nil, rp.died()
		case <-ctx.Done():
			stopSampling()
			return nil, errInterrupted
		}
	}
	series := stopSampling()

	var stopErrs []error
	for _, rp := range reps {
		if err := w.stop(ctx, rp, 5*time.Second); err != nil {
			stopErrs = append(stopErrs, err)
		}
	}
	if err := errors.Join(stopErrs...); err != nil {
		return nil, fmt.Errorf("replicas did not stop cleanly: %w", err)
	}
	if err := w.collect(ctx, reps, loads); err != nil {
		return nil, err
	}
	rep, err := w.report()
	if err != nil {
		return nil, err
	}
	return buildResult(job, rep, n, series), nil
}

// stop asks a process to end (SIGTERM), waits up to grace, then kills it.
func (w *remoteJob) stop(ctx context.Context, rp *remoteProc, grace time.Duration) error {
	select {
	case <-rp.p.Done():
		return rp.exitError()
	default:
	}
	if err := rp.p.Signal(ctx, "TERM"); err != nil {
		return fmt.Errorf("%s on host %s: %w", rp.name, rp.hc.host.Name, err)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-rp.p.Done():
		return rp.exitError()
	case <-t.C:
		_ = rp.p.Signal(ctx, "KILL")
		return fmt.Errorf("%s on host %s did not exit within %v of SIGTERM; killed", rp.name, rp.hc.host.Name, grace)
	}
}

func (rp *remoteProc) exitError() error {
	if err := rp.p.Err(); err != nil {
		return fmt.Errorf("%s on host %s: %w; %s", rp.name, rp.hc.host.Name, err, rp.log.lf.lastLines(10))
	}
	return nil
}

// collect fetches the replicas' counters and the load generators' outputs
// into the job's local directory.
func (w *remoteJob) collect(ctx context.Context, reps, loads []*remoteProc) error {
	fetch := func(hc *hostConn, name, local string) error {
		f, err := os.Create(local)
		if err != nil {
			return err
		}
		err = hc.c.Download(ctx, w.dirs[hc.host.Name]+"/"+name, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("fetch %s from %s: %w", name, hc.host.Name, err)
		}
		return nil
	}
	for i, rp := range reps {
		name := fmt.Sprintf("replica-%d.stats.json", i)
		if err := fetch(rp.hc, name, filepath.Join(w.job.Dir, name)); err != nil {
			return err
		}
	}
	for _, lp := range loads {
		dir := w.clientDir(lp.hc.host)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, name := range []string{"client.json", "latency.hlog"} {
			if err := fetch(lp.hc, name, filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// clientDir is where a client host's outputs go locally: the job's
// directory itself when there is one client host, else a subdirectory.
func (w *remoteJob) clientDir(h hosts.Host) string {
	if len(w.pl.clientHosts) == 1 {
		return w.job.Dir
	}
	return filepath.Join(w.job.Dir, "client-"+h.Name)
}

// report reads (and, with several client hosts, merges) the load report.
func (w *remoteJob) report() (*node.ClientReport, error) {
	if len(w.pl.clientHosts) == 1 {
		var rep node.ClientReport
		if err := node.ReadJSON(filepath.Join(w.job.Dir, "client.json"), &rep); err != nil {
			return nil, fmt.Errorf("read load generator report: %w", err)
		}
		return &rep, nil
	}
	var dirs []string
	for _, h := range w.pl.clientHosts {
		dirs = append(dirs, w.clientDir(h))
	}
	rep, err := MergeClientRuns(dirs, filepath.Join(w.job.Dir, "latency.hlog"))
	if err != nil {
		return nil, err
	}
	return rep, node.WriteJSON(filepath.Join(w.job.Dir, "client.json"), rep)
}

// cleanup kills whatever still runs, checks by pid that nothing is left,
// and removes the job's remote directories. It runs on every path,
// Ctrl-C included, so it does not use the job's context.
func (w *remoteJob) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	byHost := make(map[string][]*remoteProc)
	for _, rp := range w.procs {
		byHost[rp.hc.host.Name] = append(byHost[rp.hc.host.Name], rp)
	}
	err := w.eachHost(func(hc *hostConn) error {
		var pids []string
		for _, rp := range byHost[hc.host.Name] {
			select {
			case <-rp.p.Done():
			default:
				_ = rp.p.Signal(ctx, "KILL")
			}
			_ = rp.p.CloseStdin()
			pids = append(pids, strconv.Itoa(rp.p.Pid()))
		}
		var errs []error
		if len(pids) > 0 {
			// kill -0 fails for every pid that is gone; any that answers is a leftover.
			script := "for p in " + strings.Join(pids, " ") + "; do if kill -0 $p 2>/dev/null; then kill -9 $p; echo $p; fi; done"
			out, err := hc.c.Output(ctx, script)
			if err != nil {
				errs = append(errs, fmt.Errorf("check that processes %s are gone: %w", strings.Join(pids, " "), err))
			} else if left := strings.Fields(string(out)); len(left) > 0 {
				errs = append(errs, fmt.Errorf("processes %s were still running after the job; killed", strings.Join(left, " ")))
			}
		}
		if dir := w.dirs[hc.host.Name]; dir != "" {
			// Remove the job (its keys with it), then the parents it leaves empty.
			script := "rm -rf " + remote.Quote(dir) + " && (rmdir -p " + remote.Quote(path.Dir(dir)) + " 2>/dev/null; true)"
			if _, err := hc.c.Output(ctx, script); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
			}
		}
		return errors.Join(errs...)
	})
	for _, rp := range w.procs {
		select {
		case <-rp.p.Done():
		case <-ctx.Done():
		}
		rp.log.Close()
	}
	if err != nil {
		// A host that failed may have a broken connection: dial it afresh next job.
		for _, name := range w.pl.names {
			if _, perr := w.conns[name].c.Output(ctx, "true"); perr != nil {
				w.r.forget(name)
			}
		}
		return fmt.Errorf("clean up: %w", err)
	}
	return nil
}

// readRemote samples a process on a host from its /proc files.
func readRemote(ctx context.Context, hc *hostConn, pid int) (procstat.Sample, error) {
	p := strconv.Itoa(pid)
	out, err := hc.c.Output(ctx, "cat /proc/"+p+"/status && echo @@ && cat /proc/"+p+"/stat")
	if err != nil {
		return procstat.Sample{}, fmt.Errorf("procstat: %s pid %d: %w", hc.host.Name, pid, os.ErrNotExist)
	}
	status, stat, ok := bytes.Cut(out, []byte("\n@@\n"))
	if !ok {
		return procstat.Sample{}, fmt.Errorf("procstat: %s pid %d: unexpected output", hc.host.Name, pid)
	}
	s := procstat.Sample{Time: time.Now()}
	if s.RSS, s.HWM, err = procstat.ParseStatus(status); err != nil {
		return procstat.Sample{}, fmt.Errorf("procstat: %s /proc/%d/status: %w", hc.host.Name, pid, err)
	}
	if s.CPU, err = procstat.ParseStat(stat); err != nil {
		return procstat.Sample{}, fmt.Errorf("procstat: %s /proc/%d/stat: %w", hc.host.Name, pid, err)
	}
	return s, nil
}

// readyLog is a process's local log file (a logFile: what it could not
// take is kept in memory); what comes through stdout() is also watched
// for the "ready" line a replica prints once it listens.
type readyLog struct {
	path  string
	lf    *logFile
	mu    sync.Mutex
	line  []byte
	seen  bool
	ready chan struct{}
}

func newReadyLog(path string) (*readyLog, error) {
	lf, err := createLog(path)
	if err != nil {
		return nil, err
	}
	return &readyLog{path: path, lf: lf, ready: make(chan struct{})}, nil
}

func (l *readyLog) Write(b []byte) (int, error) { return l.lf.Write(b) }

// stdout returns the writer for the process's stdout.
func (l *readyLog) stdout() io.Writer { return readyScanner{l} }

type readyScanner struct{ l *readyLog }

func (s readyScanner) Write(b []byte) (int, error) {
	l := s.l
	l.mu.Lock()
	if !l.seen {
		l.line = append(l.line, b...)
		for {
			i := bytes.IndexByte(l.line, '\n')
			if i < 0 {
				break
			}
			if bytes.HasPrefix(l.line[:i], []byte("ready")) {
				l.seen = true
				close(l.ready)
				break
			}
			l.line = l.line[i+1:]
		}
		if l.seen {
			l.line = nil
		}
	}
	l.mu.Unlock()
	return l.lf.Write(b)
}

func (l *readyLog) Close() error { return l.lf.Close() }
