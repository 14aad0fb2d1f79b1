package cli_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/replbench/replbench/internal/cluster"
)

// The tests in this file run specs across the hosts of scripts/testbed.sh:
// network namespaces on a bridge, each with a real OpenSSH sshd. They need
// root and namespaces; where those are missing they skip, unless
// REPLBENCH_REQUIRE_TESTBED=1 (set by CI) makes that a failure.

const testbedHosts = 5 // 4 replica hosts and 1 client host

var testbed struct {
	sync.Mutex
	hostsFile string // "" until up
	broken    bool   // a test took a host down: bring it up afresh
}

// testbedUp brings the testbed up once for the package (again after a
// test broke it) and returns its hosts file.
func testbedUp(t *testing.T) string {
	t.Helper()
	testbed.Lock()
	defer testbed.Unlock()
	if testbed.hostsFile != "" && !testbed.broken {
		return testbed.hostsFile
	}
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "the testbed needs root (network namespaces, sshd)"
	default:
		if err := exec.Command("ip", "netns", "list").Run(); err != nil {
			why = "no network namespaces here (`ip netns list`: " + err.Error() + ")"
		}
	}
	if why != "" {
		if os.Getenv("REPLBENCH_REQUIRE_TESTBED") == "1" {
			t.Fatalf("REPLBENCH_REQUIRE_TESTBED=1 but %s", why)
		}
		t.Skip("skipping the multi-host tests: " + why)
	}
	out, err := exec.Command(testbedScript(t), "up", fmt.Sprint(testbedHosts)).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("scripts/testbed.sh up: %s", msg)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	testbed.hostsFile = lines[len(lines)-1]
	testbed.broken = false
	return testbed.hostsFile
}

func testbedScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../scripts/testbed.sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testbedDown is called by TestMain after the tests.
func testbedDown() {
	testbed.Lock()
	defer testbed.Unlock()
	if testbed.hostsFile != "" {
		p, _ := filepath.Abs("../../scripts/testbed.sh")
		_ = exec.Command(p, "down").Run()
		testbed.hostsFile = ""
	}
}

// nodesLeft lists replbench-node processes on any testbed host (the
// namespaces share this machine's process table): those started from a
// host's work directory under the testbed's state directory, so that a
// replbench-node being built or run elsewhere on the machine (another
// package's tests, running at the same time) is not taken for one.
func nodesLeft() []string {
	testbed.Lock()
	state := filepath.Dir(testbed.hostsFile)
	testbed.Unlock()
	out, _ := exec.Command("ps", "-eo", "pid=,stat=,args=").Output()
	var left []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		// A zombie has exited and holds nothing; reaping it is the job of
		// whichever init it was reparented to, on its own schedule.
		if len(f) < 3 || strings.HasPrefix(f[1], "Z") || !strings.Contains(l, "replbench-node-") || !strings.Contains(l, state+"/h") {
			continue
		}
		left = append(left, f[0]+" "+strings.Join(f[2:], " "))
	}
	return left
}

// assertTestbedClean checks that no replbench process runs on any host and
// that no job directory (with its private keys) is left behind.
func assertTestbedClean(t *testing.T, hostsFile string) {
	t.Helper()
	if left := nodesLeft(); len(left) > 0 {
		t.Errorf("processes left on the hosts: %v", left)
	}
	jobs, _ := filepath.Glob(filepath.Join(filepath.Dir(hostsFile), "h*", "work", "jobs", "*"))
	if len(jobs) > 0 {
		t.Errorf("job directories left on the hosts: %v", jobs)
	}
}

// testbedRun runs the CLI with the node binary built from source, as a
// user would (the test binary cannot run on the hosts: sshd does not pass
// on the environment that makes it act as replbench).
func testbedRun(t *testing.T, ctx context.Context, args ...string) (string, string, error) {
	t.Setenv("REPLBENCH_BINARY", "")
	return runCLI(ctx, args...)
}

