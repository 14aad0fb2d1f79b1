package orchestrate

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/procstat"
	"github.com/replbench/replbench/loadgen"
)

// TestBuildResult joins a load report with RSS/CPU samples: peak RSS is the
// highest VmHWM, mean RSS and CPU cover only the measure window, and each
// sample lands in the timeline slot that covers it.
func TestBuildResult(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	rep := &node.ClientReport{
		Start: start, End: at(4), Measure: [2]float64{1, 3}, Throughput: 100, Completed: 200,
		Timeline: []loadgen.Second{
			{T: 0, Length: 1, Phase: "warmup"}, {T: 1, Length: 1, Phase: "measure"},
			{T: 2, Length: 1, Phase: "measure"}, {T: 3, Length: 1, Phase: "cooldown"},
		},
	}
	series := map[string]procstat.Series{"0": {Samples: []procstat.Sample{
		{Time: at(0.5), RSS: 10 * mib, HWM: 10 * mib, CPU: 0},
		{Time: at(1.5), RSS: 20 * mib, HWM: 20 * mib, CPU: 500 * time.Millisecond},
		{Time: at(2.5), RSS: 30 * mib, HWM: 40 * mib, CPU: 1500 * time.Millisecond},
		{Time: at(3.5), RSS: 5 * mib, HWM: 40 * mib, CPU: 1600 * time.Millisecond},
	}}}
	res := buildResult(&Job{Point: 2, Label: "x=1"}, rep, 1, series)
	u := res.Replicas[0]
	if u.PeakRSSMiB != 40 || u.MeanRSSMiB != 25 {
		t.Errorf("peak %v mean %v, want 40 and 25 (mean over the window's two samples)", u.PeakRSSMiB, u.MeanRSSMiB)
	}
	// CPU at 1 s interpolates to 0.25 s, at 3 s to 1.55 s.
	if math.Abs(u.CPUSeconds-1.3) > 1e-9 || math.Abs(u.CPUUtil-0.65) > 1e-9 {
		t.Errorf("cpu seconds %v util %v, want 1.3 and 0.65 (interpolated at the window's ends)", u.CPUSeconds, u.CPUUtil)
	}
	wantRSS := []float64{10, 20, 30, 5}
	for i, row := range res.Timeline {
		if row.RSSMiB[0] != wantRSS[i] {
			t.Errorf("slot %d RSS %v, want %v", i, row.RSSMiB[0], wantRSS[i])
		}
	}
	if !math.IsNaN(res.Timeline[0].CPUUtil[0]) || res.Timeline[2].CPUUtil[0] != 1.0 {
		t.Errorf("CPU per slot %v %v, want NaN (no earlier sample) and 1.0", res.Timeline[0].CPUUtil[0], res.Timeline[2].CPUUtil[0])
	}
	row := summaryRow(res, []string{"1"}, 2)
	head := summaryHeader([]string{"x"}, 2)
	if len(row) != len(head) {
		t.Fatalf("summary row has %d cells for %d columns", len(row), len(head))
	}
	if row[1] != "1" || row[3] != "1" || row[len(row)-1] != "" {
		t.Errorf("row %v: want 1-based repeat, swept value, empty cells for a missing replica", row)
	}
}

// TestReplicaUsageReadsLegacyNames: a summary.json written before the
// memory fields were named _mib still gives its figures to --resume, and
// one written now round-trips.
func TestReplicaUsageReadsLegacyNames(t *testing.T) {
	var old ReplicaUsage
	if err := json.Unmarshal([]byte(`{"id":2,"peak_rss_mb":12.5,"mean_rss_mb":11.25,"cpu_seconds":3}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.ID != 2 || old.PeakRSSMiB != 12.5 || old.MeanRSSMiB != 11.25 || old.CPUSeconds != 3 {
		t.Errorf("legacy fields read as %+v", old)
	}
	now := ReplicaUsage{ID: 1, PeakRSSMiB: 13, MeanRSSMiB: 12, CPUSeconds: 2, CPUUtil: 0.5, Samples: 9}
	data, err := json.Marshal(now)
	if err != nil {
		t.Fatal(err)
	}
	var back ReplicaUsage
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back != now {
		t.Errorf("round trip of %s gave %+v, want %+v", data, back, now)
	}
	if err := json.Unmarshal([]byte(`{"peak_rss_mib":"x"}`), &back); err == nil {
		t.Error("accepted a string for peak_rss_mib")
	}
}

// summary.json counts repeats from 1, as its rep-<k> directory does, and
// --resume reads both that and the files that counted from 0.
func TestSummaryJSONRepeat(t *testing.T) {
	res := &PointResult{Point: 3, Repeat: 0, Label: "x=1", Completed: 7}
	dir := t.TempDir()
	path := dir + "/summary.json"
	if err := node.WriteJSON(path, res); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Version, Repeat int
	}
	if err := node.ReadJSON(path, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Repeat != 1 || raw.Version != summaryVersion {
		t.Errorf("summary.json of the first repeat says repeat %d, version %d; want 1, %d", raw.Repeat, raw.Version, summaryVersion)
	}
	var back PointResult
	if err := node.ReadJSON(path, &back); err != nil {
		t.Fatal(err)
	}
	if back.Point != 3 || back.Repeat != 0 || back.Label != "x=1" || back.Completed != 7 {
		t.Errorf("read back %+v", back)
	}
	var old PointResult
	if err := json.Unmarshal([]byte(`{"point":1,"repeat":2,"label":"y"}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Repeat != 2 || old.Point != 1 {
		t.Errorf("a summary.json without version (repeat from 0) read as repeat %d of point %d, want 2 of 1", old.Repeat, old.Point)
	}
}
