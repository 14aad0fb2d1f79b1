package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/keys"
)

// parseErr parses src as spec.yaml and returns the error text ("" if none).
func parseErr(src string) string {
	_, err := Parse("spec.yaml", []byte(src))
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		// Keys.
		{"unknown key", "protocl: pbft\n",
			`spec.yaml:1: unknown key "protocl" (did you mean "protocol"?)`},
		{"swapped letters", "protcol: pbft\n",
			`spec.yaml:1: unknown key "protcol" (did you mean "protocol"?)`},
		{"unknown nested key", "load:\n  clientz: 4\n",
			`spec.yaml:2: load: unknown key "clientz" (did you mean "clients"?)`},
		{"key moved elsewhere", "load:\n  reply: 10B\n",
			`spec.yaml:2: load: unknown key "reply" (did you mean app.reply?)`},
		{"unknown key far from all", "colour: red\n",
			`spec.yaml:1: unknown key "colour" (known: app, batch, checkpoint_interval, cooldown, crypto, description, duration, figures, hosts, load, name, network, protocol, repeat, replicas, seed, sweep, view_change_timeout, warmup, zip)`},
		{"key twice", "seed: 1\nseed: 2\n",
			`spec.yaml:2: seed: set twice (first at line 1)`},
		{"alias", "warmup: &w 1s\ncooldown: *w\n",
			`spec.yaml:2: cooldown: aliases (*w) are not supported; write the value out`},
		{"not a mapping", "- a\n- b\n",
			`spec.yaml:1: a spec is a mapping of keys, got a list`},
		{"two documents", "seed: 1\n---\nseed: 2\n",
			`spec.yaml:2: a spec is one YAML document; remove the second one (after ---)`},
		{"syntax", "load: {clients: 1\n",
			`spec.yaml:1: did not find expected ',' or '}'`},

		// Values and types.
		{"count below minimum", "protocol: unreplicated\nload:\n  mode: closed\n  clients: -2\n",
			`spec.yaml:4: load.clients: must be >= 1, got -2`},
		{"bad size", "load:\n  payload: 100Q\n",
			`spec.yaml:2: load.payload: bad size "100Q" (use e.g. 100B, 4KiB, 1MiB)`},
		{"negative size", "app: {reply: -1}\n",
			`spec.yaml:1: app.reply: must be >= 0B, got -1`},
		{"size over frame limit", "load: {payload: 16MiB}\n",
			`spec.yaml:1: load.payload: must be < 16MiB (the wire frame limit), got 16MiB`},
		{"duration list", "duration: [1s]\n",
			`spec.yaml:1: duration: wrong type: want a duration like 10s, got a list`},
		{"duration bare int", "duration: 10\n",
			`spec.yaml:1: duration: bare number 10 has no unit (write e.g. 10s or 10ms)`},
		{"duration bad unit", "warmup: 10x\n",
			`spec.yaml:1: warmup: bad duration "10x" (use e.g. 500ms, 10s, 1m30s)`},
		{"duration negative", "warmup: -1s\n",
			`spec.yaml:1: warmup: must be >= 0s, got -1s`},
		{"duration zero", "view_change_timeout: 0s\n",
			`spec.yaml:1: view_change_timeout: must be > 0s, got 0s`},
		{"int as string", "replicas: four\n",
			`spec.yaml:1: replicas: wrong type: want an integer, got a string "four"`},
		{"int as float", "batch: {size: 2.5}\n",
			`spec.yaml:1: batch.size: wrong type: want an integer, got a number 2.5`},
		{"empty int", "repeat:\n",
			`spec.yaml:1: repeat: wrong type: want an integer, got an empty value`},
		{"negative seed", "seed: -1\n",
			`spec.yaml:1: seed: wrong type: want a non-negative integer, got an integer -1`},
		{"group as list", "load: [1]\n",
			`spec.yaml:1: load: wrong type: want a mapping of load keys, got a list`},
		{"unknown protocol", "protocol: raft\n",
			`spec.yaml:1: protocol: unknown value "raft" (want one of unreplicated, pbft, hotstuff)`},
		{"scheme typo", "crypto: {replicas: ed2519}\n",
			`spec.yaml:1: crypto.replicas: unknown value "ed2519" (did you mean ed25519? want one of rsa, ecdsa, ed25519, hmac, none)`},
		{"rsa bits", "crypto: {rsa_bits: 512}\n",
			`spec.yaml:1: crypto.rsa_bits: must be >= 1024, got 512`},
		{"loss is a fraction", "network: {loss: 1}\n",
			`spec.yaml:1: network.loss: must be < 1 (a fraction of messages), got 1`},
		{"rate infinite", "load: {mode: open, rate: .inf}\n",
			`spec.yaml:1: load.rate: must be a finite number, got .inf`},
		{"read ratio above 1", "load: {read_ratio: 1.5}\n",
			`spec.yaml:1: load.read_ratio: must be <= 1 (a fraction of requests), got 1.5`},
		{"read ratio negative", "load: {read_ratio: -0.1}\n",
			`spec.yaml:1: load.read_ratio: must be >= 0, got -0.1`},
		{"no keys", "load: {keys: 0}\n",
			`spec.yaml:1: load.keys: must be >= 1, got 0`},
		{"theta 1", "load: {theta: 1}\n",
			`spec.yaml:1: load.theta: must be < 1 (the zipfian generator needs theta < 1), got 1`},
		{"theta 0", "load: {theta: 0}\n",
			`spec.yaml:1: load.theta: must be > 0, got 0`},
		{"unknown distribution", "load: {distribution: zipfain}\n",
			`spec.yaml:1: load.distribution: unknown value "zipfain" (did you mean zipfian? want one of uniform, zipfian)`},
		{"unknown workload", "load: {workload: ycbs}\n",
			`spec.yaml:1: load.workload: unknown value "ycbs" (did you mean ycsb? want one of fixed, ycsb)`},
		{"bad name", "name: a/b\n",
			`spec.yaml:1: name: "a/b" cannot name the results directory (use letters, digits, '.', '_', '-')`},

		// Combinations, checked per point.
		{"pbft n", "protocol: pbft\nreplicas: 5\n",
			`spec.yaml:2: replicas: pbft needs n = 3f+1 replicas (4, 7, 10, ...), got 5`},
		{"hotstuff n", "protocol: hotstuff\nreplicas: 3\n",
			`spec.yaml:2: replicas: hotstuff needs n = 3f+1 replicas (4, 7, 10, ...), got 3`},
		{"unreplicated n", "replicas: 4\n",
			`spec.yaml:1: replicas: unreplicated needs 1 replica, got 4`},
		{"open without rate", "load:\n  mode: open\n",
			`spec.yaml:2: load.rate: the open loop needs a rate > 0 (requests/s over all clients)`},
		{"closed with rate", "load:\n  rate: 1000\n",
			`spec.yaml:2: load.rate: only the open loop uses a rate (set load.mode: open), got 1000`},
		{"ycsb without kv", "app: echo\nload:\n  workload: ycsb\n",
			`spec.yaml:3: load.workload: ycsb sends key-value operations and needs app: kv, got app: echo`},
		{"ycsb on the default app", "load: {workload: ycsb}\n",
			`spec.yaml:1: load.workload: ycsb sends key-value operations and needs app: kv, got app: null`},
		{"swept app breaks ycsb", "load: {workload: ycsb}\nsweep:\n  app:\n    - kv\n    - echo\n",
			`spec.yaml:5: load.workload: ycsb sends key-value operations and needs app: kv, got app: echo (at point app=echo)`},
		{"swept workload breaks a point", "sweep:\n  load.workload: [fixed, ycsb]\n",
			`spec.yaml:2: load.workload: ycsb sends key-value operations and needs app: kv, got app: null (at point load.workload=ycsb)`},
		{"nothing measured", "duration: 3s\nwarmup: 2s\n",
			`spec.yaml:1: duration: must be longer than warmup + cooldown (2s + 1s), got 3s`},
		{"swept value breaks a point", "protocol: pbft\nsweep:\n  replicas: [4, 5, 7]\n",
			`spec.yaml:3: replicas: pbft needs n = 3f+1 replicas (4, 7, 10, ...), got 5 (at point replicas=5)`},
		{"swept protocol breaks a point", "replicas: 4\nsweep:\n  protocol:\n    - pbft\n    - unreplicated\n",
			`spec.yaml:5: replicas: unreplicated needs 1 replica, got 4 (at point protocol=unreplicated)`},
		{"swept warmup breaks a point", "duration: 5s\nsweep:\n  warmup: [1s, 4s]\n",
			`spec.yaml:3: duration: must be longer than warmup + cooldown (4s + 1s), got 5s (at point warmup=4s)`},

		// Sweeps.
		{"sweep unknown path", "seed: 1\nsweep:\n  load.clientz: [1, 2]\n",
			`spec.yaml:3: sweep: load.clientz: unknown key path (did you mean load.clients?)`},
		{"sweep far path", "sweep:\n  colour: [1]\n",
			`spec.yaml:2: sweep: colour: unknown key path`},
		{"sweep group", "sweep:\n  load: [1]\n",
			`spec.yaml:2: sweep: load: not a single key; sweep one of load.mode, load.clients, load.outstanding, load.payload, load.rate, load.timeout, load.workload, load.read_ratio, load.keys, load.distribution, load.theta`},
		{"sweep name", "sweep:\n  name: [a, b]\n",
			`spec.yaml:2: sweep: name: cannot be swept: it names the results directory`},
		{"sweep not a mapping", "sweep: [load.clients]\n",
			`spec.yaml:1: sweep: wrong type: want a mapping of key path to list of values, got a list`},
		{"sweep values not a list", "sweep:\n  load.clients: 4\n",
			`spec.yaml:2: sweep: load.clients: want a list of values, got an integer 4 (write [x] for one value)`},
		{"sweep empty list", "sweep:\n  load.clients: []\n",
			`spec.yaml:2: sweep: load.clients: empty list of values`},
		{"sweep bad value", "sweep:\n  load.payload:\n    - 1KiB\n    - 100Q\n",
			`spec.yaml:4: sweep: load.payload: bad size "100Q" (use e.g. 100B, 4KiB, 1MiB)`},
		{"sweep repeated value", "sweep:\n  load.payload: [1024, 1KiB]\n",
			`spec.yaml:2: sweep: load.payload=1KiB listed twice (first at line 2)`},
		{"zip repeated step", "zip:\n  - batch.size: [1, 2, 1]\n    batch.timeout: [0ms, 0ms, 0s]\n",
			`spec.yaml:2: zip: batch.size=1,batch.timeout=0s listed twice (first at line 2)`},
		{"swept twice", "sweep:\n  batch.size: [1, 2]\nzip:\n  - {batch.size: [1, 2], batch.timeout: [1ms, 2ms]}\n",
			`spec.yaml:4: zip: batch.size: already swept at line 2`},
		{"app and app.name", "sweep:\n  app: [echo, kv]\n  app.name: [echo, kv]\n",
			`spec.yaml:3: sweep: app.name: already swept at line 2`},
		{"zip unequal", "zip:\n  - batch.size: [1, 10]\n    batch.timeout: [0ms, 5ms, 9ms]\n",
			`spec.yaml:3: zip: batch.timeout has 3 values but batch.size has 2; lists in a group advance together, so they need equal lengths`},
		{"zip not a list", "zip: {batch.size: [1]}\n",
			`spec.yaml:1: zip: wrong type: want a list of groups like {batch.size: [1, 10], batch.timeout: [0ms, 5ms]}, got a mapping`},
		{"zip group not a mapping", "zip:\n  - [1, 2]\n",
			`spec.yaml:2: zip: wrong type: want a group like {batch.size: [1, 10], batch.timeout: [0ms, 5ms]}, got a list`},
		{"sweep too large", "sweep:\n  seed: [" + seq(1000) + "]\n  load.clients: [" + seq(101) + "]\n",
			`spec.yaml:2: the sweep has more than 100000 points; split it into several specs`},

		// Figures.
		{"figure without y", "figures:\n  - {x: load.clients}\n",
			`spec.yaml:2: figures[0]: needs both x and y`},
		{"figure unknown key", "figures:\n  - {x: a, y: b, colour: c}\n",
			`spec.yaml:2: figures[0]: unknown key "colour" (want x, y, series)`},
		{"figure not a string", "figures:\n  - {x: a, y: [b]}\n",
			`spec.yaml:2: figures[0].y: wrong type: want a string, got a list`},
		{"figures not a list", "figures: {x: a}\n",
			`spec.yaml:1: figures: wrong type: want a list like [{x: load.clients, y: throughput}], got a mapping`},

		// Several problems: all reported, in line order.
		{"several", "load:\n  clients: 0\nprotocl: pbft\nduration: 5\n",
			"spec.yaml:2: load.clients: must be >= 1, got 0\n" +
				`spec.yaml:3: unknown key "protocl" (did you mean "protocol"?)` + "\n" +
				"spec.yaml:4: duration: bare number 5 has no unit (write e.g. 5s or 5ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(tt.src); got != tt.want {
				t.Errorf("Parse:\n%s\ngot error:\n%s\nwant:\n%s", tt.src, got, tt.want)
			}
		})
	}
}