func TestTestbedRun(t *testing.T) {
	hostsFile := testbedUp(t)
	spec := writeSpec(t, `
name: testbed
protocol: pbft
replicas: 4
crypto: {replicas: ed25519, clients: hmac}
batch: {size: 10}
warmup: 500ms
cooldown: 500ms
duration: 3s
load: {payload: 100B, outstanding: 4}
sweep:
  load.clients: [1, 4]
`)
	results := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, stderr, err := testbedRun(t, ctx, "run", spec, "--results", results, "--hosts", hostsFile)
	if err != nil {
		t.Fatalf("run on the testbed: %v\n%s", err, stderr)
	}
	rows := readSummary(t, results, "testbed")
	if len(rows) != 2 {
		t.Fatalf("summary.csv has %d rows, want 2", len(rows))
	}
	for _, r := range rows {
		if num(t, r, "throughput_ops") <= 0 || num(t, r, "p50_us") <= 0 || num(t, r, "errors") != 0 {
			t.Errorf("point %s: want throughput and latency without errors, got %v", r["label"], r)
		}
		for i := 0; i < 4; i++ {
			if num(t, r, fmt.Sprintf("rss_peak_mib_r%d", i)) <= 0 {
				t.Errorf("point %s: no RSS sampled for replica %d on its host", r["label"], i)
			}
		}
	}
	// Replica i ran on host i+1, and every job's files came back.
	jobs, _ := filepath.Glob(filepath.Join(results, "testbed", "*", "points", "*", "rep-1"))
	if len(jobs) != 2 {
		t.Fatalf("want 2 job directories, got %v", jobs)
	}
	for _, dir := range jobs {
		var cfg cluster.Config
		data, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
		if err != nil || json.Unmarshal(data, &cfg) != nil {
			t.Fatalf("cluster.json: %v", err)
		}
		for i, addr := range cfg.Replicas {
			if want := fmt.Sprintf("10.77.0.%d:", i+1); !strings.HasPrefix(addr, want) {
				t.Errorf("replica %d at %s, want host %s", i, addr, want)
			}
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)))
			if !strings.Contains(string(log), "ready "+addr) {
				t.Errorf("replica-%d.log lacks its ready line:\n%s", i, log)
			}
			if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("replica-%d.stats.json", i))); err != nil {
				t.Errorf("replica %d's counters not collected: %v", i, err)
			}
		}
		for _, f := range []string{"client.json", "latency.hlog", "client.log", "summary.json", "timeline.csv"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s missing: %v", f, err)
			}
		}
	}
	assertTestbedClean(t, hostsFile)
}

