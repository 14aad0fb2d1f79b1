package analysis

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/experiments"
)

// Run is one results directory as `replbench run` wrote it.
type Run struct {
	Dir         string // as given
	Name        string // the spec's name
	ID          string // the run id: the directory's base name
	Label       string // names the run where several are drawn together
	Description string
	Meta        Meta
	Swept       []string             // swept key paths, in sweep order
	Figures     []experiments.Figure // the spec's figures section; nil when it has none
	Points      []*Point             // in index order; only points with a finished repeat
	// Problems lists each file that was missing or wrong, one line each;
	// everything else was loaded.
	Problems []error
}

// Meta is what meta.json records about the run.
type Meta struct {
	Version   string    `json:"version"`
	GitCommit string    `json:"git_commit"`
	GitDirty  bool      `json:"git_dirty"`
	GoVersion string    `json:"go_version"`
	CPU       string    `json:"cpu_model"`
	Cores     int       `json:"cores"`
	Hostname  string    `json:"hostname"`
	Seed      uint64    `json:"seed"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Finished  bool      `json:"finished"`
	Sessions  []struct {
		Start     time.Time `json:"start"`
		End       time.Time `json:"end"`
		GitCommit string    `json:"git_commit"`
		GitDirty  bool      `json:"git_dirty"`
	} `json:"sessions"` // the run and each --resume of it
}

// Point is one point of the sweep with its finished repeats.
type Point struct {
	Index    int
	Label    string            // e.g. "load.clients=4,load.payload=1KiB"
	Values   map[string]string // swept key -> value as written in the spec
	Dir      string            // the point's directory; "" when not found
	Protocol string            // from expanded.yaml; "" when unknown
	Measured float64           // seconds measured per repeat; 0 when unknown
	Repeats  []*Repeat         // in repeat order
}

// Repeat is one run of a point: a row of summary.csv. Figures a file did
// not have are NaN.
type Repeat struct {
	N          int    // from 1
	Dir        string // points/<point>/rep-<N>; "" when the point's directory is unknown
	Throughput float64
	Completed  float64
	Errors     float64
	Latency    Latency
	PeakRSSMax float64 // MiB, the largest peak over the replicas
	CPUTotal   float64 // CPU seconds of all replicas in the measure window
	Replicas   []Replica
}

// Latency is a repeat's latency summary in microseconds.
type Latency struct {
	Mean, P50, P90, P99, P999, Max float64
}

// Replica is one replica's resource use in a repeat.
type Replica struct {
	PeakRSSMiB float64 // MiB (2^20 bytes), the kernel's high-water mark
	MeanRSSMiB float64 // MiB, mean over the measure window
	CPUSeconds float64 // user+system in the measure window
}

// Load reads the results directory dir. Problems with single files are
// collected in Run.Problems and loading goes on; the error is for a
// directory that holds no results at all.
func Load(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("results directory %w", fileError(dir, err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("results directory %s: not a directory", dir)
	}
	abs, _ := filepath.Abs(dir)
	r := &Run{Dir: dir, ID: filepath.Base(abs)}
	r.loadMeta()
	r.loadSpec()
	points := r.loadExpanded()
	rows, ok := r.loadSummaryCSV()
	if !ok {
		rows = r.loadSummaryJSON(points)
	}
	if len(rows) == 0 {
		if len(r.Problems) > 0 {
			return nil, fmt.Errorf("results directory %s: no finished point could be read: %w", dir, errors.Join(r.Problems...))
		}
		return nil, fmt.Errorf("results directory %s: no finished point (summary.csv has no rows)", dir)
	}
	r.assemble(rows, points)
	if r.Name == "" {
		r.Name = filepath.Base(filepath.Dir(abs))
	}
	r.Label = r.Name + "/" + r.ID
	return r, nil
}

func (r *Run) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Errorf(format, args...))
}

func (r *Run) path(name string) string { return filepath.Join(r.Dir, name) }

// readFile reads a file of the run, noting a problem when it cannot.
func (r *Run) readFile(name string) ([]byte, bool) {
	data, err := os.ReadFile(r.path(name))
	if err != nil {
		r.Problems = append(r.Problems, fileError(r.path(name), err))
		return nil, false
	}
	return data, true
}

func (r *Run) loadMeta() {
	data, ok := r.readFile("meta.json")
	if !ok {
		return
	}
	var m struct {
		Meta
		Spec string `json:"spec"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		r.problem("%s: not valid JSON: %v", r.path("meta.json"), err)
		return
	}
	r.Meta, r.Name = m.Meta, m.Spec
}

