package experiments

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func mustPoints(t *testing.T, src string) []Point {
	t.Helper()
	s, err := Parse("spec.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", src, err)
	}
	points, err := s.Points()
	if err != nil {
		t.Fatalf("Points: %v", err)
	}
	for i, p := range points {
		if p.Index != i {
			t.Errorf("point %d has Index %d", i, p.Index)
		}
		if len(p.Config.Sweep) != 0 || len(p.Config.Figures) != 0 {
			t.Errorf("point %d config keeps sweep or figures", i)
		}
	}
	return points
}

func labels(points []Point) []string {
	out := make([]string, len(points))
	for i, p := range points {
		out[i] = p.Label()
	}
	return out
}

func TestExpansionOrder(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"no sweep", "seed: 3\n", []string{""}},
		{"one axis", "sweep: {load.clients: [1, 4, 16]}\n",
			[]string{"load.clients=1", "load.clients=4", "load.clients=16"}},
		{"cross product, first axis slowest", "sweep:\n  load.clients: [1, 4, 16]\n  load.payload: [100B, 1KiB]\n",
			[]string{
				"load.clients=1,load.payload=100B", "load.clients=1,load.payload=1KiB",
				"load.clients=4,load.payload=100B", "load.clients=4,load.payload=1KiB",
				"load.clients=16,load.payload=100B", "load.clients=16,load.payload=1KiB",
			}},
		{"zip advances together", "zip:\n  - {batch.size: [1, 100], batch.timeout: [0ms, 5ms]}\n",
			[]string{"batch.size=1,batch.timeout=0ms", "batch.size=100,batch.timeout=5ms"}},
		{"sweep then zip", "sweep:\n  load.clients: [1, 4]\nzip:\n  - {batch.size: [1, 100], batch.timeout: [0ms, 5ms]}\n",
			[]string{
				"load.clients=1,batch.size=1,batch.timeout=0ms", "load.clients=1,batch.size=100,batch.timeout=5ms",
				"load.clients=4,batch.size=1,batch.timeout=0ms", "load.clients=4,batch.size=100,batch.timeout=5ms",
			}},
		{"zip written first varies slowest", "zip:\n  - {batch.size: [1, 100], batch.timeout: [0ms, 5ms]}\nsweep:\n  load.clients: [1, 4]\n",
			[]string{
				"batch.size=1,batch.timeout=0ms,load.clients=1", "batch.size=1,batch.timeout=0ms,load.clients=4",
				"batch.size=100,batch.timeout=5ms,load.clients=1", "batch.size=100,batch.timeout=5ms,load.clients=4",
			}},
		{"two zip groups cross", "zip:\n  - {load.clients: [1, 2]}\n  - {seed: [7, 8, 9], repeat: [1, 2, 3]}\n",
			[]string{
				"load.clients=1,seed=7,repeat=1", "load.clients=1,seed=8,repeat=2", "load.clients=1,seed=9,repeat=3",
				"load.clients=2,seed=7,repeat=1", "load.clients=2,seed=8,repeat=2", "load.clients=2,seed=9,repeat=3",
			}},
		{"zip lists may repeat values", "zip:\n  - {protocol: [pbft, hotstuff], replicas: [4, 4]}\n",
			[]string{"protocol=pbft,replicas=4", "protocol=hotstuff,replicas=4"}},
		{"protocol and replicas zipped", "zip:\n  - {protocol: [unreplicated, pbft, hotstuff], replicas: [1, 4, 7]}\n",
			[]string{"protocol=unreplicated,replicas=1", "protocol=pbft,replicas=4", "protocol=hotstuff,replicas=7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := labels(mustPoints(t, tt.src))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("labels:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPointConfigs(t *testing.T) {
	src := `
name: cfg
protocol: pbft
app: {name: echo, reply: 8B}
batch: {size: 5}
sweep:
  protocol: [pbft, hotstuff]
  app.reply: [0B, 1KiB]
zip:
  - {batch.size: [1, 100], batch.timeout: [0ms, 5ms]}
`
	points := mustPoints(t, src)
	if len(points) != 8 {
		t.Fatalf("%d points, want 8", len(points))
	}
	last := points[7].Config
	if last.Name != "cfg" || last.Protocol != HotStuff || last.Replicas != 4 ||
		last.App != (App{Name: AppEcho, Reply: 1024}) ||
		last.Batch != (Batch{Size: 100, Timeout: 5 * time.Millisecond}) {
		t.Errorf("last point config: %+v", last)
	}
	first := points[0].Config
	if first.App.Reply != 0 || first.Batch != (Batch{Size: 1, Timeout: 0}) || first.Protocol != PBFT {
		t.Errorf("first point config: %+v", first)
	}
	// Values not swept keep the base value everywhere.
	for _, p := range points {
		if p.Config.Load.Payload != 100 || p.Config.App.Name != AppEcho {
			t.Errorf("point %d: payload %v app %v", p.Index, p.Config.Load.Payload, p.Config.App.Name)
		}
	}
}

func TestReplicasFollowSweptProtocol(t *testing.T) {
	// With replicas left out, each point takes the default of its protocol.
	points := mustPoints(t, "sweep:\n  protocol: [unreplicated, pbft, hotstuff]\n")
	var got []int
	for _, p := range points {
		got = append(got, p.Config.Replicas)
	}
	if !reflect.DeepEqual(got, []int{1, 4, 4}) {
		t.Errorf("replicas %v, want [1 4 4]", got)
	}
}

func TestShorthandApp(t *testing.T) {
	// "app: echo" stands for {name: echo}; sweeping app.reply keeps the name,
	// and sweeping app sets the name only.
	points := mustPoints(t, "app: echo\nsweep:\n  app.reply: [0B, 64B]\n")
	for _, p := range points {
		if p.Config.App.Name != AppEcho {
			t.Errorf("point %s: app %q, want echo", p.Label(), p.Config.App.Name)
		}
	}
	points = mustPoints(t, "app: {reply: 64B}\nsweep:\n  app: [null, echo, kv]\n")
	var got []App
	for _, p := range points {
		got = append(got, p.Config.App)
	}
	want := []App{{AppNull, 64}, {AppEcho, 64}, {AppKV, 64}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("apps %v, want %v", got, want)
	}
}

func TestDir(t *testing.T) {
	tests := []struct {
		p    Point
		want string
	}{
		{Point{Index: 0}, "p000"},
		{Point{Index: 3, Values: []KV{{"load.clients", "4"}, {"load.payload", "1KiB"}}}, "p003-load.clients=4-load.payload=1KiB"},
		{Point{Index: 12, Values: []KV{{"hosts", "../lab hosts/a.yaml"}}}, "p012-hosts=.._lab_hosts_a.yaml"},
		{Point{Index: 1234, Values: []KV{{"description", "é"}}}, "p1234-description=_"},
		{Point{Index: 7, Values: []KV{{"description", strings.Repeat("x", 300)}}}, "p007-description=" + strings.Repeat("x", maxDirLen-len("p007-description="))},
	}
	for _, tt := range tests {
		if got := tt.p.Dir(); got != tt.want {
			t.Errorf("Dir(%v) = %q, want %q", tt.p.Values, got, tt.want)
		}
	}
}

func TestGoBuiltSpec(t *testing.T) {
	// A Spec built in Go (no document) expands from its fields.
	base, err := Parse("base.yaml", []byte("protocol: pbft\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := *base
	s.doc, s.file = nil, ""
	s.Sweep = []Axis{{Paths: []string{"load.clients", "load.payload"}, Values: [][]string{{"1", "8"}, {"100B", "4KiB"}}}}
	points, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 || points[1].Config.Load.Clients != 8 || points[1].Config.Load.Payload != 4096 || points[1].Config.Replicas != 4 {
		t.Fatalf("points: %+v", points)
	}
	s.Sweep = []Axis{{Paths: []string{"replicas"}, Values: [][]string{{"4", "6"}}}}
	_, err = s.Points()
	if want := "spec: replicas: pbft needs n = 3f+1 replicas (4, 7, 10, ...), got 6 (at point replicas=6)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// A point's config is itself a spec with one point.
	again, err := points[1].Config.Points()
	if err != nil || len(again) != 1 || !sameConfig(again[0].Config, points[1].Config) {
		t.Errorf("point config re-expanded: %v, %+v", err, again)
	}
}

func sameConfig(a, b Spec) bool {
	a.doc, b.doc, a.file, b.file = nil, nil, "", ""
	return reflect.DeepEqual(a, b)
}

func TestExpandedRoundTrip(t *testing.T) {
	src := `
protocol: hotstuff
app: null
description: "quotes: \"x\", and null"
network: {loss: 0.25}
sweep:
  load.payload: [0, 1000, 4KiB]
  app: [null, echo]
zip:
  - {load.mode: [closed, open], load.rate: [0, 1.5e3]}
`
	s, err := Parse("rt.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	points, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Expanded()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseExpanded("expanded.yaml", out)
	if err != nil {
		t.Fatalf("ParseExpanded: %v\n%s", err, out)
	}
	if len(back) != len(points) || len(points) != 12 {
		t.Fatalf("%d points back, %d out, want 12", len(back), len(points))
	}
	for i := range points {
		if points[i].Index != back[i].Index || !reflect.DeepEqual(points[i].Values, back[i].Values) ||
			!sameConfig(points[i].Config, back[i].Config) {
			t.Errorf("point %d:\n out %+v\nback %+v", i, points[i], back[i])
		}
	}
}

func TestParseExpandedErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a: 1\n", "x.yaml:1: want a list of points, got a mapping"},
		{"- index: 0\n  config: {replicas: 2}\n", "x.yaml:2: replicas: unreplicated needs 1 replica, got 2"},
		{"- index: 0\n  config: {sweep: {seed: [1]}}\n", "x.yaml:2: sweep: not allowed in an expanded point"},
		{"- index: 0\n  extra: 1\n  config: {}\n", `x.yaml:2: [0]: unknown key "extra" (want index, label, dir, values, config)`},
		{"- index: 0\n", "x.yaml:1: [0]: no config"},
	}
	for _, tt := range tests {
		_, err := ParseExpanded("x.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseExpanded(%q) = %v, want %s", tt.src, err, tt.want)
		}
	}
}

func TestQuickstartExpandedGolden(t *testing.T) {
	s, err := Load("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Expanded()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "quickstart.expanded.yaml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Expanded() differs from %s (run go test -update after checking the change):\n%s", golden, got)
	}
}

func TestMarshalPointConfig(t *testing.T) {
	// yaml.Marshal of a point's config is a spec that parses back to it.
	points := mustPoints(t, "protocol: pbft\napp: echo\nsweep:\n  load.payload: [1000, 4KiB]\n")
	out, err := yaml.Marshal(points[1].Config)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("point.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !sameConfig(*back, points[1].Config) {
		t.Errorf("marshalled config:\n%s\nparses to %+v, want %+v", out, *back, points[1].Config)
	}
}

func TestValidate(t *testing.T) {
	points := mustPoints(t, "sweep:\n  load.clients: [1, 2]\n")
	cfg := points[1].Config
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid point: %v", err)
	}
	tests := []struct {
		change func(*Spec)
		want   string
	}{
		{func(s *Spec) { s.Duration = time.Second }, "spec.yaml: duration: must be longer than warmup + cooldown (2s + 1s), got 1s"},
		{func(s *Spec) { s.Load.Clients = 0 }, "spec.yaml: load.clients: must be >= 1, got 0"},
		{func(s *Spec) { s.Protocol = PBFT }, "spec.yaml: replicas: pbft needs n = 3f+1 replicas (4, 7, 10, ...), got 1"},
		{func(s *Spec) { s.Crypto.Clients = "xyz" }, `spec.yaml: crypto.clients: unknown value "xyz" (want one of rsa, ecdsa, ed25519, hmac, none)`},
		{func(s *Spec) { s.Name = "" }, `spec.yaml: name: "" cannot name the results directory (use letters, digits, '.', '_', '-')`},
	}
	for _, tt := range tests {
		c := cfg
		tt.change(&c)
		if err := c.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("Validate() = %v, want %s", err, tt.want)
		}
	}
}

