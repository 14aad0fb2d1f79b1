package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunEmulatesNetworkDelay runs real processes with the links emulated
// in their transports and checks that the latency a client measures is the
// protocol's one-way hops times the configured delay: one round trip through
// the unreplicated server, five hops through PBFT (request, pre-prepare,
// prepare, commit, reply).
func TestRunEmulatesNetworkDelay(t *testing.T) {
	const common = `
crypto: {replicas: none, clients: hmac}
duration: 2500ms
warmup: 300ms
cooldown: 200ms
load: {clients: 1, outstanding: 1, payload: 64B}
`
	ms := func(n float64) float64 { return n * 1000 } // summary.json latencies are in µs
	for _, tt := range []struct {
		name, spec string
		// p50 bounds per point directory, in µs
		bounds map[string][2]float64
	}{
		{"unreplicated", "name: net-unreplicated\nprotocol: unreplicated\nsweep: {network.delay: [0ms, 20ms]}\n" + common,
			map[string][2]float64{
				"p000-network.delay=0ms":  {0, ms(10)},
				"p001-network.delay=20ms": {ms(40), ms(60)},
			}},
		{"pbft", "name: net-pbft\nprotocol: pbft\nnetwork: {delay: 20ms}\n" + common,
			map[string][2]float64{
				"p000": {ms(100), ms(130)},
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			results := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, stderr, err := runCLI(ctx, "run", writeSpec(t, tt.spec), "--results", results); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr)
			}
			for dir, b := range tt.bounds {
				p50 := pointP50(t, results, dir)
				t.Logf("%s: p50 %.1f ms", dir, p50/1000)
				if p50 < b[0] || p50 > b[1] {
					t.Errorf("%s: p50 %.1f ms, want %.0f to %.0f ms", dir, p50/1000, b[0]/1000, b[1]/1000)
				}
			}
			assertNoChildren(t)
		})
	}
}

// pointP50 reads the median latency (µs) of a point's first repeat.
func pointP50(t *testing.T, results, point string) float64 {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(results, "*", "*", "points", point, "rep-1", "summary.json"))
	if len(matches) != 1 {
		all, _ := filepath.Glob(filepath.Join(results, "*", "*", "points", "*"))
		t.Fatalf("want one summary.json for point %s, found %v (points: %s)", point, matches, strings.Join(all, ", "))
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Completed uint64 `json:"completed"`
		Latency   struct {
			P50 float64 `json:"p50"`
		} `json:"latency"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", matches[0], err)
	}
	if s.Completed == 0 {
		t.Fatalf("%s: no request completed", matches[0])
	}
	return s.Latency.P50
}
