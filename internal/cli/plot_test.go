package cli

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const plotFixture = "../../analysis/testdata/results/fixture/20261121-052407"

func runPlot(args ...string) (stdout, stderr string, err error) {
	cmd := newPlotCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestPlot(t *testing.T) {
	out := t.TempDir()
	stdout, stderr, err := runPlot(plotFixture, "--out", out, "--format", "png")
	if err != nil || stderr != "" {
		t.Fatalf("err %v, stderr %q", err, stderr)
	}
	if !strings.HasPrefix(stdout, "wrote 17 files to "+out) {
		t.Errorf("stdout %q", stdout)
	}
	f, err := os.Open(filepath.Join(out, "latency-vs-throughput-by-protocol.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.DecodeConfig(f); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
}

// TestPlotDamaged: a corrupt file is named with what is wrong, everything
// else is drawn, and the exit status says something was wrong.
func TestPlotDamaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"spec.yaml", "expanded.yaml", "meta.json", "summary.csv"} {
		data, err := os.ReadFile(filepath.Join(plotFixture, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "summary.csv" {
			data = bytes.Replace(data, []byte(",12337.3,"), []byte(",12x37.3,"), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	stdout, stderr, err := runPlot(dir, "--out", out, "--format", "svg", "--errors", "ci95")
	if err == nil || !strings.Contains(err.Error(), "problems with the results") {
		t.Errorf("err = %v, want one saying there were problems", err)
	}
	for _, want := range []string{
		"replbench plot: " + filepath.Join(dir, "summary.csv") + `:2: column throughput_ops: "12x37.3" is not a number; left out`,
		"/points/p000-protocol=unreplicated-replicas=1-load.clients=1/rep-1/latency.hlog: missing",
		"/rep-1/timeline.csv: missing",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "wrote ") {
		t.Errorf("stdout %q", stdout)
	}
	for _, name := range []string{"throughput-vs-load.clients-by-protocol.svg", "rss-per-replica.svg", "summary.md"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("still to be drawn: %v", err)
		}
	}
}

func TestPlotFlags(t *testing.T) {
	if _, _, err := runPlot(plotFixture, "--errors", "minmax", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "minmax") {
		t.Errorf("--errors minmax: err = %v", err)
	}
	if _, _, err := runPlot(plotFixture, "--format", "bmp", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "bmp") {
		t.Errorf("--format bmp: err = %v", err)
	}
	if _, _, err := runPlot(); err == nil {
		t.Error("no directory: no error")
	}
}

// TestPlotNotResults: a directory that holds no results is refused with
// its reasons said once, not once as problems and again as the error.
func TestPlotNotResults(t *testing.T) {
	dir := t.TempDir()
	_, stderr, err := runPlot(dir)
	if err == nil || !strings.Contains(err.Error(), "meta.json: missing") {
		t.Fatalf("err %v, want one saying what is missing", err)
	}
	if strings.Contains(stderr, "meta.json: missing") {
		t.Errorf("the reasons are printed before the error as well:\n%s", stderr)
	}
}
