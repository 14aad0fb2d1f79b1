package analysis

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/replbench/replbench/experiments"
)

// ErrorBars says what the error bars of the figures span.
type ErrorBars int

const (
	SD   ErrorBars = iota // ± one sample standard deviation over the repeats
	CI95                  // the 95% confidence interval of the mean (Student's t)
)

// ParseErrorBars reads "sd" or "ci95".
func ParseErrorBars(s string) (ErrorBars, error) {
	switch s {
	case "sd":
		return SD, nil
	case "ci95":
		return CI95, nil
	}
	return SD, fmt.Errorf("error bars %q: want sd or ci95", s)
}

func (e ErrorBars) String() string {
	if e == CI95 {
		return "95% confidence interval of the mean"
	}
	return "±1 standard deviation"
}

// Options says where and how to draw.
type Options struct {
	// Out is the directory for figures and tables; by default the figures
	// directory of the (first) results directory.
	Out string
	// Formats lists file formats among Formats; by default all of them.
	Formats   []string
	ErrorBars ErrorBars
	// Labels name the results directories in overlaid figures, in order;
	// by default each run's spec name, or its run id where names repeat.
	Labels []string
}

// Report is what Draw wrote and what it could not read.
type Report struct {
	Out      string
	Files    []string // every file written, figures and tables
	Problems []error  // one line each: a file missing or wrong, a figure that could not be drawn
	// Unwritten lists the files that could not be written (also among
	// Problems), each an *UnwrittenError naming the file and the cause.
	Unwritten []error
}

// Draw loads the results directories and writes to opt.Out the figures of
// docs/figures.md and the tables summary.md, aggregate.csv and
// latency-dist.csv. Several directories are overlaid in the figures that
// compare points and written one after another in the tables. A missing or
// corrupt file becomes a problem in the report and everything else is
// still drawn; the error is for when nothing could be: no directory loaded,
// or the output directory cannot be written.
func Draw(dirs []string, opt Options) (*Report, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no results directory given")
	}
	rep := &Report{}
	var runs []*Run
	var fatal []error
	for _, d := range dirs {
		r, err := Load(d)
		if err != nil {
			fatal = append(fatal, err)
			continue
		}
		rep.Problems = append(rep.Problems, r.Problems...)
		runs = append(runs, r)
	}
	rep.Problems = append(fatal, rep.Problems...)
	if len(runs) == 0 {
		return rep, errors.Join(fatal...)
	}
	if len(opt.Labels) > 0 && len(opt.Labels) != len(dirs) {
		return rep, fmt.Errorf("%d labels for %d results directories", len(opt.Labels), len(dirs))
	}
	labelRuns(runs, dirs, opt.Labels)
	if opt.Out == "" {
		opt.Out = filepath.Join(runs[0].Dir, "figures")
	}
	if len(opt.Formats) == 0 {
		opt.Formats = Formats
	}
	for _, f := range opt.Formats {
		if !slices.Contains(Formats, f) {
			return rep, fmt.Errorf("format %q: want some of %s", f, strings.Join(Formats, ", "))
		}
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		err = fmt.Errorf("output directory: %w", unwritten(opt.Out, err))
		rep.Unwritten = append(rep.Unwritten, err)
		return rep, err
	}
	rep.Out = opt.Out

	d := &drawing{runs: runs, opt: opt, rep: rep}
	specs := d.figureSpecs()
	for _, s := range specs {
		d.save(d.lineFigure(s))
	}
	d.latencyDistributions(primaryX(specs))
	for _, r := range runs {
		prefix := ""
		if len(runs) > 1 {
			prefix = slug(r.Label) + "/"
		}
		d.save(d.replicaBars(r, prefix, false))
		d.save(d.replicaBars(r, prefix, true))
		for _, p := range r.Points {
			d.save(d.timeline(r, p, prefix))
		}
	}
	d.writeTables()
	return rep, nil
}

// labelRuns names the runs: as given, else by spec name, else by run id
// where several runs share a spec.
func labelRuns(runs []*Run, dirs, labels []string) {
	if len(labels) > 0 {
		i := 0
		for j, d := range dirs {
			if i < len(runs) && runs[i].Dir == d {
				runs[i].Label = labels[j]
				i++
			}
		}
		return
	}
	names := map[string]int{}
	for _, r := range runs {
		names[r.Name]++
	}
	used := map[string]int{}
	for _, r := range runs {
		r.Label = r.Name
		if names[r.Name] > 1 {
			r.Label = r.ID
		}
		if used[r.Label]++; used[r.Label] > 1 { // the same directory twice
			r.Label = fmt.Sprintf("%s #%d", r.Label, used[r.Label])
		}
	}
}

// drawing is one call of Draw: what it loaded and what it has written.
type drawing struct {
	runs []*Run
	opt  Options
	rep  *Report
	// figures lists the figures written, for summary.md.
	figures []*figure
	dist    []distRow // the numbers behind the latency distributions
}