// TestTestbedSharedHosts runs 4 replicas on 3 replica hosts (the first
// host gets two) with clients spread over 2 client hosts, whose reports and
// histograms are merged into the point's.
func TestTestbedSharedHosts(t *testing.T) {
	hostsFile := testbedUp(t)
	dir := filepath.Dir(hostsFile)
	data, err := os.ReadFile(hostsFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"known_hosts: known_hosts", "known_hosts: "+filepath.Join(dir, "known_hosts"),
		"identity_file: id_ed25519", "identity_file: "+filepath.Join(dir, "id_ed25519"),
	).Replace(string(data))
	// h4 becomes a second client host.
	i := strings.Index(text, "address: 10.77.0.4")
	if i < 0 {
		t.Fatalf("no h4 in %s", hostsFile)
	}
	text = text[:i] + strings.Replace(text[i:], "role: replica", "role: client", 1)
	shared := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(shared, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := writeSpec(t, `
name: shared
protocol: pbft
replicas: 4
crypto: {replicas: ed25519, clients: hmac}
warmup: 500ms
cooldown: 500ms
duration: 3s
load: {clients: 5, outstanding: 2}
network: {links: [{between: [zone-a, zone-b], delay: 5ms}]}
`)
	results := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, stderr, err := testbedRun(t, ctx, "run", spec, "--results", results, "--hosts", shared); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	rows := readSummary(t, results, "shared")
	if len(rows) != 1 || num(t, rows[0], "throughput_ops") <= 0 || num(t, rows[0], "errors") != 0 {
		t.Fatalf("want one point with throughput and no errors, got %v", rows)
	}
	job, _ := filepath.Glob(filepath.Join(results, "shared", "*", "points", "*", "rep-1"))
	if len(job) != 1 {
		t.Fatalf("job directories: %v", job)
	}
	var cfg cluster.Config
	if data, err := os.ReadFile(filepath.Join(job[0], "cluster.json")); err != nil || json.Unmarshal(data, &cfg) != nil {
		t.Fatalf("cluster.json: %v", err)
	}
	if want := []string{"10.77.0.1:7400", "10.77.0.2:7401", "10.77.0.3:7402", "10.77.0.1:7403"}; !slices.Equal(cfg.Replicas, want) {
		t.Errorf("replicas at %v, want %v", cfg.Replicas, want)
	}
	// Links between zones follow the hosts file's labels: h1 and h3 are in
	// zone-a, h2 and h4 in zone-b, h5 in zone-a.
	if nw := cfg.Network; nw == nil || fmt.Sprint(nw.ReplicaLabels) != "[[zone-a] [zone-b] [zone-a] [zone-a]]" ||
		fmt.Sprint(nw.ClientLabels) != "[{0 3 [zone-b]} {3 2 [zone-a]}]" {
		t.Errorf("network labels %+v, want replicas by their hosts' zones and clients 0-2 in zone-b, 3-4 in zone-a", nw)
	}
	// The zone-b clients' requests and replies cross between zones (10 ms
	// and more), and they make about a third of the completions; the zone-a
	// clients find a quorum in their own zone.
	t.Logf("p50 %.1f ms, p90 %.1f ms", num(t, rows[0], "p50_us")/1000, num(t, rows[0], "p90_us")/1000)
	if p90 := num(t, rows[0], "p90_us"); p90 < 10000 {
		t.Errorf("p90 %.0f µs, want at least 10 ms with 5 ms between zones", p90)
	}
	// Clients 0-2 ran on h4, 3-4 on h5; their counts add up to the point's.
	var total uint64
	for host, want := range map[string]int{"h4": 3, "h5": 2} {
		var rep struct {
			Completed uint64            `json:"completed"`
			Clients   []json.RawMessage `json:"clients"`
		}
		data, err := os.ReadFile(filepath.Join(job[0], "client-"+host, "client.json"))
		if err != nil || json.Unmarshal(data, &rep) != nil {
			t.Fatalf("%s's report: %v", host, err)
		}
		if len(rep.Clients) != want {
			t.Errorf("%s ran %d clients, want %d", host, len(rep.Clients), want)
		}
		total += rep.Completed
	}
	var merged struct {
		Completed uint64 `json:"completed"`
	}
	if data, err := os.ReadFile(filepath.Join(job[0], "client.json")); err != nil || json.Unmarshal(data, &merged) != nil || merged.Completed != total || total == 0 {
		t.Errorf("merged report completed %d, want the hosts' sum %d (%v)", merged.Completed, total, err)
	}
	assertTestbedClean(t, hostsFile)
}

// TestTestbedHostKeys checks that a changed host key and an unknown host
// are refused before anything runs, naming the host.
func TestTestbedHostKeys(t *testing.T) {
	hostsFile := testbedUp(t)
	known, err := os.ReadFile(filepath.Join(filepath.Dir(hostsFile), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	// Replace h1's key (10.77.0.1) by another one.
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var forged []string
	for _, l := range strings.Split(strings.TrimSpace(string(known)), "\n") {
		if strings.HasPrefix(l, "10.77.0.1 ") {
			l = "10.77.0.1 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
		}
		forged = append(forged, l)
	}
	dir := t.TempDir()
	wrong := filepath.Join(dir, "known_hosts.wrong")
	empty := filepath.Join(dir, "known_hosts.empty")
	if err := os.WriteFile(wrong, []byte(strings.Join(forged, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := writeSpec(t, `
name: hostkeys
protocol: pbft
replicas: 4
`)
	for _, c := range []struct {
		name, known string
		extra       []string
		want        []string
	}{
		{"changed key", wrong, nil, []string{"h1", "10.77.0.1", "mismatch"}},
		{"changed key, accept-new does not help", wrong, []string{"--accept-new-host-keys"}, []string{"h1", "mismatch"}},
		{"unknown host", empty, nil, []string{"--accept-new-host-keys", "not in"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", spec, "--results", t.TempDir(), "--hosts", hostsFile, "--known-hosts", c.known}, c.extra...)
			_, _, err := testbedRun(t, context.Background(), args...)
			if err == nil {
				t.Fatal("run succeeded against a host whose key does not match")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
			assertTestbedClean(t, hostsFile)
		})
	}
	after, _ := os.ReadFile(wrong)
	if !strings.Contains(string(after), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))) {
		t.Error("--accept-new-host-keys replaced a changed key in known_hosts")
	}
}

// startLongRun starts a run whose first point is long on the testbed and
// returns once every replica is ready and the load generator has started.
func startLongRun(t *testing.T, ctx context.Context, hostsFile, specTail string, extra ...string) (results string, errc chan error) {
	t.Helper()
	spec := writeSpec(t, `
name: long
protocol: pbft
replicas: 4
crypto: {replicas: ed25519, clients: hmac}
duration: 60s
warmup: 0s
cooldown: 0s
`+specTail)
	results = t.TempDir()
	errc = make(chan error, 1)
	go func() {
		_, _, err := testbedRun(t, ctx, append([]string{"run", spec, "--results", results, "--hosts", hostsFile}, extra...)...)
		errc <- err
	}()
	wait, stop := context.WithTimeout(ctx, 90*time.Second)
	defer stop()
	started := waitFor(t, wait, func() bool {
		m, _ := filepath.Glob(filepath.Join(results, "long", "*", "points", "*", "rep-1", "client.log"))
		return len(m) == 1 && len(nodesLeft()) == 5
	})
	if !started {
		t.Fatalf("the run never got its replicas and load generator going; running: %v", nodesLeft())
	}
	return results, errc
}

// TestTestbedInterrupt cancels a run (as Ctrl-C does) while its point runs:
// every remote process is stopped and the job directories are removed.
func TestTestbedInterrupt(t *testing.T) {
	hostsFile := testbedUp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, errc := startLongRun(t, ctx, hostsFile, "")
	cancel()
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("want an interrupted error, got %v", err)
	}
	assertTestbedClean(t, hostsFile)
}

// TestTestbedHostDown takes a replica host down mid-run (its sshd and its
// replica killed): the point fails naming the host, the other hosts are
// cleaned up, and with --keep-going the next point runs and fails on the
// unreachable host, again by name.
func TestTestbedHostDown(t *testing.T) {
	hostsFile := testbedUp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	results, errc := startLongRun(t, ctx, hostsFile, "sweep: {load.clients: [1, 2]}\n", "--keep-going")
	testbed.Lock()
	testbed.broken = true
	testbed.Unlock()
	if out, err := exec.Command(testbedScript(t), "kill-sshd", "2").CombinedOutput(); err != nil {
		t.Fatalf("kill-sshd 2: %v\n%s", err, out)
	}
	err := <-errc
	if err == nil {
		t.Fatal("run succeeded although host h2 went down")
	}
	msg := err.Error()
	for _, want := range []string{
		"2 jobs failed",
		"point 1/2", "on host h2", // its replica's connection was lost
		"point 2/2", "h2 (10.77.0.2:22): dial: connection refused", // then h2 is unreachable
		"0 of 2 jobs finished",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q: %v", want, msg)
		}
	}
	for _, p := range []string{"p000", "p001"} {
		if m, _ := filepath.Glob(filepath.Join(results, "long", "*", "points", p+"*", "rep-1", "error.txt")); len(m) != 1 {
			t.Errorf("point %s: no error.txt recorded", p)
		}
	}
	if left := nodesLeft(); len(left) > 0 {
		t.Errorf("processes left on the hosts: %v", left)
	}
	// h2 is unreachable, so its job directory stays; the others are removed.
	for _, h := range []string{"h1", "h3", "h4", "h5"} {
		jobs, _ := filepath.Glob(filepath.Join(filepath.Dir(hostsFile), h, "work", "jobs", "*"))
		if len(jobs) > 0 {
			t.Errorf("%s: job directory left: %v", h, jobs)
		}
	}
}
