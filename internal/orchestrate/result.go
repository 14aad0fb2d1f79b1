package orchestrate

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/procstat"
	"github.com/replbench/replbench/loadgen"
)

// ReplicaUsage is one replica's resource use during a job.
type ReplicaUsage struct {
	ID         int     `json:"id"`
	PeakRSSMiB float64 `json:"peak_rss_mib"` // highest VmHWM seen: peak over the process's life
	MeanRSSMiB float64 `json:"mean_rss_mib"` // mean VmRSS over the measure window
	CPUSeconds float64 `json:"cpu_seconds"`  // CPU time (user+system) in the measure window
	CPUUtil    float64 `json:"cpu_util"`     // CPU seconds per wall second (1.0 = one core busy)
	Samples    int     `json:"samples"`
}

// UnmarshalJSON also reads peak_rss_mb and mean_rss_mb, the names (for MiB
// as now) in results written before 2026-11-21, so that --resume carries
// such a run's memory figures into its summary.
func (u *ReplicaUsage) UnmarshalJSON(data []byte) error {
	type fields ReplicaUsage // without this method
	var v struct {
		fields
		LegacyPeak *float64 `json:"peak_rss_mb"`
		LegacyMean *float64 `json:"mean_rss_mb"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*u = ReplicaUsage(v.fields)
	if v.LegacyPeak != nil && u.PeakRSSMiB == 0 {
		u.PeakRSSMiB = *v.LegacyPeak
	}
	if v.LegacyMean != nil && u.MeanRSSMiB == 0 {
		u.MeanRSSMiB = *v.LegacyMean
	}
	return nil
}

// PointResult is a job's outcome, written as summary.json.
type PointResult struct {
	Point       int             `json:"point"`
	Repeat      int             `json:"repeat"` // from 0 here; from 1 in summary.json, as in rep-<k>
	Label       string          `json:"label"`
	Start       time.Time       `json:"start"`
	End         time.Time       `json:"end"`
	Throughput  float64         `json:"throughput"`
	Completed   uint64          `json:"completed"`
	Errors      uint64          `json:"errors"`
	Latency     loadgen.Summary `json:"latency"`     // µs
	Uncorrected loadgen.Summary `json:"uncorrected"` // µs
	Replicas    []ReplicaUsage  `json:"replicas"`
	Timeline    []TimelineRow   `json:"-"`
}

// summaryVersion is written in summary.json as "version". Version 2 counts
// "repeat" from 1, as the rep-<k> directory and summary.csv do; files
// without a version (before 2026-12-04) count it from 0.
const summaryVersion = 2

// MarshalJSON writes summary.json: the repeat counted from 1, and the
// version that says so.
func (r PointResult) MarshalJSON() ([]byte, error) {
	type fields PointResult // without these methods
	return json.Marshal(struct {
		Version int `json:"version"`
		fields
		Repeat int `json:"repeat"`
	}{summaryVersion, fields(r), r.Repeat + 1})
}

// UnmarshalJSON reads summary.json of any version.
func (r *PointResult) UnmarshalJSON(data []byte) error {
	type fields PointResult
	var v struct {
		Version int `json:"version"`
		fields
		Repeat int `json:"repeat"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*r = PointResult(v.fields)
	r.Repeat = v.Repeat
	if v.Version >= 2 {
		r.Repeat--
	}
	return nil
}

// TimelineRow is one slot of the load generator's timeline (a second, or
// less at a phase's end) plus per-replica RSS and CPU in that slot.
type TimelineRow struct {
	loadgen.Second
	RSSMiB  []float64 // per replica, NaN when not sampled in this second
	CPUUtil []float64
}

const mib = 1 << 20

// buildResult joins the load generator's report with the replicas' samples.
func buildResult(job *Job, rep *node.ClientReport, n int, series map[string]procstat.Series) *PointResult {
	res := &PointResult{
		Point: job.Point, Repeat: job.Repeat, Label: job.Label, Start: rep.Start, End: rep.End,
		Throughput: rep.Throughput, Completed: rep.Completed, Errors: rep.Errors + rep.Mismatches,
		Latency: rep.Latency, Uncorrected: rep.Uncorrected,
	}
	from := rep.Start.Add(time.Duration(rep.Measure[0] * float64(time.Second)))
	to := rep.Start.Add(time.Duration(rep.Measure[1] * float64(time.Second)))
	res.Timeline = make([]TimelineRow, len(rep.Timeline))
	for i, s := range rep.Timeline {
		res.Timeline[i] = TimelineRow{Second: s, RSSMiB: nanSlice(n), CPUUtil: nanSlice(n)}
	}
	for id := 0; id < n; id++ {
		samples := series[strconv.Itoa(id)].Samples
		u := ReplicaUsage{ID: id, Samples: len(samples)}
		var sum, all float64
		var cnt int
		for i := range samples {
			s := &samples[i]
			u.PeakRSSMiB = math.Max(u.PeakRSSMiB, float64(s.HWM)/mib)
			all += float64(s.RSS)
			if !s.Time.Before(from) && !s.Time.After(to) {
				sum += float64(s.RSS)
				cnt++
			}
			if sec := slotAt(rep.Timeline, s.Time.Sub(rep.Start).Seconds()); sec >= 0 {
				res.Timeline[sec].RSSMiB[id] = float64(s.RSS) / mib
				if i > 0 {
					dt := s.Time.Sub(samples[i-1].Time).Seconds()
					if dt > 0 {
						res.Timeline[sec].CPUUtil[id] = (s.CPU - samples[i-1].CPU).Seconds() / dt
					}
				}
			}
		}
		switch {
		case cnt > 0:
			u.MeanRSSMiB = sum / float64(cnt) / mib
		case len(samples) > 0: // a window shorter than the sampling period
			u.MeanRSSMiB = all / float64(len(samples)) / mib
		}
		if c0, ok0 := cpuAt(samples, from); ok0 {
			if c1, ok1 := cpuAt(samples, to); ok1 {
				u.CPUSeconds = c1 - c0
				u.CPUUtil = u.CPUSeconds / to.Sub(from).Seconds()
			}
		}
		res.Replicas = append(res.Replicas, u)
	}
	return res
}

// cpuAt estimates a process's CPU seconds at time t by linear
// interpolation between the samples around t; samples are taken once a
// second, and measure windows need not start or end on one.
func cpuAt(samples []procstat.Sample, t time.Time) (float64, bool) {
	i := sort.Search(len(samples), func(i int) bool { return !samples[i].Time.Before(t) })
	switch {
	case i == len(samples) || (i == 0 && samples[0].Time.After(t)):
		return 0, false // no sample on one side of t
	case samples[i].Time.Equal(t):
		return samples[i].CPU.Seconds(), true
	}
	a, b := samples[i-1], samples[i]
	frac := t.Sub(a.Time).Seconds() / b.Time.Sub(a.Time).Seconds()
	return a.CPU.Seconds() + frac*(b.CPU-a.CPU).Seconds(), true
}

// slotAt returns the index of the timeline slot covering t seconds, or -1.
func slotAt(tl []loadgen.Second, t float64) int {
	i := sort.Search(len(tl), func(i int) bool { return tl[i].T+tl[i].Length > t })
	if i < len(tl) && tl[i].T <= t {
		return i
	}
	return -1
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// writeTimeline writes timeline.csv: one row per second of the job.
func writeTimeline(path string, res *PointResult) error {
	f, err := os.Create(path)
	if err != nil {
		return writeError(path, err)
	}
	w := csv.NewWriter(f)
	n := len(res.Replicas)
	head := []string{"t_s", "length_s", "phase", "ops", "errors", "throughput_ops", "mean_us", "p50_us", "p90_us", "p99_us", "max_us"}
	for i := 0; i < n; i++ {
		head = append(head, fmt.Sprintf("rss_mib_r%d", i), fmt.Sprintf("cpu_util_r%d", i))
	}
	_ = w.Write(head)
	for _, r := range res.Timeline {
		row := []string{round(r.T, 3), round(r.Length, 3), r.Phase, strconv.FormatUint(r.Ops, 10), strconv.FormatUint(r.Errors, 10),
			round(r.Throughput, 1), round(r.Mean, 1), round(r.P50, 1), round(r.P90, 1), round(r.P99, 1), round(r.Max, 1)}
		for i := 0; i < n; i++ {
			row = append(row, ftoa(r.RSSMiB[i], 2), ftoa(r.CPUUtil[i], 3))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return writeError(path, err)
	}
	if err := f.Close(); err != nil {
		return writeError(path, err)
	}
	return nil
}

// ftoa formats v with digits decimals; NaN (not sampled) becomes an empty cell.
func ftoa(v float64, digits int) string {
	if math.IsNaN(v) {
		return ""
	}
	return round(v, digits)
}

// summaryHeader is the fixed part of summary.csv's header; swept keys come
// after "label" and per-replica columns at the end, for maxReplicas replicas.
func summaryHeader(swept []string, maxReplicas int) []string {
	h := []string{"point", "repeat", "label"}
	h = append(h, swept...)
	h = append(h, "throughput_ops", "completed", "errors",
		"mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
		"rss_peak_mib_max", "cpu_s_total")
	for i := 0; i < maxReplicas; i++ {
		h = append(h, fmt.Sprintf("rss_peak_mib_r%d", i), fmt.Sprintf("rss_mean_mib_r%d", i), fmt.Sprintf("cpu_s_r%d", i))
	}
	return h
}

func summaryRow(res *PointResult, values []string, maxReplicas int) []string {
	row := []string{strconv.Itoa(res.Point), strconv.Itoa(res.Repeat + 1), res.Label}
	row = append(row, values...)
	var peak, cpu float64
	for _, u := range res.Replicas {
		peak = math.Max(peak, u.PeakRSSMiB)
		cpu += u.CPUSeconds
	}
	l := res.Latency
	row = append(row, round(res.Throughput, 1), strconv.FormatUint(res.Completed, 10), strconv.FormatUint(res.Errors, 10),
		round(l.Mean, 1), round(l.P50, 1), round(l.P90, 1), round(l.P99, 1), round(l.P999, 1), round(l.Max, 1),
		round(peak, 2), round(cpu, 3))
	for i := 0; i < maxReplicas; i++ {
		if i < len(res.Replicas) {
			u := res.Replicas[i]
			row = append(row, round(u.PeakRSSMiB, 2), round(u.MeanRSSMiB, 2), round(u.CPUSeconds, 3))
		} else {
			row = append(row, "", "", "")
		}
	}
	return row
}

func round(v float64, digits int) string { return strconv.FormatFloat(v, 'f', digits, 64) }

// writeCSV writes rows to path with header.
func writeCSV(path string, header []string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return writeError(path, err)
	}
	if err := writeCSVTo(f, header, rows); err != nil {
		f.Close()
		return writeError(path, err)
	}
	if err := f.Close(); err != nil {
		return writeError(path, err)
	}
	return nil
}

func writeCSVTo(out io.Writer, header []string, rows [][]string) error {
	w := csv.NewWriter(out)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	return w.Error()
}