// problem notes err once, however many figures meet it; a file that could
// not be written is listed in Unwritten too.
func (d *drawing) problem(err error) {
	for _, p := range d.rep.Problems {
		if p.Error() == err.Error() {
			return
		}
	}
	d.rep.Problems = append(d.rep.Problems, err)
	if errors.As(err, new(*UnwrittenError)) {
		d.rep.Unwritten = append(d.rep.Unwritten, err)
	}
}

func (d *drawing) save(f *figure) {
	if f == nil {
		return
	}
	path := filepath.Join(d.opt.Out, f.name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		d.problem(unwritten(filepath.Dir(path), err))
		return
	}
	files, err := f.save(path, d.opt.Formats)
	d.rep.Files = append(d.rep.Files, files...)
	if err != nil {
		d.problem(err)
		return
	}
	d.figures = append(d.figures, f)
}

// figureSpecs collects the spec's figures of every run, checks their
// names, and adds the figures every run gets: throughput and latency (p50
// and p99) over each x and series named, and latency against throughput
// along the load key. Without a figures section, x is a load key or the
// first varying key, series the next varying key.
func (d *drawing) figureSpecs() []experiments.Figure {
	var given []experiments.Figure
	seen := map[experiments.Figure]bool{}
	for _, r := range d.runs {
		for i, f := range r.Figures {
			from := fmt.Sprintf("%s: figures[%d]", filepath.Join(r.Dir, "spec.yaml"), i)
			if err := d.checkFigure(f); err != nil {
				d.problem(fmt.Errorf("%s: %v; figure left out", from, err))
				continue
			}
			if !seen[f] {
				seen[f] = true
				given = append(given, f)
			}
		}
	}
	if len(given) == 0 {
		if x, series := defaultAxes(d.runs[0]); x != "" {
			f := experiments.Figure{X: x, Y: "throughput", Series: series}
			seen[f] = true
			given = append(given, f)
		}
	}
	all := append([]experiments.Figure(nil), given...)
	add := func(f experiments.Figure) {
		if !seen[f] {
			seen[f] = true
			all = append(all, f)
		}
	}
	for _, g := range given {
		if _, isMetric := MetricByKey(g.X); isMetric {
			continue
		}
		pair := experiments.Figure{X: g.X, Y: latencyPair, Series: g.Series}
		add(experiments.Figure{X: g.X, Y: "throughput", Series: g.Series})
		p50, p99 := pair, pair
		p50.Y, p99.Y = "latency.p50", "latency.p99"
		if !seen[p50] || !seen[p99] {
			add(pair)
		}
	}
	hasLoad := false
	for _, r := range d.runs {
		hasLoad = hasLoad || r.orderKey() != ""
	}
	if hasLoad {
		for _, g := range given {
			if _, isMetric := MetricByKey(g.X); !isMetric && !slices.Contains(loadKeys, g.Series) {
				add(experiments.Figure{X: "throughput", Y: latencyPair, Series: g.Series})
			}
		}
		if !slices.ContainsFunc(all, func(s experiments.Figure) bool { return s.X == "throughput" }) {
			add(experiments.Figure{X: "throughput", Y: latencyPair})
		}
	}
	return all
}

func (d *drawing) checkFigure(f experiments.Figure) error {
	if _, ok := MetricByKey(f.Y); !ok && f.Y != latencyPair {
		return fmt.Errorf("y %q is not a metric (want one of %s)", f.Y, metricKeys())
	}
	if _, ok := MetricByKey(f.X); ok {
		return nil
	}
	for _, r := range d.runs {
		if r.hasKey(f.X) {
			return nil
		}
	}
	return fmt.Errorf("x %q is neither a swept key (%s) nor a metric", f.X, strings.Join(d.runs[0].Swept, ", "))
}

// defaultAxes picks x and series for a run whose spec names no figures.
func defaultAxes(r *Run) (x, series string) {
	v := r.Varying()
	for _, k := range preferredX {
		if slices.Contains(v, k) {
			x = k
			break
		}
	}
	if x == "" {
		for _, k := range v {
			if _, ok := numericValue(r.Points[0].Values[k]); ok {
				x = k
				break
			}
		}
	}
	if x == "" && len(v) > 0 {
		x = v[0]
	}
	for _, k := range v {
		if k != x {
			return x, k
		}
	}
	return x, ""
}

// primaryX is the first swept key figures are drawn over: latency
// distributions put its values in one figure.
func primaryX(specs []experiments.Figure) string {
	for _, s := range specs {
		if _, isMetric := MetricByKey(s.X); !isMetric {
			return s.X
		}
	}
	return ""
}

// slug makes a label usable in a file name.
func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._=+-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() > 120 {
		return b.String()[:120]
	}
	return b.String()
}
