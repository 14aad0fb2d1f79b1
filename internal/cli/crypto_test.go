package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// quick keeps measurements short: the tests check the command's shape, not
// the machine's speed.
var quick = []string{"--duration", "3ms", "--runs", "3"}

func runCrypto(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newCryptoCmd()
	var out, progress bytes.Buffer
	cmd.SetArgs(append(append([]string(nil), quick...), args...))
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCryptoJSON(t *testing.T) {
	out, err := runCrypto(t, "--schemes", "ed25519,none", "--clients-scheme", "none", "--batch", "1,10", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r cryptoReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(r.Costs) != 2 || r.Costs[0].Scheme != "ed25519" || r.Costs[1].Scheme != "none" {
		t.Fatalf("costs: %+v", r.Costs)
	}
	if r.Machine.Cores < 1 || r.Runs != 3 {
		t.Errorf("machine %+v, runs %d", r.Machine, r.Runs)
	}
	// 2 protocols x 2 batch sizes x 2 schemes, ed25519 slower than none everywhere.
	if len(r.Predictions) != 8 {
		t.Fatalf("%d predictions, want 8", len(r.Predictions))
	}
	for _, p := range r.Predictions {
		if p.Signs <= 0 || p.Verifies <= 0 || p.ReplicaNs <= 0 || p.PerReplica <= 0 || p.OneHost <= 0 || p.OneHost > p.PerReplica {
			t.Errorf("implausible prediction %+v", p)
		}
	}
	if ed, none := r.Predictions[0], r.Predictions[1]; ed.PerReplica >= none.PerReplica {
		t.Errorf("ed25519 ceiling %v not below none's %v", ed.PerReplica, none.PerReplica)
	}

	// --costs redraws from this output without measuring: the same costs,
	// hence the same ceilings, for the schemes asked for.
	path := filepath.Join(t.TempDir(), "crypto.json")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := runCrypto(t, "--costs", path, "--schemes", "none", "--clients-scheme", "none", "--batch", "1,10", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r2 cryptoReport
	if err := json.Unmarshal([]byte(again), &r2); err != nil {
		t.Fatal(err)
	}
	if len(r2.Costs) != 1 || r2.Costs[0].Samples[0] != r.Costs[1].Samples[0] || r2.Machine != r.Machine {
		t.Errorf("--costs: costs %+v, machine %+v; want none's %+v from %+v", r2.Costs, r2.Machine, r.Costs[1].Samples[0], r.Machine)
	}
	if len(r2.Predictions) != 4 || r2.Predictions[0] != r.Predictions[1] {
		t.Errorf("--costs: predictions %+v, want as before %+v", r2.Predictions, r.Predictions[1])
	}
	if _, err := runCrypto(t, "--costs", path, "--clients-scheme", "hmac"); err == nil || !strings.Contains(err.Error(), "no costs for hmac") {
		t.Errorf("--costs without the clients' scheme: %v", err)
	}
}

func TestCryptoTableAndPlot(t *testing.T) {
	dir := t.TempDir()
	pngPath := filepath.Join(dir, "crypto.png")
	out, err := runCrypto(t, "--schemes", "hmac,none", "--sizes", "100B,1KiB", "--plot", pngPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"scheme", "message", "sign", "signs/s/core", "verify", "verifies/s/core", "spread", "public", "key", "authenticator"},
		{"hmac", "100B"}, {"hmac", "1KiB"}, {"none", "100B"}, {"none", "1KiB"},
		{"protocol", "batch", "scheme", "signs/batch", "verifies/batch", "CPU/request", "per", "replica", "one", "host"},
		{"pbft", "1", "hmac", "2.00", "4.00"}, {"hotstuff", "100", "none", "1.25", "3.75"},
	} {
		if !hasRow(out, want...) {
			t.Errorf("output lacks a row starting %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"32 B secret", "16 B (vector 4 × 16 B)", "one MAC for a single receiver", "4 replicas (f = 1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if rows := strings.Count(out, "\npbft ") + strings.Count(out, "\nhotstuff "); rows != 12 {
		t.Errorf("%d ceiling rows, want 2 protocols x 3 batches x 2 schemes = 12:\n%s", rows, out)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", pngPath, err)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 {
		t.Errorf("figure of %v", b)
	}
}

func TestCryptoMeasured(t *testing.T) {
	dir := t.TempDir()
	csv := "point,repeat,label,protocol,crypto.replicas,batch.size,throughput_ops\n" +
		"0,1,a,pbft,hmac,10,1000.0\n" +
		"0,2,a,pbft,hmac,10,3000.0\n" +
		"1,1,b,pbft,none,10,5000.0\n"
	if err := os.WriteFile(filepath.Join(dir, "summary.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "schemes.svg")
	out, err := runCrypto(t, "--schemes", "hmac,none", "--batch", "10", "--measured", dir, "--plot", svg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "against the one-host ceiling") {
		t.Errorf("--measured compares with the one-host ceiling by default:\n%s", out)
	}
	// The mean of the two repeats, and its fraction of the ceiling.
	if !hasRow(out, "pbft", "10", "hmac", "2000") || !hasRow(out, "pbft", "10", "none", "5000") {
		t.Errorf("no rows for the measured points:\n%s", out)
	}
	data, err := os.ReadFile(svg)
	if err != nil || !bytes.Contains(data, []byte("<svg")) {
		t.Errorf("%s is not an SVG (%v)", svg, err)
	}
}

func TestCryptoBadInputs(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--schemes", "dsa"}, `unknown scheme "dsa"`},
		{[]string{"--sizes", "10Q"}, "--sizes"},
		{[]string{"--cores", "0"}, "--cores must be positive"},
		{[]string{"--ceiling", "rack"}, "--ceiling must be replica or host"},
		{[]string{"--batch", "0", "--schemes", "none"}, "batch size must be at least 1"},
		{[]string{"--measured", filepath.Join(dir, "missing")}, "give a run directory or its summary.csv"},
		{[]string{"--schemes", "none", "--plot", filepath.Join(dir, "x.gif")}, `unknown format ".gif"`},
	} {
		_, err := runCrypto(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}

// hasRow reports whether a line of out starts with the given fields.
func hasRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= len(fields) && slices.Equal(f[:len(fields)], fields) {
			return true
		}
	}
	return false
}

// TestCryptoClientSchemeSaid: the clients' scheme is measured too when it
// was not asked for, and the output says why; the ceilings are for the
// replica schemes asked for only.
func TestCryptoClientSchemeSaid(t *testing.T) {
	cmd := newCryptoCmd()
	var out, progress bytes.Buffer
	cmd.SetArgs(append(append([]string(nil), quick...), "--schemes", "none", "--clients-scheme", "hmac", "--batch", "1", "--json"))
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "also measuring hmac: the ceilings below authenticate clients with it") {
		t.Errorf("no word on why hmac is measured:\n%s", progress.String())
	}
	var r cryptoReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Predictions {
		if p.Deployment.ReplicaScheme != "none" {
			t.Errorf("a ceiling with replica scheme %s, which was not asked for", p.Deployment.ReplicaScheme)
		}
	}
	if len(r.Predictions) != 2 {
		t.Errorf("%d ceilings, want 2 (PBFT and HotStuff with none)", len(r.Predictions))
	}
}