func seq(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strconv.Itoa(i + 1)
	}
	return strings.Join(parts, ", ")
}

func TestErrorValues(t *testing.T) {
	_, err := Parse("dir/spec.yaml", []byte("load:\n  clients: 0\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) failed", err)
	}
	if e.File != "dir/spec.yaml" || e.Line != 2 || e.Path != "load.clients" {
		t.Errorf("got %+v", e)
	}
}

func TestFileNameAsName(t *testing.T) {
	s, err := Parse("specs/big-run.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "big-run" {
		t.Errorf("name = %q, want big-run", s.Name)
	}
	if got := parseErr2("my spec.yaml", ""); got != `my spec.yaml: name: the file name "my spec" is no valid spec name (letters, digits, '.', '_', '-'); set name` {
		t.Errorf("got %q", got)
	}
	if got := parseErr2("my spec.yaml", "name: ok\n"); got != "" {
		t.Errorf("explicit name: got %q", got)
	}
}

func parseErr2(file, src string) string {
	_, err := Parse(file, []byte(src))
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestDefaults(t *testing.T) {
	s, err := Parse("defaults.yaml", []byte("# nothing set\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Name:               "defaults",
		Protocol:           Unreplicated,
		Replicas:           1,
		App:                App{Name: AppNull, Reply: 0},
		Crypto:             Crypto{Replicas: keys.Ed25519, Clients: keys.HMAC, RSABits: 2048},
		Batch:              Batch{Size: 10, Timeout: time.Millisecond},
		CheckpointInterval: 1000,
		ViewChangeTimeout:  time.Second,
		Duration:           10 * time.Second,
		Warmup:             2 * time.Second,
		Cooldown:           time.Second,
		Repeat:             1,
		Seed:               1,
		Load: Workload{Mode: Closed, Clients: 1, Outstanding: 1, Payload: 100, Timeout: time.Second,
			Kind: WorkloadFixed, ReadRatio: 0.5, Keys: 1000, Distribution: Zipfian, Theta: 0.99},
	}
	got := *s
	got.file, got.doc = "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if s.Measured() != 7*time.Second || s.F() != 0 {
		t.Errorf("Measured = %v, F = %d; want 7s, 0", s.Measured(), s.F())
	}
}

func TestReplicasDefaultByProtocol(t *testing.T) {
	tests := []struct {
		src      string
		replicas int
		f        int
	}{
		{"protocol: unreplicated", 1, 0},
		{"protocol: pbft", 4, 1},
		{"protocol: hotstuff", 4, 1},
		{"protocol: pbft\nreplicas: 7", 7, 2},
	}
	for _, tt := range tests {
		s, err := Parse("s.yaml", []byte(tt.src))
		if err != nil {
			t.Fatalf("%q: %v", tt.src, err)
		}
		if s.Replicas != tt.replicas || s.F() != tt.f {
			t.Errorf("%q: replicas %d f %d, want %d %d", tt.src, s.Replicas, s.F(), tt.replicas, tt.f)
		}
	}
}

func TestValues(t *testing.T) {
	// Every form a value may take, read through a whole spec.
	src := `
name: all-keys
description: 2024
protocol: "pbft"
replicas: 7
crypto: {replicas: rsa, clients: ecdsa, rsa_bits: 3072}
batch: {size: 100, timeout: 500us}
checkpoint_interval: 128
view_change_timeout: 1m30s
duration: 1h
warmup: 1.5s
cooldown: 0s
repeat: 3
seed: 18446744073709551615
app: kv
load: {mode: open, clients: 64, outstanding: 8, payload: 4 KiB, rate: 2.5e4, timeout: 250ms,
  workload: ycsb, read_ratio: 1, keys: 100000, distribution: uniform, theta: 0.5}
network: {delay: 10ms, jitter: 1ms, loss: 0.01}
hosts: hosts/lab.yaml
`
	s, err := Parse("all.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Name: "all-keys", Description: "2024", Protocol: PBFT, Replicas: 7,
		App:                App{Name: AppKV},
		Crypto:             Crypto{Replicas: keys.RSA, Clients: keys.ECDSA, RSABits: 3072},
		Batch:              Batch{Size: 100, Timeout: 500 * time.Microsecond},
		CheckpointInterval: 128, ViewChangeTimeout: 90 * time.Second,
		Duration: time.Hour, Warmup: 1500 * time.Millisecond, Cooldown: 0,
		Repeat: 3, Seed: 1<<64 - 1,
		Load: Workload{Mode: Open, Clients: 64, Outstanding: 8, Payload: 4096, Rate: 25000, Timeout: 250 * time.Millisecond,
			Kind: WorkloadYCSB, ReadRatio: 1, Keys: 100000, Distribution: Uniform, Theta: 0.5},
		Network: Network{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.01},
		Hosts:   "hosts/lab.yaml",
	}
	got := *s
	got.file, got.doc = "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		str  string
	}{
		{"0", 0, "0B"},
		{"100B", 100, "100B"},
		{"1500", 1500, "1500B"},
		{"2KB", 2000, "2KB"},
		{"2kB", 2000, "2KB"},
		{"4KiB", 4096, "4KiB"},
		{"4 KiB", 4096, "4KiB"},
		{"1MiB", 1 << 20, "1MiB"},
		{"3MB", 3e6, "3MB"},
		{"2GiB", 2 << 30, "2GiB"},
		{"1025B", 1025, "1025B"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.str {
			t.Errorf("Size(%d).String() = %q, want %q", got, got.String(), tt.str)
		}
		if back, err := ParseSize(got.String()); err != nil || back != got {
			t.Errorf("ParseSize(%q) = %d, %v; want %d back", got.String(), back, err, got)
		}
	}
	for _, bad := range []string{"", "100Q", "KiB", "-1B", "1.5KiB", "4 K iB", "99999999999GiB", "99999999999999999999"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded, want an error", bad)
		}
	}
}

