package analysis

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// A slot a few milliseconds long at the end of a timeline (the drain after
// the cool-down, in results written before it went into the cool-down's
// last slot) is left out of the timeline figure rather than drawn like a
// full second.
func TestTimelineLeavesOutShortSlots(t *testing.T) {
	dir := copyFixture(t)
	rep, _ := filepath.Glob(filepath.Join(dir, "points", "p000-*", "rep-1", "timeline.csv"))
	if len(rep) != 1 {
		t.Fatalf("fixture timelines %v", rep)
	}
	f, err := os.OpenFile(rep[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 16 stragglers in 6 ms, their p50 9.7 ms: the fixture's others are
	// below 0.2 ms.
	if _, err := f.WriteString("2.500,0.006,cooldown,16,0,2666.7,9700.0,9700.0,9700.0,9700.0,9700.0,,\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &drawing{runs: []*Run{r}, rep: &Report{}}
	fig := d.timeline(r, r.Points[0], "")
	if fig == nil || len(fig.panels) < 2 {
		t.Fatalf("timeline figure %+v", fig)
	}
	if x := fig.panels[0].plot.X.Max; x != 2.5 {
		t.Errorf("time axis ends at %gs, want 2.5s, the end of the last full slot", x)
	}
	// The latency panel is in µs, as everything here is below 10 ms.
	if y := fig.panels[1].plot.Y.Max; y >= 9700 {
		t.Errorf("latency axis reaches %g: the 6 ms slot's latencies are drawn", y)
	}
}

// The phase names at the top of the first timeline panel sit above the
// data, in the headroom kept for them.
func TestTimelineHeadroomForPhaseNames(t *testing.T) {
	r, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	d := &drawing{runs: []*Run{r}, rep: &Report{}}
	for _, p := range r.Points {
		fig := d.timeline(r, p, "")
		top := 0.0
		for _, rp := range p.Repeats {
			slots, _ := rp.Timeline()
			for _, s := range slots {
				top = math.Max(top, s.Throughput)
			}
		}
		ax := fig.panels[0].plot.Y
		if free := (ax.Max - top) / (ax.Max - ax.Min); free < phaseHeadroom-1e-9 {
			t.Errorf("point %d: %.0f%% of the throughput panel above the data, want %.0f%%", p.Index, 100*free, 100*phaseHeadroom)
		}
	}
}

// The throughput axis of latency against throughput spans the measured
// throughputs, not from zero: with throughputs from 18k to 37k ops/s, as
// in the quick start, an axis from zero left half the plot empty.
func TestLatencyVsThroughputAxis(t *testing.T) {
	r, err := Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range r.Points {
		for j := range p.Repeats {
			p.Repeats[j].Throughput = 18000 + 3500*float64(i) + 100*float64(j)
		}
	}
	d := &drawing{runs: []*Run{r}, rep: &Report{}}
	var fig *figure
	for _, s := range d.figureSpecs() {
		if s.X == "throughput" {
			fig = d.lineFigure(s)
		}
	}
	if fig == nil {
		t.Fatal("no latency-vs-throughput figure")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range r.Points {
		m, _ := MetricByKey("throughput")
		v := p.Stat(m).Mean
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for _, pn := range fig.panels {
		ax := pn.plot.X
		if ax.Min <= 0 || ax.Min > lo || ax.Max < hi {
			t.Errorf("throughput axis %g..%g; want it to start above zero and hold %g..%g", ax.Min, ax.Max, lo, hi)
		}
		if used := (hi - lo) / (ax.Max - ax.Min); used < 0.8 {
			t.Errorf("the measured throughputs fill %.0f%% of the axis", 100*used)
		}
	}
}

// Labels of points lying close together go where they cover no other
// label, no point and no line.
func TestPointLabelsDoNotOverlap(t *testing.T) {
	pl := newPanel("x", "y")
	pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = 0, 100, 0, 100
	a := plotter.XYs{{X: 10, Y: 20}, {X: 40, Y: 60}}
	b := plotter.XYs{{X: 11, Y: 19}, {X: 60, Y: 50}} // b's first point next to a's
	l := &pointLabels{style: textStyle(regular, 8, noteColor), curves: []plotter.XYs{a, b},
		labels: []pointLabel{{a[0], "1"}, {a[1], "4"}, {b[0], "1"}, {b[1], "4"}}}
	img := vgimg.New(7*vg.Inch, 3*vg.Inch)
	c := pl.DataCanvas(draw.New(img))
	rects := l.place(c, pl)
	trX, trY := pl.Transforms(&c)
	for i, r := range rects {
		if r.Min.X < c.Min.X || r.Max.X > c.Max.X || r.Min.Y < c.Min.Y || r.Max.Y > c.Max.Y {
			t.Errorf("label %d at %v leaves the panel", i, r)
		}
		for j := range i {
			if overlaps(r, rects[j]) {
				t.Errorf("labels %d and %d overlap: %v, %v", i, j, r, rects[j])
			}
		}
		for _, xys := range l.curves {
			for _, pt := range xys {
				x, y := trX(pt.X), trY(pt.Y)
				if overlaps(r, vg.Rectangle{Min: vg.Point{X: x - 3, Y: y - 3}, Max: vg.Point{X: x + 3, Y: y + 3}}) {
					t.Errorf("label %d at %v covers the point %v", i, r, pt)
				}
			}
		}
	}
}
