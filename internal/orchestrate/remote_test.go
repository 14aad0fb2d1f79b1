package orchestrate

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/replbench/replbench/internal/hosts"
	"github.com/replbench/replbench/keys"
)

func testHosts(replicas, clients int) *hosts.File {
	f := &hosts.File{Path: "hosts.yaml"}
	for i := 0; i < replicas; i++ {
		f.Hosts = append(f.Hosts, hosts.Host{Name: "r" + string(rune('1'+i)), Role: hosts.RoleReplica})
	}
	for i := 0; i < clients; i++ {
		f.Hosts = append(f.Hosts, hosts.Host{Name: "c" + string(rune('1'+i)), Role: hosts.RoleClient})
	}
	return f
}

func TestPlace(t *testing.T) {
	for _, c := range []struct {
		name                 string
		replicaHosts, cHosts int
		n, clients           int
		wantReplicas         []string
		wantClients          []string
		wantFirst, wantCount []int
	}{
		{"one per host", 4, 1, 4, 10, []string{"r1", "r2", "r3", "r4"}, []string{"c1"}, []int{0}, []int{10}},
		{"round-robin", 2, 1, 4, 1, []string{"r1", "r2", "r1", "r2"}, []string{"c1"}, []int{0}, []int{1}},
		{"clients spread", 4, 3, 4, 10, []string{"r1", "r2", "r3", "r4"}, []string{"c1", "c2", "c3"}, []int{0, 4, 7}, []int{4, 3, 3}},
		{"fewer clients than hosts", 4, 3, 4, 2, []string{"r1", "r2", "r3", "r4"}, []string{"c1", "c2"}, []int{0, 1}, []int{1, 1}},
		{"more hosts than replicas", 7, 1, 4, 1, []string{"r1", "r2", "r3", "r4"}, []string{"c1"}, []int{0}, []int{1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := place(testHosts(c.replicaHosts, c.cHosts), c.n, c.clients)
			if err != nil {
				t.Fatal(err)
			}
			var reps, cls []string
			for _, h := range p.replicaHost {
				reps = append(reps, h.Name)
			}
			for _, h := range p.clientHosts {
				cls = append(cls, h.Name)
			}
			if !slices.Equal(reps, c.wantReplicas) || !slices.Equal(cls, c.wantClients) ||
				!slices.Equal(p.clientFirst, c.wantFirst) || !slices.Equal(p.clientCount, c.wantCount) {
				t.Errorf("got replicas %v clients %v first %v count %v", reps, cls, p.clientFirst, p.clientCount)
			}
			if len(p.hosts()) != len(p.names) {
				t.Errorf("hosts() has %d hosts for %d names", len(p.hosts()), len(p.names))
			}
		})
	}
	p, err := place(testHosts(2, 1), 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{p.processes("r1"), p.processes("r2"), p.processes("c1")}; !slices.Equal(got, []int{2, 2, 1}) {
		t.Errorf("processes per host %v, want [2 2 1]", got)
	}
	if _, err := place(testHosts(4, 0), 4, 1); err == nil || !strings.Contains(err.Error(), "client host") {
		t.Errorf("want an error for a hosts file without client hosts, got %v", err)
	}
}

func TestPlatform(t *testing.T) {
	for in, want := range map[string]string{
		"Linux x86_64\n": "linux/amd64", "Linux aarch64": "linux/arm64", "Darwin arm64": "darwin/arm64",
		"Linux mips": "", "SunOS i86pc": "", "": "", "Linux": "",
	} {
		goos, goarch, err := platform(in)
		if got := goos + "/" + goarch; (want == "") != (err != nil) || (err == nil && got != want) {
			t.Errorf("platform(%q) = %s, %v; want %q", in, got, err, want)
		}
	}
}

// TestKeyFiles checks that a host gets only its own principals' private
// keys, with mode 0600, and every public key.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	if err := keys.Generate(keys.Ed25519, dir, 4, 2, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	files, err := keyFiles(dir, []keys.Principal{keys.Replica(2)})
	if err != nil {
		t.Fatal(err)
	}
	var private, public []string
	for _, f := range files {
		name := filepath.Base(f.path)
		switch {
		case strings.HasSuffix(name, ".key") && f.mode == 0o600:
			private = append(private, name)
		case strings.HasSuffix(name, ".pub") && f.mode == 0o644:
			public = append(public, name)
		default:
			t.Errorf("%s with mode %o", name, f.mode)
		}
	}
	if !slices.Equal(private, []string{"replica-2.key"}) || len(public) != 6 {
		t.Errorf("private %v, public %v; want replica-2.key and 6 public keys", private, public)
	}
}

// TestReadyLog checks that the ready line is found however the output is
// split, and only on stdout.
func TestReadyLog(t *testing.T) {
	l, err := newReadyLog(filepath.Join(t.TempDir(), "replica.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write([]byte("ready on stderr does not count\n"))
	out := l.stdout()
	for _, part := range []string{"starting\nre", "ady 10.77.0.1:7", "400\nmore\n"} {
		select {
		case <-l.ready:
			t.Fatalf("ready before %q was written", part)
		default:
		}
		out.Write([]byte(part))
	}
	select {
	case <-l.ready:
	default:
		t.Fatal("ready line not seen")
	}
	data, _ := os.ReadFile(l.path)
	if !strings.Contains(string(data), "ready 10.77.0.1:7400\nmore\n") {
		t.Errorf("log lost output: %q", data)
	}
}

func TestFairShare(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	for _, c := range []struct{ cores, procs, want int }{{2, 5, 1}, {16, 5, 3}, {16, 1, 16}, {1, 1, 1}, {4, 0, 4}} {
		if got := fairShare(c.cores, c.procs); !slices.Equal(got, []string{"GOMAXPROCS=" + strconv.Itoa(c.want)}) {
			t.Errorf("fairShare(%d, %d) = %v, want GOMAXPROCS=%d", c.cores, c.procs, got, c.want)
		}
	}
	t.Setenv("GOMAXPROCS", "7")
	if got := fairShare(16, 5); got != nil {
		t.Errorf("with GOMAXPROCS set by the user fairShare = %v, want nothing", got)
	}
}
