package analysis

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// writeTables writes summary.md, aggregate.csv and latency-dist.csv: the
// numbers behind every figure.
func (d *drawing) writeTables() {
	d.writeFile("aggregate.csv", d.aggregateCSV())
	d.writeFile("latency-dist.csv", d.distCSV())
	// summary.md last: it lists the problems of everything before it.
	d.writeFile("summary.md", d.summaryMD())
}

func (d *drawing) writeFile(name string, data []byte) {
	path := filepath.Join(d.opt.Out, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		d.problem(unwritten(path, err))
		return
	}
	d.rep.Files = append(d.rep.Files, path)
}

// sweptUnion lists every run's swept keys, in order of first appearance.
func (d *drawing) sweptUnion() []string {
	var keys []string
	seen := map[string]bool{}
	for _, r := range d.runs {
		for _, k := range r.Swept {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// csvNumber writes v to four decimals at most; NaN is an empty cell.
func csvNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// aggregateCSV has one row per run and point: swept values, repeats and,
// for every metric and every replica, mean, standard deviation and the
// half-width of the 95% confidence interval.
func (d *drawing) aggregateCSV() []byte {
	keys := d.sweptUnion()
	replicas := 0
	for _, r := range d.runs {
		replicas = max(replicas, r.Replicas())
	}
	head := append([]string{"run", "point", "label"}, keys...)
	head = append(head, "repeats")
	for _, m := range metrics {
		head = append(head, m.Column+"_mean", m.Column+"_sd", m.Column+"_ci95")
	}
	for i := 0; i < replicas; i++ {
		for _, c := range []string{"rss_peak_mib", "cpu_cores"} {
			stem := fmt.Sprintf("%s_r%d", c, i)
			head = append(head, stem+"_mean", stem+"_sd", stem+"_ci95")
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(head)
	for _, r := range d.runs {
		for _, p := range r.Points {
			row := []string{r.Label, strconv.Itoa(p.Index), p.Label}
			for _, k := range keys {
				row = append(row, p.Values[k])
			}
			row = append(row, strconv.Itoa(len(p.Repeats)))
			for _, m := range metrics {
				s := p.Stat(m)
				row = append(row, csvNumber(s.Mean), csvNumber(s.SD), csvNumber(s.CI95))
			}
			for i := 0; i < replicas; i++ {
				rss, cpu := p.ReplicaStat(i)
				for _, s := range []Stat{rss, cpu} {
					row = append(row, csvNumber(s.Mean), csvNumber(s.SD), csvNumber(s.CI95))
				}
			}
			_ = w.Write(row)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// distCSV holds the curves of the latency distribution figures.
func (d *drawing) distCSV() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"run", "point", "curve", "percentile", "latency_us"})
	for _, r := range d.dist {
		_ = w.Write([]string{d.runs[r.run].Label, strconv.Itoa(r.point), r.label,
			strconv.FormatFloat(r.percentile, 'f', -1, 64), strconv.FormatInt(r.valueUS, 10)})
	}
	w.Flush()
	return buf.Bytes()
}

// decimals picks how many decimals show a number of this size readably.
func decimals(v float64) int {
	a := math.Abs(v)
	switch {
	case a >= 100 || a == 0:
		return 0
	case a >= 10:
		return 1
	}
	return 2
}

// meanSD writes "mean ± sd" with the mean's precision; one repeat shows
// the mean alone. Counts show whole numbers when they are.
func meanSD(s Stat, count bool) string {
	if s.N == 0 {
		return "–"
	}
	dec := decimals(s.Mean)
	if count && s.Mean == math.Trunc(s.Mean) && (s.N < 2 || s.SD == math.Trunc(s.SD)) {
		dec = 0
	}
	if s.N < 2 {
		return strconv.FormatFloat(s.Mean, 'f', dec, 64)
	}
	return strconv.FormatFloat(s.Mean, 'f', dec, 64) + " ± " + strconv.FormatFloat(s.SD, 'f', dec, 64)
}

// mdEscape keeps a cell's text from breaking a Markdown table.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// summaryMD is the run's report: where it ran, one row per point, the
// figures and the problems met.
func (d *drawing) summaryMD() []byte {
	var b strings.Builder
	for i, r := range d.runs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# %s, run %s\n\n", r.Name, r.ID)
		if len(d.runs) > 1 {
			fmt.Fprintf(&b, "Labelled **%s** in the figures; results in `%s`.\n\n", r.Label, r.Dir)
		}
		if r.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", r.Description)
		}
		writeMeta(&b, r)
		b.WriteString("Means over repeats ± one standard deviation (n: repeats). Latency in µs from the intended send time; " +
			"peak RSS in MiB, the largest replica's; CPU in cores busy, all replicas together, during the measure window.\n\n")
		cols := []string{"point"}
		cols = append(cols, r.Swept...)
		cols = append(cols, "n", "throughput (ops/s)", "p50 (µs)", "p99 (µs)", "p99.9 (µs)", "errors", "peak RSS (MiB)", "CPU (cores)")
		fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat("---:|", len(cols)))
		for _, p := range r.Points {
			cells := []string{strconv.Itoa(p.Index)}
			for _, k := range r.Swept {
				cells = append(cells, mdEscape(p.Values[k]))
			}
			cells = append(cells, strconv.Itoa(len(p.Repeats)))
			for _, key := range []string{"throughput", "latency.p50", "latency.p99", "latency.p999", "errors", "rss", "cpu"} {
				m, _ := MetricByKey(key)
				cells = append(cells, meanSD(p.Stat(m), key == "errors"))
			}
			fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	if len(d.figures) > 0 {
		b.WriteString("\n## Figures\n\n")
		for _, f := range d.figures {
			link := f.name + "." + d.opt.Formats[0]
			fmt.Fprintf(&b, "- [%s](%s)\n", mdEscape(f.title), filepath.ToSlash(link))
		}
		b.WriteString("\nThe numbers behind them: `aggregate.csv` (mean, standard deviation and 95% confidence interval per point), " +
			"`latency-dist.csv` (the distribution curves) and each point's `timeline.csv`.\n")
	}
	if len(d.rep.Problems) > 0 {
		b.WriteString("\n## Problems\n\nThese files were missing or wrong; the figures leave out what they would have shown.\n\n")
		for _, p := range d.rep.Problems {
			fmt.Fprintf(&b, "- %s\n", mdEscape(p.Error()))
		}
	}
	return []byte(b.String())
}

func writeMeta(b *strings.Builder, r *Run) {
	m := r.Meta
	if m.Start.IsZero() {
		return
	}
	short := func(commit string, dirty bool) string {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if dirty {
			commit += " (with uncommitted changes)"
		}
		return commit
	}
	commit := short(m.GitCommit, m.GitDirty)
	state := "finished"
	if !m.Finished {
		state = "stopped before every point ran"
	}
	took := ""
	if !m.End.IsZero() {
		took = fmt.Sprintf(", took %s", m.End.Sub(m.Start).Round(1e9))
	}
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| started | %s UTC, %s%s |\n", m.Start.UTC().Format("2006-01-02 15:04:05"), state, took)
	fmt.Fprintf(b, "| commit | %s |\n", commit)
	if len(m.Sessions) > 1 {
		var ss []string
		for _, s := range m.Sessions {
			ss = append(ss, fmt.Sprintf("%s UTC (commit %s)", s.Start.UTC().Format("2006-01-02 15:04:05"), short(s.GitCommit, s.GitDirty)))
		}
		fmt.Fprintf(b, "| sessions | %d, resumed with --resume: %s |\n", len(m.Sessions), strings.Join(ss, "; "))
	}
	fmt.Fprintf(b, "| replbench | %s, %s |\n", m.Version, m.GoVersion)
	fmt.Fprintf(b, "| machine | %s, %d cores, host %s |\n", mdEscape(m.CPU), m.Cores, mdEscape(m.Hostname))
	fmt.Fprintf(b, "| seed | %d |\n\n", m.Seed)
}
