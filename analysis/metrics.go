package analysis

import (
	"math"
	"strings"
)

// Metric is a number measured per repeat that a figure can plot: the y of
// a spec's figures entry, or its x for curves such as latency against
// throughput.
type Metric struct {
	Key    string // as written in a spec's figures section, e.g. "latency.p99"
	Column string // column stem in aggregate.csv, unit included, e.g. "p99_us"
	Name   string // axis label without the unit, e.g. "p99 latency"
	Unit   string // "ops/s", "µs", "MiB", "cores" or "" for counts
	of     func(p *Point, r *Repeat) float64
}

var metrics = []Metric{
	{"throughput", "throughput_ops", "throughput", "ops/s", func(_ *Point, r *Repeat) float64 { return r.Throughput }},
	{"latency.mean", "mean_us", "mean latency", "µs", func(_ *Point, r *Repeat) float64 { return r.Latency.Mean }},
	{"latency.p50", "p50_us", "p50 latency", "µs", func(_ *Point, r *Repeat) float64 { return r.Latency.P50 }},
	{"latency.p90", "p90_us", "p90 latency", "µs", func(_ *Point, r *Repeat) float64 { return r.Latency.P90 }},
	{"latency.p99", "p99_us", "p99 latency", "µs", func(_ *Point, r *Repeat) float64 { return r.Latency.P99 }},
	{"latency.p999", "p999_us", "p99.9 latency", "µs", func(_ *Point, r *Repeat) float64 { return r.Latency.P999 }},
	{"latency.max", "max_us", "max latency", "µs", func(_ *Point, r *Repeat) float64 { return r.Latency.Max }},
	{"errors", "errors", "errors", "", func(_ *Point, r *Repeat) float64 { return r.Errors }},
	{"rss", "rss_peak_mib", "peak RSS, largest replica", "MiB", func(_ *Point, r *Repeat) float64 { return r.PeakRSSMax }},
	{"rss.mean", "rss_mean_mib", "mean RSS per replica", "MiB", meanRSS},
	{"cpu", "cpu_cores", "CPU, all replicas", "cores", func(p *Point, r *Repeat) float64 { return cores(p, r, r.CPUTotal) }},
}

// latencyPair is the y of figures that draw p50 and p99 together.
const latencyPair = "latency"

// MetricByKey finds a metric by its key in a spec's figures section.
func MetricByKey(key string) (Metric, bool) {
	for _, m := range metrics {
		if m.Key == key {
			return m, true
		}
	}
	return Metric{}, false
}

func metricKeys() string {
	keys := []string{latencyPair}
	for _, m := range metrics {
		keys = append(keys, m.Key)
	}
	return strings.Join(keys, ", ")
}

// Stat aggregates metric m over the point's repeats.
func (p *Point) Stat(m Metric) Stat {
	xs := make([]float64, len(p.Repeats))
	for i, r := range p.Repeats {
		xs[i] = m.of(p, r)
	}
	return Aggregate(xs)
}

// ReplicaStat aggregates replica i's peak RSS (MiB) and CPU (cores busy in
// the measure window) over the point's repeats.
func (p *Point) ReplicaStat(i int) (rss, cpu Stat) {
	var rs, cs []float64
	for _, r := range p.Repeats {
		if i < len(r.Replicas) {
			rs = append(rs, r.Replicas[i].PeakRSSMiB)
			cs = append(cs, cores(p, r, r.Replicas[i].CPUSeconds))
		}
	}
	return Aggregate(rs), Aggregate(cs)
}

// cores turns CPU seconds in the measure window into cores busy. The
// window comes from expanded.yaml, or else from completions / throughput.
func cores(p *Point, r *Repeat, seconds float64) float64 {
	window := p.Measured
	if window <= 0 && r.Throughput > 0 {
		window = r.Completed / r.Throughput
	}
	if window <= 0 || math.IsNaN(window) {
		return math.NaN()
	}
	return seconds / window
}

func meanRSS(_ *Point, r *Repeat) float64 {
	var sum float64
	n := 0
	for _, u := range r.Replicas {
		if !math.IsNaN(u.MeanRSSMiB) {
			sum += u.MeanRSSMiB
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