// loadSpec reads the name, description and figures of spec.yaml. It does
// not validate the spec: results outlive the version that wrote them.
func (r *Run) loadSpec() {
	data, ok := r.readFile("spec.yaml")
	if !ok {
		return
	}
	var s struct {
		Name        string    `yaml:"name"`
		Description string    `yaml:"description"`
		Figures     yaml.Node `yaml:"figures"`
	}
	if err := yaml.Unmarshal(data, &s); err != nil {
		r.problem("%s: not valid YAML: %v", r.path("spec.yaml"), oneLine(err))
		return
	}
	if s.Name != "" {
		r.Name = s.Name
	}
	r.Description = s.Description
	if s.Figures.Kind == 0 {
		return
	}
	for i, n := range s.Figures.Content {
		var f experiments.Figure
		if err := n.Decode(&f); err != nil || f.X == "" || f.Y == "" {
			r.problem("%s:%d: figures[%d]: want {x: KEY, y: METRIC, series: KEY}", r.path("spec.yaml"), n.Line, i)
			continue
		}
		r.Figures = append(r.Figures, f)
	}
	if s.Figures.Kind != yaml.SequenceNode {
		r.problem("%s:%d: figures: want a list of {x, y, series}", r.path("spec.yaml"), s.Figures.Line)
	}
}

// expandedPoint is what the analysis needs of a point in expanded.yaml.
type expandedPoint struct {
	Index  int       `yaml:"index"`
	Label  string    `yaml:"label"`
	Dir    string    `yaml:"dir"`
	Values yaml.Node `yaml:"values"`
	Config struct {
		Protocol string `yaml:"protocol"`
		Duration string `yaml:"duration"`
		Warmup   string `yaml:"warmup"`
		Cooldown string `yaml:"cooldown"`
	} `yaml:"config"`
	keys, values []string
	measured     float64
}

func (r *Run) loadExpanded() map[int]*expandedPoint {
	data, ok := r.readFile("expanded.yaml")
	if !ok {
		return nil
	}
	var list []*expandedPoint
	if err := yaml.Unmarshal(data, &list); err != nil {
		r.problem("%s: not valid YAML: %v", r.path("expanded.yaml"), oneLine(err))
		return nil
	}
	points := make(map[int]*expandedPoint, len(list))
	for _, p := range list {
		if p == nil {
			continue
		}
		for i := 0; i+1 < len(p.Values.Content); i += 2 {
			p.keys = append(p.keys, p.Values.Content[i].Value)
			p.values = append(p.values, p.Values.Content[i+1].Value)
		}
		c := p.Config
		d, err1 := time.ParseDuration(c.Duration)
		w, err2 := time.ParseDuration(c.Warmup)
		cd, err3 := time.ParseDuration(c.Cooldown)
		if err1 == nil && err2 == nil && err3 == nil && d > w+cd {
			p.measured = (d - w - cd).Seconds()
		}
		points[p.Index] = p
	}
	return points
}

// row is one finished repeat as read from summary.csv or summary.json.
type row struct {
	point  int
	label  string
	keys   []string
	values []string
	rep    *Repeat
	where  string // file and line, for messages
}

// metricColumns are summary.csv's columns after the swept keys.
var metricColumns = []string{"throughput_ops", "completed", "errors", "mean_us", "p50_us", "p90_us",
	"p99_us", "p999_us", "max_us", "rss_peak_mib_max", "cpu_s_total"}