// TestPointByIndex checks that resolving one point by its index, and
// walking the points one at a time, give exactly the points of the full
// expansion.
func TestPointByIndex(t *testing.T) {
	src := "zip:\n  - {protocol: [pbft, unreplicated], replicas: [4, 1]}\nsweep:\n  load.clients: [1, 4, 16]\n  app: [null, echo]\n"
	s, err := Parse("spec.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	all := mustPoints(t, src)
	n, err := s.NumPoints()
	if err != nil || n != len(all) || n != 12 {
		t.Fatalf("NumPoints() = %d, %v; want 12", n, err)
	}
	for i, want := range all {
		got, err := s.Point(i)
		if err != nil {
			t.Fatalf("Point(%d): %v", i, err)
		}
		if got.Index != i || got.Label() != want.Label() || !sameConfig(got.Config, want.Config) {
			t.Errorf("Point(%d) = %s %+v\nwant %s %+v", i, got.Label(), got.Config, want.Label(), want.Config)
		}
	}
	i := 0
	for p, err := range s.All() {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		if p.Index != i || p.Label() != all[i].Label() || !sameConfig(p.Config, all[i].Config) {
			t.Errorf("All's point %d is %s, want %s", i, p.Label(), all[i].Label())
		}
		i++
	}
	if i != len(all) {
		t.Errorf("All yielded %d points, want %d", i, len(all))
	}
	for _, bad := range []int{-1, 12} {
		if _, err := s.Point(bad); err == nil || !strings.Contains(err.Error(), "out of range: the sweep has 12 points") {
			t.Errorf("Point(%d) = %v, want an out-of-range error", bad, err)
		}
	}
}

// bigSweep is a spec of the largest sweep allowed, 100 x 10 x 100 points.
func bigSweep() string {
	var clients, payloads, batches []string
	for i := 1; i <= 100; i++ {
		clients = append(clients, strconv.Itoa(i))
		batches = append(batches, strconv.Itoa(i))
	}
	for i := 1; i <= 10; i++ {
		payloads = append(payloads, strconv.Itoa(100*i)+"B")
	}
	return "name: big\nsweep:\n  load.clients: [" + strings.Join(clients, ", ") + "]\n  load.payload: [" +
		strings.Join(payloads, ", ") + "]\n  batch.size: [" + strings.Join(batches, ", ") + "]\n"
}

// TestLargeSweepOnDemand checks that a 100,000-point sweep is counted and
// its last point resolved without expanding the others, and that checking
// and writing it stop as soon as their context ends.
func TestLargeSweepOnDemand(t *testing.T) {
	s, err := Parse("big.yaml", []byte(bigSweep()))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.NumPoints(); err != nil || n != 100_000 {
		t.Fatalf("NumPoints() = %d, %v; want 100000", n, err)
	}
	last, err := s.Point(99_999)
	if err != nil {
		t.Fatal(err)
	}
	if last.Label() != "load.clients=100,load.payload=1000B,batch.size=100" || last.Config.Batch.Size != 100 ||
		last.Config.Load.Clients != 100 || last.Config.Load.Payload != 1000 {
		t.Errorf("last point %s: %+v", last.Label(), last.Config)
	}
	if p, _ := s.Point(1234); p.Label() != "load.clients=2,load.payload=300B,batch.size=35" {
		t.Errorf("point 1234 is %s, want clients=2 (1000 points each), payload 300B, batch 35", p.Label())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with an ended context = %v, want context.Canceled", err)
	}
	if _, err := ParseContext(ctx, "big.yaml", []byte(bigSweep())); !errors.Is(err, context.Canceled) {
		t.Errorf("ParseContext with an ended context = %v, want context.Canceled", err)
	}

	// Writing stops at the first point after the context ends, having
	// resolved no more points than it wrote.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	resolved := 0
	points := func(yield func(Point, error) bool) {
		for p, err := range s.All() {
			resolved++
			if resolved == 3 {
				cancel()
			}
			if !yield(p, err) {
				return
			}
		}
	}
	var buf bytes.Buffer
	err = WriteExpanded(ctx, &buf, s.Name, points)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteExpanded after cancel = %v, want context.Canceled", err)
	}
	if resolved != 3 {
		t.Errorf("WriteExpanded resolved %d points after the context ended at the 3rd", resolved)
	}
}

// failingWriter fails every write after its first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// TestWriteExpandedStopsOnWriteError checks that a failing writer ends
// the writing of a large sweep early, with its error.
func TestWriteExpandedStopsOnWriteError(t *testing.T) {
	s, err := Parse("big.yaml", []byte(bigSweep()))
	if err != nil {
		t.Fatal(err)
	}
	resolved := 0
	points := func(yield func(Point, error) bool) {
		for p, err := range s.All() {
			resolved++
			if !yield(p, err) {
				return
			}
		}
	}
	err = WriteExpanded(context.Background(), &failingWriter{n: 1 << 20}, s.Name, points)
	if err == nil || err.Error() != "write expanded points: disk full" {
		t.Fatalf("WriteExpanded to a failing writer = %v, want its error", err)
	}
	if resolved == 100_000 {
		t.Errorf("all %d points were resolved after the writer failed", resolved)
	}
}
