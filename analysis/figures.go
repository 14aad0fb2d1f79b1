package analysis

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/replbench/replbench/experiments"
)

// scaleOf picks the unit a metric is shown in: latency in ms from 10 ms
// up and in s from 10 s up, everything else as measured.
func scaleOf(m Metric, largest float64) (div float64, unit string) {
	if m.Unit == "µs" {
		switch {
		case largest >= 1e7:
			return 1e6, "s"
		case largest >= 1e4:
			return 1e3, "ms"
		}
	}
	return 1, m.Unit
}

func axisLabel(name, unit string) string {
	if unit == "" {
		return name
	}
	return name + " (" + unit + ")"
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// yMetrics are the panels of a figure: p50 and p99 for "latency", else one.
func yMetrics(y string) []Metric {
	if y == latencyPair {
		p50, _ := MetricByKey("latency.p50")
		p99, _ := MetricByKey("latency.p99")
		return []Metric{p50, p99}
	}
	m, _ := MetricByKey(y)
	return []Metric{m}
}

// note says what a figure's numbers are: runs, repeats and error bars.
func (d *drawing) note(runs []*Run, cs []*curve, extra string) string {
	lo, hi := math.MaxInt, 0
	for _, c := range cs {
		for _, p := range c.points {
			lo, hi = min(lo, len(p.Repeats)), max(hi, len(p.Repeats))
		}
	}
	var parts []string
	if len(runs) > 1 {
		var labels []string
		for i, r := range runs {
			labels = append(labels, fmt.Sprintf("%s (%s)", r.Label, dashName(i)))
		}
		parts = append(parts, strings.Join(labels, " vs "))
	} else {
		parts = append(parts, runs[0].Name+" "+runs[0].ID)
	}
	switch {
	case hi <= 1:
		parts = append(parts, "one repeat, no error bars")
	case lo == hi:
		parts = append(parts, fmt.Sprintf("mean of %d repeats, bars %s", hi, d.opt.ErrorBars))
	default:
		parts = append(parts, fmt.Sprintf("mean of %d to %d repeats, bars %s", lo, hi, d.opt.ErrorBars))
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, " · ")
}

func dashName(run int) string {
	return []string{"solid", "dashed", "dotted", "dash-dot"}[run%len(dashes)]
}

// groupColours numbers the curves' groups in order of appearance, so that
// a series keeps its colour in every run drawn.
func groupColours(cs []*curve) map[string]int {
	idx := map[string]int{}
	for _, c := range cs {
		if _, ok := idx[c.group]; !ok {
			idx[c.group] = len(idx)
		}
	}
	return idx
}

// lineFigure draws y over x, one curve per series: x a swept key, or a
// metric (latency against throughput) with curves along the load key.
func (d *drawing) lineFigure(s experiments.Figure) *figure {
	xm, xIsMetric := MetricByKey(s.X)
	if !xIsMetric {
		for _, r := range d.runs {
			if !r.hasKey(s.X) {
				d.problem(fmt.Errorf("%s: %s is not swept in this run; figure %s vs %s leaves it out", r.Dir, s.X, s.Y, s.X))
			}
		}
	}
	cs := curves(d.runs, s.X, xIsMetric, s.Series)
	if len(cs) == 0 {
		return nil
	}
	var axis *sweptAxis
	if !xIsMetric {
		axis = newSweptAxis(s.X, d.runs)
	}
	colours := groupColours(cs)
	ys := yMetrics(s.Y)

	name := strings.ReplaceAll(s.Y, ".", "-") + "-vs-" + s.X
	if s.Series != "" {
		name += "-by-" + s.Series
	}
	yName := title(ys[0].Name)
	if s.Y == latencyPair {
		yName = "Latency (p50, p99)"
	}
	f := &figure{name: slug(name), title: yName + " vs " + s.X}
	extra := ""
	if xIsMetric {
		f.title = yName + " vs " + xm.Name
		var along []string
		for _, r := range d.runs {
			if k := r.orderKey(); k != "" && !slices.Contains(along, k) {
				along = append(along, k)
			}
		}
		if len(along) > 0 {
			extra = "points labelled with " + strings.Join(along, ", ")
		}
	}
	f.note = d.note(d.runs, cs, extra)

	xdiv, xunit := 1.0, ""
	if xIsMetric {
		largest := 0.0
		for _, c := range cs {
			for _, p := range c.points {
				largest = maxFinite(largest, p.Stat(xm).Mean)
			}
		}
		xdiv, xunit = scaleOf(xm, largest)
	}
	drawn := 0
	for _, ym := range ys {
		largest := 0.0
		for _, c := range cs {
			for _, p := range c.points {
				largest = maxFinite(largest, p.Stat(ym).Mean)
			}
		}
		ydiv, yunit := scaleOf(ym, largest)
		xLabel := s.X
		if xIsMetric {
			xLabel = axisLabel(xm.Name, xunit)
		}
		pl := newPanel(xLabel, axisLabel(ym.Name, yunit))
		var xs, yv []float64
		var legend []legendEntry
		labels := &pointLabels{style: textStyle(regular, 8, noteColor)}
		for _, c := range cs {
			lk := lookFor(colours[c.group], c.run)
			var xys plotter.XYs
			var ylo, yhi, xlo, xhi []float64
			for _, p := range c.points {
				st := p.Stat(ym)
				if math.IsNaN(st.Mean) {
					continue
				}
				x := 0.0
				sx := Stat{}
				if xIsMetric {
					sx = p.Stat(xm)
					if math.IsNaN(sx.Mean) {
						continue
					}
					x = sx.Mean / xdiv
				} else {
					x = axis.pos[p.Values[s.X]]
				}
				y, e := st.Mean/ydiv, st.Spread(d.opt.ErrorBars)/ydiv
				xys = append(xys, plotter.XY{X: x, Y: y})
				ylo, yhi = append(ylo, y-e), append(yhi, y+e)
				ex := sx.Spread(d.opt.ErrorBars) / xdiv
				xlo, xhi = append(xlo, x-ex), append(xhi, x+ex)
				yv = append(yv, y, y+e)
				if y-e > 0 {
					yv = append(yv, y-e)
				}
				xs = append(xs, x, x+ex)
				if x-ex > 0 {
					xs = append(xs, x-ex)
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				d.problem(fmt.Errorf("figure %s: %s: %v", f.name, c.label, err))
				continue
			}
			line.LineStyle, pts.GlyphStyle = lk.line(), lk.glyphStyle()
			barStyle := draw.LineStyle{Color: lk.color, Width: vg.Points(1)}
			pl.Add(&errBars{xys: xys, lo: ylo, hi: yhi, style: barStyle})
			if xIsMetric {
				pl.Add(&errBars{xys: xys, lo: xlo, hi: xhi, horizontal: true, style: barStyle})
			}
			pl.Add(line, pts)
			drawn++
			labels.curves = append(labels.curves, xys)
			if xIsMetric {
				labels.labels = append(labels.labels, d.loadLabels(c, xys, ym, xm)...)
			}
			if c.label != "" {
				legend = append(legend, legendEntry{c.label, []plot.Thumbnailer{line, pts}})
			}
		}
		if len(labels.labels) > 0 {
			pl.Add(labels)
		}
		axisRange(&pl.Y, yv, true)
		if xIsMetric {
			// The measured range, not from zero: the curves' shape is what
			// the figure shows, and zero would leave most of it empty.
			axisRange(&pl.X, xs, false)
		} else {
			axis.apply(&pl.X)
		}
		if len(f.panels) > 0 {
			legend = nil // the panels share their curves: one legend, at the top
		}
		f.panels = append(f.panels, panel{plot: pl, legend: legend})
	}
	if drawn == 0 {
		d.problem(fmt.Errorf("figure %s: no point has both %s and %s; left out", f.name, s.X, s.Y))
		return nil
	}
	return f
}

// loadLabels labels each point of a curve over a metric with its value of
// the load key, so that the reader sees where along the load it is.
func (d *drawing) loadLabels(c *curve, xys plotter.XYs, ym, xm Metric) []pointLabel {
	key := d.runs[c.run].orderKey()
	if key == "" {
		return nil
	}
	var labels []pointLabel
	for _, p := range c.points {
		if i := len(labels); i < len(xys) && !math.IsNaN(p.Stat(ym).Mean) && !math.IsNaN(p.Stat(xm).Mean) {
			labels = append(labels, pointLabel{xys[i], p.Values[key]})
		}
	}
	return labels
}

// ninesTicks labels a log axis of 1/(1-p) with the percentile p.
type ninesTicks struct{}

func (ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := 0; math.Pow10(k) <= hi*(1+1e-9); k++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow10(k)
			if v < lo || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 {
				t.Label = ninesLabel(k)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// ninesLabel names the percentile at 1/(1-p) = 10^k: 0%, 90%, 99%, 99.9% ...
func ninesLabel(k int) string {
	switch k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	}
	if k == 2 {
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}

// distRow is one point of a latency distribution curve, for latency-dist.csv.
type distRow struct {
	run, point int
	label      string
	percentile float64
	valueUS    int64
}

// distCurve is one curve of a latency distribution figure: a point of a run.
type distCurve struct {
	run   int
	point *Point
	label string // the legend's text
	key   string // the label without the run's: picks the colour
}

// latencyDistributions draws the HDR histograms of the measure phase on a
// "nines" axis, as HdrHistogram's plotter does: one figure per combination
// of the varying keys other than x, one curve per value of x (and run), at
// most as many curves to a figure as there are colours.
func (d *drawing) latencyDistributions(x string) {
	var order []string
	groups := map[string][]distCurve{}
	for ri, r := range d.runs {
		var keys []string
		for _, k := range r.Varying() {
			if k != x {
				keys = append(keys, k)
			}
		}
		keys = independent(r, keys)
		for _, p := range r.Points {
			var g []string
			for _, k := range keys {
				g = append(g, k+"="+p.Values[k])
			}
			group := strings.Join(g, ", ")
			if _, ok := groups[group]; !ok {
				order = append(order, group)
			}
			key := p.Label
			if v, ok := p.Values[x]; ok && x != "" {
				key = x + "=" + v
			}
			if key == "" {
				key = "all"
			}
			label := key
			if len(d.runs) > 1 {
				label = r.Label + ": " + key
			}
			groups[group] = append(groups[group], distCurve{ri, p, label, key})
		}
	}
	for _, group := range order {
		cs := groups[group]
		for chunk := 0; chunk*len(palette) < len(cs); chunk++ {
			name := "latency-dist"
			if group != "" {
				name += "-" + slug(strings.ReplaceAll(group, ", ", "-"))
			}
			if len(cs) > len(palette) {
				name += fmt.Sprintf("-%d", chunk+1)
			}
			f := &figure{name: name, title: "Latency distribution", note: d.distNote()}
			if group != "" {
				f.title += ": " + group
			}
			if d.distPanel(f, cs[chunk*len(palette):min(len(cs), (chunk+1)*len(palette))]) {
				d.save(f)
			}
		}
	}
}

// distPanel draws the curves' distributions into f, reporting whether any
// point had one.
func (d *drawing) distPanel(f *figure, cs []distCurve) bool {
	type line struct {
		distCurve
		xys plotter.XYs // x: 1/(1-p), y: µs
	}
	var lines []line
	largest, maxX := 0.0, 10.0
	for _, c := range cs {
		h := d.mergedHistogram(c.point)
		if h == nil {
			continue
		}
		var xys plotter.XYs
		n := float64(h.TotalCount())
		for _, b := range h.CumulativeDistributionWithTicks(5) {
			q := b.Quantile / 100
			x := n // the largest value sits at one in n
			if q < 1 {
				x = math.Min(1/(1-q), n)
			}
			// HDR histograms resolve 1 µs; a 0 would break the log axis.
			v := math.Max(float64(b.ValueAt), 1)
			xys = append(xys, plotter.XY{X: x, Y: v})
			largest = maxFinite(largest, v)
			d.dist = append(d.dist, distRow{c.run, c.point.Index, c.label, b.Quantile, b.ValueAt})
		}
		maxX = math.Max(maxX, n)
		lines = append(lines, line{c, xys})
	}
	if len(lines) == 0 {
		return false
	}
	div, unit := scaleOf(Metric{Unit: "µs"}, largest)
	pl := newPanel("percentile", axisLabel("latency", unit))
	var legend []legendEntry
	var ys []float64
	colours := map[string]int{}
	for _, l := range lines {
		for j := range l.xys {
			l.xys[j].Y /= div
			ys = append(ys, l.xys[j].Y)
		}
		ln, err := plotter.NewLine(l.xys)
		if err != nil {
			d.problem(fmt.Errorf("figure %s: %s: %v", f.name, l.label, err))
			continue
		}
		if _, ok := colours[l.key]; !ok {
			colours[l.key] = len(colours)
		}
		ln.LineStyle = lookFor(colours[l.key], l.run).line()
		pl.Add(ln)
		legend = append(legend, legendEntry{l.label, []plot.Thumbnailer{ln}})
	}
	pl.X.Scale = plot.LogScale{}
	pl.X.Tick.Marker = ninesTicks{}
	pl.X.Min, pl.X.Max = 1, maxX
	axisRange(&pl.Y, ys, true)
	f.panels = []panel{{plot: pl, legend: legend}}
	return true
}

// distNote says what a latency distribution shows.
func (d *drawing) distNote() string {
	from := d.runs[0].Name + " " + d.runs[0].ID
	if len(d.runs) > 1 {
		var labels []string
		for i, r := range d.runs {
			labels = append(labels, fmt.Sprintf("%s (%s)", r.Label, dashName(i)))
		}
		from = strings.Join(labels, " vs ")
	}
	return from + " · latency from the intended send time, measure phase, repeats merged · percentiles on a log scale of 1/(1-p)"
}

// mergedHistogram merges the measure-phase histograms of a point's
// repeats; a repeat whose file cannot be read is left out and reported.
func (d *drawing) mergedHistogram(p *Point) *hdrhistogram.Histogram {
	var merged *hdrhistogram.Histogram
	for _, r := range p.Repeats {
		h, err := r.Histogram()
		if err != nil {
			d.problem(fmt.Errorf("%v; the repeat is left out of the latency distribution", err))
			continue
		}
		if h == nil {
			continue
		}
		if merged == nil {
			merged = h
		} else {
			merged.Merge(h)
		}
	}
	return merged
}

// replicaBars draws each replica's peak RSS, or its CPU, per point.
func (d *drawing) replicaBars(r *Run, prefix string, cpu bool) *figure {
	n := r.Replicas()
	if n == 0 {
		if !cpu {
			d.problem(fmt.Errorf("%s: no per-replica columns (rss_peak_mib_r<i>, cpu_s_r<i>); replica figures left out", r.path("summary.csv")))
		}
		return nil
	}
	keys := independent(r, r.Varying())
	var labels []string
	for _, p := range r.Points {
		var vs []string
		for _, k := range keys {
			vs = append(vs, p.Values[k])
		}
		labels = append(labels, strings.Join(vs, "\n"))
	}
	xLabel := strings.Join(keys, ", ")
	if len(keys) == 0 {
		xLabel = "point"
		for i, p := range r.Points {
			labels[i] = p.Label
		}
	}
	f := &figure{name: prefix + "rss-per-replica", title: "Peak RSS per replica"}
	yLabel := "peak RSS (MiB)"
	extra := "the kernel's high-water mark (VmHWM) over each replica's life"
	if cpu {
		f.name, f.title, yLabel = prefix+"cpu-per-replica", "CPU per replica", "CPU (cores busy)"
		extra = "CPU seconds per second of the measure window"
	}
	if len(d.runs) > 1 {
		f.title += ": " + r.Label
	}
	pl := newPanel(xLabel, yLabel)
	width := 0.8 / float64(n)
	var legend []legendEntry
	var ys []float64
	hasData := false
	for i := 0; i < n; i++ {
		b := &bars{color: palette[i%len(palette)]}
		for pi, p := range r.Points {
			k := 0 // replicas this point has: its bars are centred on it
			for _, rep := range p.Repeats {
				k = max(k, len(rep.Replicas))
			}
			if i >= k {
				continue
			}
			rss, cores := p.ReplicaStat(i)
			st := rss
			if cpu {
				st = cores
			}
			x := float64(pi) - width*float64(k)/2 + width*(float64(i)+0.5)
			b.bars = append(b.bars, bar{x: x, width: width * 0.9, value: st.Mean, spread: st.Spread(d.opt.ErrorBars)})
			if !math.IsNaN(st.Mean) {
				hasData = true
				ys = append(ys, st.Mean+st.Spread(d.opt.ErrorBars))
			}
		}
		pl.Add(b)
		legend = append(legend, legendEntry{fmt.Sprintf("replica %d", i), []plot.Thumbnailer{b}})
	}
	if !hasData {
		return nil
	}
	ys = append(ys, 0)
	axisRange(&pl.Y, ys, true)
	pl.Y.Scale, pl.Y.Tick.Marker = plot.LinearScale{}, numberTicks{} // bars start at zero: never a log axis
	lo, hi := 0.0, 0.0
	for _, v := range ys {
		hi = math.Max(hi, v)
	}
	pl.Y.Min, pl.Y.Max = lo, hi*1.08
	if hi == 0 {
		pl.Y.Max = 1
	}
	pos := make([]float64, len(labels))
	for i := range pos {
		pos[i] = float64(i)
	}
	pl.X.Min, pl.X.Max = -0.5, float64(len(labels))-0.5
	pl.X.Tick.Marker = valueTicks{pos: pos, labels: labels}
	// Labels wider than their share of the axis are turned, on one line.
	widest := vg.Length(0)
	for _, l := range labels {
		for _, line := range strings.Split(l, "\n") {
			widest = max(widest, pl.X.Tick.Label.Width(line))
		}
	}
	if widest > figWidth*0.6/vg.Length(len(labels)) {
		for i := range labels {
			labels[i] = strings.ReplaceAll(labels[i], "\n", ", ")
		}
		pl.X.Tick.Label.Rotation = math.Pi / 6
		pl.X.Tick.Label.XAlign, pl.X.Tick.Label.YAlign = draw.XRight, draw.YTop
	}
	f.note = d.note([]*Run{r}, []*curve{{points: r.Points}}, extra)
	if n == 1 {
		legend = nil
	}
	f.panels = []panel{{plot: pl, legend: legend}}
	return f
}

// minSlot is the shortest timeline slot, in seconds, that the timeline
// figure draws. A shorter one holds too few completions for a rate or
// percentiles to mean anything, yet would be drawn like a full second: such
// as the drain after the cool-down, which results written before the drain
// went into the cool-down's last slot have as a slot of its own, a few
// milliseconds long, with the slowest stragglers' latencies.
const minSlot = 0.1

// timeline draws a point's throughput, latency and replica RSS over time,
// every repeat, with the phases of the load marked; slots shorter than
// minSlot are left out.
func (d *drawing) timeline(r *Run, p *Point, prefix string) *figure {
	type rep struct {
		n     int
		slots []Slot
	}
	var reps []rep
	for _, rp := range p.Repeats {
		slots, err := rp.Timeline()
		if err != nil {
			d.problem(err)
		}
		slots = slices.DeleteFunc(slots, func(s Slot) bool { return s.Length < minSlot })
		if len(slots) > 0 {
			reps = append(reps, rep{rp.N, slots})
		}
	}
	if len(reps) == 0 {
		return nil
	}
	dir := filepath.Base(p.Dir)
	if p.Dir == "" {
		dir = fmt.Sprintf("p%03d", p.Index)
	}
	f := &figure{name: filepath.Join(prefix+"timelines", dir), title: "Timeline: " + strings.ReplaceAll(p.Label, ",", ", ")}
	if p.Label == "" {
		f.title = "Timeline"
	}
	f.note = r.Name + " " + r.ID + " · point " + fmt.Sprint(p.Index) + " · one line per repeat; lines at the start of each phase"
	if len(d.runs) > 1 {
		f.title += " (" + r.Label + ")"
	}
	var marks phaseMarks
	prev := ""
	end := 0.0
	for _, s := range reps[0].slots {
		if s.Phase != prev {
			marks = append(marks, phaseMark{s.T, phaseName(s.Phase)})
			prev = s.Phase
		}
	}
	for _, rp := range reps {
		last := rp.slots[len(rp.slots)-1]
		end = math.Max(end, last.T+last.Length)
	}
	mid := func(s Slot) float64 { return s.T + s.Length/2 }

	line := func(pl *plot.Plot, xys plotter.XYs, lk look) (*plotter.Line, *plotter.Scatter) {
		if len(xys) == 0 {
			return nil, nil
		}
		l, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, nil
		}
		l.LineStyle, sc.GlyphStyle = lk.line(), lk.glyphStyle()
		sc.GlyphStyle.Radius = vg.Points(2)
		pl.Add(l, sc)
		return l, sc
	}
	gray := func(dash int) look { return look{color: color.Gray{Y: 80}, dash: dashes[dash%len(dashes)]} }

	// Throughput.
	tp := newPanel("time since load started (s)", "throughput (ops/s)")
	var tys []float64
	var tLegend []legendEntry
	for i, rp := range reps {
		var xys plotter.XYs
		for _, s := range rp.slots {
			if !math.IsNaN(s.Throughput) && s.Length > 0 {
				xys = append(xys, plotter.XY{X: mid(s), Y: s.Throughput})
				tys = append(tys, s.Throughput)
			}
		}
		if l, sc := line(tp, xys, lookFor(i, 0)); l != nil && len(reps) > 1 {
			tLegend = append(tLegend, legendEntry{fmt.Sprintf("repeat %d", rp.n), []plot.Thumbnailer{l, sc}})
		}
	}
	tys = append(tys, 0)
	axisRange(&tp.Y, tys, true)
	tp.Y.Scale, tp.Y.Tick.Marker, tp.Y.Min = plot.LinearScale{}, numberTicks{}, 0
	tp.Y.Max /= 1 - phaseHeadroom // room for the phase names above the data

	// Latency: p50 solid, p99 dashed.
	largest := 0.0
	for _, rp := range reps {
		for _, s := range rp.slots {
			largest = maxFinite(largest, s.P99)
		}
	}
	div, unit := scaleOf(Metric{Unit: "µs"}, largest)
	lp := newPanel("time since load started (s)", axisLabel("latency", unit))
	var lys []float64
	var lLegend []legendEntry
	for i, rp := range reps {
		for j, pick := range []func(Slot) float64{func(s Slot) float64 { return s.P50 }, func(s Slot) float64 { return s.P99 }} {
			var xys plotter.XYs
			for _, s := range rp.slots {
				if v := pick(s); s.Ops > 0 && v > 0 {
					xys = append(xys, plotter.XY{X: mid(s), Y: v / div})
					lys = append(lys, v/div)
				}
			}
			lk := lookFor(i, j)
			if l, sc := line(lp, xys, lk); l != nil && j == 0 && len(reps) > 1 {
				lLegend = append(lLegend, legendEntry{fmt.Sprintf("repeat %d", rp.n), []plot.Thumbnailer{l, sc}})
			}
		}
	}
	lLegend = append(lLegend, legendEntry{"p50", []plot.Thumbnailer{lineThumb(gray(0).line())}},
		legendEntry{"p99", []plot.Thumbnailer{lineThumb(gray(1).line())}})
	axisRange(&lp.Y, lys, true)

	panels := []panel{{plot: tp, legend: tLegend}, {plot: lp, legend: lLegend}}

	// RSS per replica, when sampled.
	rssPanel := newPanel("time since load started (s)", "RSS (MiB)")
	var rys []float64
	var rLegend []legendEntry
	replicas := 0
	for j, rpt := range reps {
		for i := 0; i < len(rpt.slots[0].RSS); i++ {
			var xys plotter.XYs
			for _, s := range rpt.slots {
				if i < len(s.RSS) && !math.IsNaN(s.RSS[i]) {
					xys = append(xys, plotter.XY{X: mid(s), Y: s.RSS[i]})
					rys = append(rys, s.RSS[i])
				}
			}
			if l, sc := line(rssPanel, xys, lookFor(i, j)); l != nil && j == 0 {
				rLegend = append(rLegend, legendEntry{fmt.Sprintf("replica %d", i), []plot.Thumbnailer{l, sc}})
				replicas++
			}
		}
	}
	if replicas > 0 {
		if len(reps) > 1 {
			for j, rpt := range reps {
				rLegend = append(rLegend, legendEntry{fmt.Sprintf("repeat %d", rpt.n), []plot.Thumbnailer{lineThumb(gray(j).line())}})
			}
		}
		rys = append(rys, 0)
		axisRange(&rssPanel.Y, rys, true)
		rssPanel.Y.Scale, rssPanel.Y.Tick.Marker, rssPanel.Y.Min = plot.LinearScale{}, numberTicks{}, 0
		panels = append(panels, panel{plot: rssPanel, legend: rLegend})
	}
	for i, pn := range panels {
		if i == 0 {
			pn.plot.Add(marks)
		} else {
			pn.plot.Add(phaseMarks(marks).unlabelled())
		}
		pn.plot.X.Min, pn.plot.X.Max = 0, end
	}
	f.panels = panels
	return f
}

// phaseName writes a load phase as the documentation does.
func phaseName(phase string) string {
	switch phase {
	case "warmup":
		return "warm-up"
	case "cooldown":
		return "cool-down"
	}
	return phase
}

// maxFinite is the larger of a and b, ignoring NaN (a value not measured).
func maxFinite(a, b float64) float64 {
	if math.IsNaN(b) || math.IsInf(b, 0) {
		return a
	}
	return math.Max(a, b)
}
