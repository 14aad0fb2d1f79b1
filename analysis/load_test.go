package analysis

import (
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture is a real run of testdata/results/fixture/*/spec.yaml: the
// unreplicated baseline and PBFT with 4 replicas at 1, 4 and 16 clients,
// two repeats each, trimmed to the files the analysis reads.
const fixture = "testdata/results/fixture/20261121-052407"

// copyFixture copies the fixture to a temporary directory that a test may damage.
func copyFixture(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "fixture", filepath.Base(fixture))
	err := filepath.WalkDir(fixture, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fixture, path)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestLoadFixture(t *testing.T) {
	r, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Errorf("problems with the fixture: %v", r.Problems)
	}
	if r.Name != "fixture" || r.ID != "20261121-052407" {
		t.Errorf("name %q, id %q", r.Name, r.ID)
	}
	if want := []string{"protocol", "replicas", "load.clients"}; !slices.Equal(r.Swept, want) || !slices.Equal(r.Varying(), want) {
		t.Errorf("swept %v, varying %v, want %v", r.Swept, r.Varying(), want)
	}
	if len(r.Figures) != 2 || r.Figures[1].Y != "latency.p99" || r.Figures[1].Series != "protocol" {
		t.Errorf("figures %+v", r.Figures)
	}
	if r.Meta.Cores != 2 || !r.Meta.Finished || r.Meta.GitCommit == "" {
		t.Errorf("meta %+v", r.Meta)
	}
	if len(r.Points) != 6 {
		t.Fatalf("%d points, want 6", len(r.Points))
	}
	for i, p := range r.Points {
		if p.Index != i || len(p.Repeats) != 2 || p.Measured != 1.5 || p.Dir == "" {
			t.Errorf("point %d: index %d, %d repeats, measured %v s, dir %q", i, p.Index, len(p.Repeats), p.Measured, p.Dir)
		}
	}
	p0, p3 := r.Points[0], r.Points[3]
	if p0.Values["protocol"] != "unreplicated" || p0.Values["load.clients"] != "1" || p3.Protocol != "pbft" {
		t.Errorf("values %v and %v, protocol %q", p0.Values, p3.Values, p3.Protocol)
	}
	// Numbers as summary.csv has them.
	rep := p0.Repeats[1]
	if rep.N != 2 || rep.Throughput != 14168.7 || rep.Completed != 21253 || rep.Latency.P99 != 136 || rep.Latency.Max != 2619 {
		t.Errorf("point 0 repeat 2: %+v", rep)
	}
	if n := len(p0.Repeats[0].Replicas); n != 1 {
		t.Errorf("unreplicated point has %d replicas, want 1", n)
	}
	if rs := p3.Repeats[0].Replicas; len(rs) != 4 || rs[3].PeakRSSMiB != 13.15 || rs[3].CPUSeconds != 0.505 {
		t.Errorf("pbft point's replicas: %+v", rs)
	}
	if r.Replicas() != 4 {
		t.Errorf("Replicas() = %d, want 4", r.Replicas())
	}
}

func TestPointStat(t *testing.T) {
	r, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	p0, p3 := r.Points[0], r.Points[3]
	for _, tc := range []struct {
		p      *Point
		metric string
		want   float64
	}{
		{p0, "throughput", (12337.3 + 14168.7) / 2},
		{p0, "latency.p99", (152 + 136) / 2.0},
		{p0, "rss", (13.14 + 12.78) / 2},
		{p0, "cpu", (0.944 + 0.950) / 2 / 1.5}, // CPU seconds over the 1.5 s measured
		{p3, "rss.mean", ((13.37+12.49+12.35+12.39)/4 + (12.97+12.47+12.33+12.59)/4) / 2},
		{p3, "errors", 0},
	} {
		m, ok := MetricByKey(tc.metric)
		if !ok {
			t.Fatalf("no metric %q", tc.metric)
		}
		if got := tc.p.Stat(m).Mean; !approx(got, tc.want, 1e-9) {
			t.Errorf("point %d %s = %v, want %v", tc.p.Index, tc.metric, got, tc.want)
		}
	}
	rss, cpu := p3.ReplicaStat(2)
	if !approx(rss.Mean, (13.21+13.15)/2, 1e-9) || !approx(cpu.Mean, (0.510+0.445)/2/1.5, 1e-9) {
		t.Errorf("replica 2 of point 3: rss %+v, cpu %+v", rss, cpu)
	}
}

// TestSummaryCSVByName reads summary.csv by its header's names: reordered
// columns, an extra one, and replicas blank where a point has fewer.
func TestSummaryCSVByName(t *testing.T) {
	dir := copyFixture(t)
	csv := `repeat,point,label,a.b,throughput_ops,note,p99_us,p50_us,completed,errors,mean_us,p90_us,p999_us,max_us,rss_peak_mib_max,cpu_s_total,cpu_s_r0,rss_peak_mib_r0,rss_mean_mib_r0,cpu_s_r1,rss_peak_mib_r1,rss_mean_mib_r1
1,0,a.b=1,1,100.5,x,900,400,150,0,450,800,950,990,20,3,1.5,10,9,1.5,20,19
2,0,a.b=1,1,99.5,y,1100,600,149,1,550,900,1050,1090,21,3,1.5,11,9,1.5,21,19
1,1,a.b=2,2,300,z,2000,1000,450,0,1100,1800,2100,2200,30,2,2,30,29,,,
`
	if err := os.WriteFile(filepath.Join(dir, "summary.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		t.Errorf("problems: %v", r.Problems)
	}
	if !slices.Equal(r.Swept, []string{"a.b"}) || len(r.Points) != 2 {
		t.Fatalf("swept %v, %d points", r.Swept, len(r.Points))
	}
	p := r.Points[0]
	if p.Values["a.b"] != "1" || len(p.Repeats) != 2 || p.Repeats[1].Latency.P50 != 600 || p.Repeats[1].Errors != 1 {
		t.Errorf("point 0: %+v %+v", p.Values, p.Repeats[1])
	}
	if rs := p.Repeats[0].Replicas; len(rs) != 2 || rs[1].PeakRSSMiB != 20 || rs[0].CPUSeconds != 1.5 {
		t.Errorf("point 0 replicas %+v", rs)
	}
	if rs := r.Points[1].Repeats[0].Replicas; len(rs) != 1 {
		t.Errorf("point 1 has one replica, got %+v", rs)
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "nope: missing") {
		t.Errorf("err = %v, want it to name the directory as missing", err)
	}
	empty := t.TempDir()
	_, err = Load(empty)
	if err == nil || !strings.Contains(err.Error(), "summary.csv: missing") {
		t.Errorf("err = %v, want it to say summary.csv is missing", err)
	}
}

func TestRepeatFiles(t *testing.T) {
	r, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Points[5].Repeats[0]
	h, err := rep.Histogram()
	if err != nil {
		t.Fatal(err)
	}
	// The histogram holds every completion of the measure phase.
	if float64(h.TotalCount()) != rep.Completed || float64(h.ValueAtPercentile(99)) != rep.Latency.P99 {
		t.Errorf("histogram: %d latencies, p99 %d; summary.csv: %v completed, p99 %v",
			h.TotalCount(), h.ValueAtPercentile(99), rep.Completed, rep.Latency.P99)
	}
	slots, err := rep.Timeline()
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != 4 || slots[0].Phase != "warmup" || slots[1].Phase != "measure" || slots[3].Phase != "cooldown" {
		t.Fatalf("slots %+v", slots)
	}
	if s := slots[1]; s.Ops != 5184 || s.P99 != 5979 || len(s.RSS) != 4 || s.RSS[1] != 12.94 || s.CPU[3] != 0.41 {
		t.Errorf("measure slot %+v", s)
	}
	if !math.IsNaN(slots[0].RSS[0]) {
		t.Errorf("RSS not sampled in the warm-up slot should be NaN, got %v", slots[0].RSS[0])
	}
}

// TestLegacyMemoryNames: the fixture was written when the memory columns
// and fields were named _mb (holding MiB, as now). Its summary.csv, its
// points' summary.json (read when summary.csv is gone) and its timelines
// must give the same memory figures (summary.csv rounds to 0.01) as
// results written with the _mib names.
func TestLegacyMemoryNames(t *testing.T) {
	fromCSV, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	dir := copyFixture(t)
	if err := os.Remove(filepath.Join(dir, "summary.csv")); err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range fromCSV.Points {
		for k, rep := range p.Repeats {
			got := fromJSON.Points[i].Repeats[k]
			if len(got.Replicas) != len(rep.Replicas) || math.Abs(got.PeakRSSMax-rep.PeakRSSMax) > 0.01 || rep.PeakRSSMax <= 0 {
				t.Fatalf("point %d repeat %d: peak RSS from summary.json %v (%d replicas), from summary.csv %v (%d replicas)",
					i, k+1, got.PeakRSSMax, len(got.Replicas), rep.PeakRSSMax, len(rep.Replicas))
			}
			for j, u := range rep.Replicas {
				if g := got.Replicas[j]; math.Abs(g.PeakRSSMiB-u.PeakRSSMiB) > 0.01 || math.Abs(g.MeanRSSMiB-u.MeanRSSMiB) > 0.01 || u.MeanRSSMiB <= 0 {
					t.Errorf("point %d repeat %d replica %d: summary.json %+v, summary.csv %+v", i, k+1, j, g, u)
				}
			}
		}
	}
	slots, err := fromCSV.Points[5].Repeats[0].Timeline()
	if err != nil {
		t.Fatal(err)
	}
	measured := 0
	for _, s := range slots {
		if s.Phase == "measure" {
			measured++
			if len(s.RSS) != 4 || !(s.RSS[0] > 0) {
				t.Errorf("timeline slot at %v s: RSS %v, want 4 replicas' samples from rss_mb_r<i>", s.T, s.RSS)
			}
		}
	}
	if measured == 0 {
		t.Error("no measured slots in the timeline")
	}
}

func TestCanonicalColumn(t *testing.T) {
	for in, want := range map[string]string{
		"rss_peak_mb_max": "rss_peak_mib_max", "rss_peak_mb_r3": "rss_peak_mib_r3",
		"rss_mean_mb_r0": "rss_mean_mib_r0", "rss_mb_r12": "rss_mib_r12",
		"rss_peak_mib_r3": "rss_peak_mib_r3", "p50_us": "p50_us", "rss_mb": "rss_mb",
	} {
		if got := canonicalColumn(in); got != want {
			t.Errorf("canonicalColumn(%q) = %q, want %q", in, got, want)
		}
	}
}

// summary.json counts repeats from 1 since version 2 and from 0 before;
// the repeats read from either are the same.
func TestSummaryJSONVersions(t *testing.T) {
	dir := copyFixture(t)
	if err := os.Remove(filepath.Join(dir, "summary.csv")); err != nil {
		t.Fatal(err)
	}
	old, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "points", "*", "rep-*", "summary.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		m["version"], m["repeat"] = 2, m["repeat"].(float64)+1
		if data, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(now.Points) != len(old.Points) || len(old.Points) == 0 {
		t.Fatalf("%d points from version 2 files, %d from the older", len(now.Points), len(old.Points))
	}
	for i, p := range old.Points {
		for k, rep := range p.Repeats {
			if got := now.Points[i].Repeats[k]; got.N != rep.N || got.N != k+1 || got.Throughput != rep.Throughput {
				t.Errorf("point %d: repeat %d (throughput %g) from version 2, %d (%g) from the older; want %d", i, got.N, got.Throughput, rep.N, rep.Throughput, k+1)
			}
		}
	}
}