func TestSchemaMatchesStruct(t *testing.T) {
	// Every configuration field of Spec has a key, so none is silently
	// left at zero by Parse.
	covered := map[string]bool{}
	for _, f := range fields {
		covered[f.path] = true
	}
	for p := range structured {
		covered[p] = true
	}
	var walk func(t reflect.Type, prefix string)
	var missing []string
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			sf := typ.Field(i)
			tag := strings.Split(sf.Tag.Get("yaml"), ",")[0]
			if !sf.IsExported() || tag == "-" {
				continue
			}
			path := join(prefix, tag)
			if _, isGroup := groups[path]; isGroup {
				walk(sf.Type, path)
				continue
			}
			if !covered[path] {
				missing = append(missing, path)
			}
		}
	}
	walk(reflect.TypeOf(Spec{}), "")
	if len(missing) > 0 {
		t.Errorf("Spec fields without a schema key: %v", missing)
	}
}

func TestNetworkErrors(t *testing.T) {
	link := func(body string) string { return "network:\n  links:\n    - " + body + "\n" }
	tests := []struct {
		name, src, want string
	}{
		{"unknown network key", "network: {dely: 1ms}\n",
			`spec.yaml:1: network: unknown key "dely" (did you mean "delay"?)`},
		{"unknown network key far from all", "network: {mtu: 1500}\n",
			`spec.yaml:1: network: unknown key "mtu" (known: delay, jitter, loss, bandwidth, labels, links)`},
		{"links at the top level", "links: []\n",
			`spec.yaml:1: unknown key "links" (did you mean network.links?)`},
		{"negative delay", "network: {delay: -1ms}\n",
			`spec.yaml:1: network.delay: must be >= 0s, got -1ms`},
		{"delay without unit", "network: {delay: 20}\n",
			`spec.yaml:1: network.delay: bare number 20 has no unit (write e.g. 20s or 20ms)`},
		{"bad bandwidth unit", "network: {bandwidth: 100MB}\n",
			`spec.yaml:1: network.bandwidth: bad bandwidth "100MB" (use e.g. 100Mbit, 1Gbit, 500kbit)`},
		{"bandwidth without unit", "network: {bandwidth: 100}\n",
			`spec.yaml:1: network.bandwidth: bare number 100 has no unit (write e.g. 100Mbit or 100kbit)`},
		{"negative bandwidth", "network: {bandwidth: -5Mbit}\n",
			`spec.yaml:1: network.bandwidth: must be >= 0, got -5Mbit`},
		{"bandwidth list", "network: {bandwidth: [1Gbit]}\n",
			`spec.yaml:1: network.bandwidth: wrong type: want a bandwidth like 100Mbit, got a list`},
		{"links not a list", "network: {links: {between: [eu, us]}}\n",
			`spec.yaml:1: network.links: wrong type: want a list of links like [{between: [eu, us], delay: 40ms}], got a mapping`},
		{"link not a mapping", "network: {links: [eu]}\n",
			`spec.yaml:1: network.links[0]: wrong type: want a link like {between: [eu, us], delay: 40ms}, got a string "eu"`},
		{"link unknown key", link("{between: [eu, us], dealy: 40ms}"),
			`spec.yaml:3: network.links[0]: unknown key "dealy" (did you mean "delay"?)`},
		{"link key twice", link("{between: [eu, us], delay: 1ms, delay: 2ms}"),
			`spec.yaml:3: network.links[0].delay: set twice (first at line 3)`},
		{"link negative delay", link("{between: [eu, us], delay: -5ms}"),
			`spec.yaml:3: network.links[0].delay: must be >= 0s, got -5ms`},
		{"link loss 1", link("{between: [eu, us], loss: 1}"),
			`spec.yaml:3: network.links[0].loss: must be < 1 (a fraction of messages), got 1`},
		{"link bad bandwidth", link("{between: [eu, us], bandwidth: 1Gbps}"),
			`spec.yaml:3: network.links[0].bandwidth: bad bandwidth "1Gbps" (use e.g. 100Mbit, 1Gbit, 500kbit)`},
		{"link without between", link("{delay: 1ms}"),
			`spec.yaml:3: network.links[0]: needs between: [label, label], the two labels it links`},
		{"between one label", link("{between: [eu], delay: 1ms}"),
			`spec.yaml:3: network.links[0].between: want two labels like [eu, us], got a list of 1`},
		{"between three labels", link("{between: [eu, us, ap]}"),
			`spec.yaml:3: network.links[0].between: want two labels like [eu, us], got a list of 3`},
		{"between a string", link("{between: eu-us}"),
			`spec.yaml:3: network.links[0].between: wrong type: want two labels like [eu, us], got a string "eu-us"`},
		{"between a number", link("{between: [eu, 1]}"),
			`spec.yaml:3: network.links[0].between: a label is a non-empty string, got an integer 1`},
		{"second link bad", "network:\n  links:\n    - {between: [eu, us]}\n    - {between: [us, us], jitter: 1}\n",
			`spec.yaml:4: network.links[1].jitter: bare number 1 has no unit (write e.g. 1s or 1ms)`},
		{"labels not a mapping", "network: {labels: [eu, us]}\n",
			`spec.yaml:1: network.labels: wrong type: want a mapping like {replicas: [eu, eu, us, us], clients: [eu]}, got a list`},
		{"labels unknown key", "network:\n  labels: {replica: [eu]}\n",
			`spec.yaml:2: network.labels: unknown key "replica" (did you mean "replicas"?)`},
		{"labels not a list", "network:\n  labels: {clients: eu}\n",
			`spec.yaml:2: network.labels.clients: wrong type: want a list of labels like [eu, us], got a string "eu"`},
		{"empty label", "network:\n  labels: {clients: [\"\"]}\n",
			`spec.yaml:2: network.labels.clients: a label is a non-empty string, got a string ""`},
		{"one label per replica", "protocol: pbft\nnetwork:\n  labels:\n    replicas: [eu, eu, us]\n",
			`spec.yaml:4: network.labels.replicas: has 3 labels for 4 replicas; give one per replica`},
		{"swept replicas break the labels", "protocol: pbft\nnetwork: {labels: {replicas: [eu, eu, us, us]}}\nsweep:\n  replicas: [4, 7]\n",
			`spec.yaml:4: network.labels.replicas: has 4 labels for 7 replicas; give one per replica (at point replicas=7)`},
		{"sweep links", "sweep:\n  network.links: [[]]\n",
			`spec.yaml:2: sweep: network.links: cannot be swept: it is not a single value`},
		{"sweep network", "sweep:\n  network: [1ms]\n",
			`spec.yaml:2: sweep: network: not a single key; sweep one of network.delay, network.jitter, network.loss, network.bandwidth`},
		{"sweep bad bandwidth", "sweep:\n  network.bandwidth: [1Gbit, 10Gb]\n",
			`spec.yaml:2: sweep: network.bandwidth: bad bandwidth "10Gb" (use e.g. 100Mbit, 1Gbit, 500kbit)`},
		{"sweep same bandwidth twice", "sweep:\n  network.bandwidth: [1Gbit, 1000Mbit]\n",
			`spec.yaml:2: sweep: network.bandwidth=1000Mbit listed twice (first at line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(tt.src); got != tt.want {
				t.Errorf("Parse:\n%s\ngot error:\n%s\nwant:\n%s", tt.src, got, tt.want)
			}
		})
	}
}

// networkSpec is the network section as the spec reference shows it, with a
// link naming a label no process carries (allowed: a hosts file may).
const networkSpec = `
protocol: pbft
network:
  delay: 20ms
  jitter: 2ms
  loss: 0.001
  bandwidth: 100Mbit
  links:
    - between: [eu, us]
      delay: 40ms
    - {between: [eu, eu], delay: 1ms, jitter: 0s, loss: 0, bandwidth: 1Gbit}
    - {between: [eu, ap]}
  labels:
    replicas: [eu, eu, us, us]
    clients: [eu]
sweep:
  network.delay: [0ms, 20ms]
`

func TestNetworkSpec(t *testing.T) {
	s, err := Parse("net.yaml", []byte(networkSpec))
	if err != nil {
		t.Fatal(err)
	}
	ptr := func(d time.Duration) *time.Duration { return &d }
	zero, gbit := 0.0, Bandwidth(1e9)
	want := Network{
		Delay: 20 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.001, Bandwidth: 100e6,
		Links: []Link{
			{Between: [2]string{"eu", "us"}, Delay: ptr(40 * time.Millisecond)},
			{Between: [2]string{"eu", "eu"}, Delay: ptr(time.Millisecond), Jitter: ptr(0), Loss: &zero, Bandwidth: &gbit},
			{Between: [2]string{"eu", "ap"}},
		},
		Labels: NetworkLabels{Replicas: []string{"eu", "eu", "us", "us"}, Clients: []string{"eu"}},
	}
	if !reflect.DeepEqual(s.Network, want) {
		t.Errorf("network:\n got %+v\nwant %+v", s.Network, want)
	}
	points, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 || points[0].Config.Network.Delay != 0 || points[1].Config.Network.Delay != 20*time.Millisecond {
		t.Fatalf("points: %+v", points)
	}
	// The sweep moves the global delay; links keep what they set.
	if !reflect.DeepEqual(points[0].Config.Network.Links, want.Links) || !reflect.DeepEqual(points[0].Config.Network.Labels, want.Labels) {
		t.Errorf("point 0 network: %+v", points[0].Config.Network)
	}

	// expanded.yaml and yaml.Marshal both write links and labels back.
	out, err := s.Expanded()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseExpanded("expanded.yaml", out)
	if err != nil {
		t.Fatalf("ParseExpanded: %v\n%s", err, out)
	}
	for i := range points {
		if !sameConfig(back[i].Config, points[i].Config) {
			t.Errorf("point %d read back from expanded.yaml as\n%+v\nwant\n%+v", i, back[i].Config.Network, points[i].Config.Network)
		}
	}
	marshalled, err := yaml.Marshal(points[1].Config)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("again.yaml", marshalled)
	if err != nil {
		t.Fatalf("%v\n%s", err, marshalled)
	}
	if !reflect.DeepEqual(again.Network, points[1].Config.Network) {
		t.Errorf("yaml.Marshal round trip:\n got %+v\nwant %+v", again.Network, points[1].Config.Network)
	}
	if err := points[1].Config.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBandwidth(t *testing.T) {
	tests := []struct {
		in   string
		want Bandwidth
		str  string
	}{
		{"0", 0, "0"},
		{"100Mbit", 100e6, "100Mbit"},
		{"1Gbit", 1e9, "1Gbit"},
		{"2.5Gbit", 2.5e9, "2500Mbit"},
		{"500kbit", 500e3, "500kbit"},
		{"1500bit", 1500, "1500bit"},
		{"10 Mbit", 10e6, "10Mbit"},
		{"0.5bit", 0.5, "0.5bit"},
	}
	for _, tt := range tests {
		got, err := ParseBandwidth(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v", tt.in, float64(got), err, float64(tt.want))
			continue
		}
		if got.String() != tt.str {
			t.Errorf("Bandwidth(%g).String() = %q, want %q", float64(got), got.String(), tt.str)
		}
		if back, err := ParseBandwidth(got.String()); err != nil || back != got {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v back", got.String(), float64(back), err, float64(got))
		}
	}
	for _, bad := range []string{"", "100", "100MB", "1Gbps", "Mbit", "infMbit", "1 G bit", "100mbit"} {
		if _, err := ParseBandwidth(bad); err == nil {
			t.Errorf("ParseBandwidth(%q) succeeded, want an error", bad)
		}
	}
}

// TestNetworkDoc keeps docs/spec.md's rows for the keys that are not in the
// fields table (TestSpecDoc checks those).
func TestNetworkDoc(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "spec.md"))
	if err != nil {
		t.Fatal(err)
	}
	for p := range structured {
		if row := "| `" + p + "` | none |"; !strings.Contains(string(data), row) {
			t.Errorf("docs/spec.md has no row starting %q", row)
		}
	}
}