// loadSummaryCSV reads summary.csv by its header's names, so columns may
// be added or reordered. It reports false when the file is missing or its
// header unusable, so that the caller falls back to the points' JSON.
func (r *Run) loadSummaryCSV() ([]row, bool) {
	name := r.path("summary.csv")
	f, err := os.Open(name)
	if err != nil {
		r.problem("%v; reading points/*/rep-*/summary.json instead", fileError(name, err))
		return nil, false
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty")
		}
		r.problem("%s: no header: %v; reading points/*/rep-*/summary.json instead", name, err)
		return nil, false
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[canonicalColumn(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"point", "repeat", "label", "throughput_ops"} {
		if _, ok := col[need]; !ok {
			r.problem("%s: the header has no column %q; reading points/*/rep-*/summary.json instead", name, need)
			return nil, false
		}
	}
	// The swept keys sit between "label" and the first metric column.
	end := len(header)
	for _, m := range metricColumns {
		if i, ok := col[m]; ok && i < end {
			end = i
		}
	}
	var keys []string
	if start := col["label"] + 1; start < end {
		keys = header[start:end]
	}
	for _, m := range metricColumns {
		if _, ok := col[m]; !ok {
			r.problem("%s: the header has no column %q; figures of it stay empty", name, m)
		}
	}

	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		where := fmt.Sprintf("%s:%d", name, line)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.Line > pe.StartLine { // an open quote ran on
					r.problem("%s:%d-%d: %v; rows skipped", name, pe.StartLine, pe.Line, pe.Err)
				} else {
					r.problem("%s:%d: %v; row skipped", name, pe.StartLine, pe.Err)
				}
				continue
			}
			r.problem("%s: %v", name, err)
			break
		}
		if len(rec) != len(header) {
			r.problem("%s: %d fields, the header has %d; row skipped", where, len(rec), len(header))
			continue
		}
		rw, ok := r.parseRow(rec, col, keys, where)
		if ok {
			rows = append(rows, rw)
		}
	}
	return rows, true
}

func (r *Run) parseRow(rec []string, col map[string]int, keys []string, where string) (row, bool) {
	point, err1 := strconv.Atoi(rec[col["point"]])
	n, err2 := strconv.Atoi(rec[col["repeat"]])
	if err1 != nil || err2 != nil || point < 0 || n < 1 {
		r.problem("%s: point %q, repeat %q: want a point index and a repeat from 1; row skipped", where, rec[col["point"]], rec[col["repeat"]])
		return row{}, false
	}
	num := func(c string) float64 {
		i, ok := col[c]
		if !ok || strings.TrimSpace(rec[i]) == "" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
		if err != nil {
			r.problem("%s: column %s: %q is not a number; left out", where, c, rec[i])
			return math.NaN()
		}
		return v
	}
	rep := &Repeat{
		N: n, Throughput: num("throughput_ops"), Completed: num("completed"), Errors: num("errors"),
		Latency: Latency{Mean: num("mean_us"), P50: num("p50_us"), P90: num("p90_us"),
			P99: num("p99_us"), P999: num("p999_us"), Max: num("max_us")},
		PeakRSSMax: num("rss_peak_mib_max"), CPUTotal: num("cpu_s_total"),
	}
	noLatency(rep)
	for i := 0; ; i++ {
		peak, mean, cpu := fmt.Sprintf("rss_peak_mib_r%d", i), fmt.Sprintf("rss_mean_mib_r%d", i), fmt.Sprintf("cpu_s_r%d", i)
		_, ok1 := col[peak]
		_, ok2 := col[cpu]
		if !ok1 && !ok2 {
			break
		}
		u := Replica{PeakRSSMiB: num(peak), MeanRSSMiB: num(mean), CPUSeconds: num(cpu)}
		if math.IsNaN(u.PeakRSSMiB) && math.IsNaN(u.MeanRSSMiB) && math.IsNaN(u.CPUSeconds) {
			break // a point with fewer replicas than the run's largest
		}
		rep.Replicas = append(rep.Replicas, u)
	}
	values := make([]string, len(keys))
	for i, k := range keys {
		values[i] = rec[col[k]]
	}
	return row{point: point, label: rec[col["label"]], keys: keys, values: values, rep: rep, where: where}, true
}

// pointJSON is what the analysis needs of a repeat's summary.json.
type pointJSON struct {
	Version    int     `json:"version"` // 2 and on: repeat counts from 1
	Point      int     `json:"point"`
	Repeat     int     `json:"repeat"` // from 0 in files without a version
	Label      string  `json:"label"`
	Throughput float64 `json:"throughput"`
	Completed  float64 `json:"completed"`
	Errors     float64 `json:"errors"`
	Latency    struct {
		Mean float64 `json:"mean"`
		P50  float64 `json:"p50"`
		P90  float64 `json:"p90"`
		P99  float64 `json:"p99"`
		P999 float64 `json:"p999"`
		Max  float64 `json:"max"`
	} `json:"latency"`
	Replicas []struct {
		PeakRSSMiB float64 `json:"peak_rss_mib"`
		MeanRSSMiB float64 `json:"mean_rss_mib"`
		CPUSeconds float64 `json:"cpu_seconds"`
		// The same in MiB under their names before 2026-11-21.
		LegacyPeakRSS float64 `json:"peak_rss_mb"`
		LegacyMeanRSS float64 `json:"mean_rss_mb"`
	} `json:"replicas"`
}

// canonicalColumn maps the memory columns' names before 2026-11-21
// (rss_peak_mb_max, rss_peak_mb_r<i>, rss_mean_mb_r<i>, rss_mb_r<i>), which
// held MiB all along, to their names now, so older results load alike.
func canonicalColumn(name string) string {
	for _, stem := range []string{"rss_peak_mb_", "rss_mean_mb_", "rss_mb_"} {
		if rest, ok := strings.CutPrefix(name, stem); ok {
			return strings.TrimSuffix(stem, "mb_") + "mib_" + rest
		}
	}
	return name
}

// loadSummaryJSON rebuilds summary.csv's rows from each repeat's
// summary.json, for a run that stopped before writing summary.csv.
func (r *Run) loadSummaryJSON(points map[int]*expandedPoint) []row {
	files, _ := filepath.Glob(filepath.Join(r.Dir, "points", "*", "rep-*", "summary.json"))
	sort.Strings(files)
	var rows []row
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			r.Problems = append(r.Problems, fileError(name, err))
			continue
		}
		var pj pointJSON
		if err := json.Unmarshal(data, &pj); err != nil {
			r.problem("%s: not valid JSON: %v", name, err)
			continue
		}
		n := pj.Repeat
		if pj.Version < 2 {
			n++
		}
		rep := &Repeat{
			N: n, Throughput: pj.Throughput, Completed: pj.Completed, Errors: pj.Errors,
			Latency: Latency(pj.Latency), PeakRSSMax: math.NaN(), CPUTotal: 0,
		}
		noLatency(rep)
		for _, u := range pj.Replicas {
			if u.PeakRSSMiB == 0 && u.MeanRSSMiB == 0 {
				u.PeakRSSMiB, u.MeanRSSMiB = u.LegacyPeakRSS, u.LegacyMeanRSS
			}
			rep.Replicas = append(rep.Replicas, Replica{PeakRSSMiB: u.PeakRSSMiB, MeanRSSMiB: u.MeanRSSMiB, CPUSeconds: u.CPUSeconds})
			rep.PeakRSSMax = max(nanToZero(rep.PeakRSSMax), u.PeakRSSMiB)
			rep.CPUTotal += u.CPUSeconds
		}
		rw := row{point: pj.Point, label: pj.Label, rep: rep, where: name}
		if ep, ok := points[pj.Point]; ok {
			rw.keys, rw.values = ep.keys, ep.values
		} else {
			rw.keys, rw.values = parseLabel(pj.Label)
		}
		rows = append(rows, rw)
	}
	return rows
}

// parseLabel splits a point label "k=v,k=v" into keys and values.
func parseLabel(label string) (keys, values []string) {
	if label == "" || label == "base" {
		return nil, nil
	}
	for _, kv := range strings.Split(label, ",") {
		k, v, _ := strings.Cut(kv, "=")
		keys, values = append(keys, k), append(values, v)
	}
	return keys, values
}

// assemble groups rows into points and finds each point's directory.
func (r *Run) assemble(rows []row, expanded map[int]*expandedPoint) {
	byIndex := map[int]*Point{}
	seen := map[[2]int]bool{}
	for _, rw := range rows {
		if len(r.Swept) == 0 {
			r.Swept = rw.keys
		}
		if seen[[2]int{rw.point, rw.rep.N}] {
			r.problem("%s: point %d repeat %d appears twice; the first is kept", rw.where, rw.point, rw.rep.N)
			continue
		}
		seen[[2]int{rw.point, rw.rep.N}] = true
		p := byIndex[rw.point]
		if p == nil {
			p = &Point{Index: rw.point, Label: rw.label, Values: map[string]string{}}
			for i, k := range rw.keys {
				p.Values[k] = rw.values[i]
			}
			if ep, ok := expanded[rw.point]; ok {
				p.Dir = filepath.Join(r.Dir, "points", ep.Dir)
				p.Protocol, p.Measured = ep.Config.Protocol, ep.measured
			} else {
				p.Dir = r.findPointDir(rw.point)
			}
			byIndex[rw.point] = p
			r.Points = append(r.Points, p)
		}
		if p.Dir != "" {
			rw.rep.Dir = filepath.Join(p.Dir, fmt.Sprintf("rep-%d", rw.rep.N))
		}
		p.Repeats = append(p.Repeats, rw.rep)
	}
	for _, k := range r.Swept {
		for _, p := range r.Points {
			if _, ok := p.Values[k]; !ok {
				r.problem("%s: point %d has no value for swept key %s", r.path("summary.csv"), p.Index, k)
				p.Values[k] = ""
			}
		}
	}
	sort.Slice(r.Points, func(i, j int) bool { return r.Points[i].Index < r.Points[j].Index })
	for _, p := range r.Points {
		sort.Slice(p.Repeats, func(i, j int) bool { return p.Repeats[i].N < p.Repeats[j].N })
	}
}

// findPointDir finds points/p<index>-... when expanded.yaml could not say.
func (r *Run) findPointDir(index int) string {
	prefix := fmt.Sprintf("p%03d", index)
	entries, _ := os.ReadDir(r.path("points"))
	for _, e := range entries {
		if e.IsDir() && (e.Name() == prefix || strings.HasPrefix(e.Name(), prefix+"-")) {
			return filepath.Join(r.Dir, "points", e.Name())
		}
	}
	return ""
}

// Varying returns the swept keys that take more than one value among the
// run's points, in sweep order.
func (r *Run) Varying() []string {
	var out []string
	for _, k := range r.Swept {
		var first string
		for i, p := range r.Points {
			if i == 0 {
				first = p.Values[k]
			} else if p.Values[k] != first {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// Replicas returns the largest number of replicas any repeat reported.
func (r *Run) Replicas() int {
	n := 0
	for _, p := range r.Points {
		for _, rep := range p.Repeats {
			n = max(n, len(rep.Replicas))
		}
	}
	return n
}

// noLatency blanks the latency of a repeat that completed nothing: the
// zeros written for it are no measurement.
func noLatency(r *Repeat) {
	if r.Completed == 0 {
		nan := math.NaN()
		r.Latency = Latency{nan, nan, nan, nan, nan, nan}
	}
}

func nanToZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// oneLine keeps a parser's message to one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// hasKey reports whether key is swept in the run.
func (r *Run) hasKey(key string) bool { return slices.Contains(r.Swept, key) }
