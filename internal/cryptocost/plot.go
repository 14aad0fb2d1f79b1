package cryptocost

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/replbench/replbench/analysis"
	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/keys"
)

// Figure is what Plot draws: the costs at one message size, and per
// protocol the predicted ceilings by batch size, with measured throughput
// next to them when a run is given.
type Figure struct {
	Costs       []Cost
	Size        int // message size of the cost panel
	Predictions []Prediction
	Measured    []Measured
	// OneHost plots the one-host ceiling (a local run) instead of the
	// per-replica one.
	OneHost bool
}

// Plot draws fig to path as PNG, SVG or PDF, by the extension, in the
// style of replbench's other figures: one panel for the costs and one per
// protocol for the ceilings, stacked, each with its legend beside it.
func Plot(path string, fig Figure) error {
	panels, err := fig.panels()
	if err != nil {
		return err
	}
	where := "per replica"
	if fig.OneHost {
		where = "on one host"
	}
	note := "sign and verify cost measured on this machine · throughput ceilings " + where +
		" predicted from them (dashed)"
	if len(fig.Measured) > 0 {
		note += " · measured throughput (solid, with points)"
	}
	if err := analysis.SaveFigure(path, "Crypto cost and the throughput it allows", note, panels); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

func (fig Figure) panels() ([]analysis.Panel, error) {
	var out []analysis.Panel
	if len(fig.Costs) > 0 {
		p, err := fig.costPanel()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	for _, proto := range Protocols() {
		p, err := fig.ceilingPanel(proto)
		if err != nil {
			return nil, err
		}
		if p.Plot != nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("plot: nothing to draw")
	}
	return out, nil
}

// costPanel: sign and verify per scheme on a log scale, since the schemes
// span six orders of magnitude.
func (fig Figure) costPanel() (analysis.Panel, error) {
	p := analysis.NewPanel("", "CPU time per operation (µs)")
	p.Title.Text = fmt.Sprintf("CPU time per operation, %s message", experiments.Size(fig.Size))
	var names []string
	var all []float64
	sign, verify := make(plotter.XYs, 0, len(fig.Costs)), make(plotter.XYs, 0, len(fig.Costs))
	for i, c := range fig.Costs {
		s, ok1 := c.Sample(Sign, fig.Size)
		v, ok2 := c.Sample(Verify, fig.Size)
		if !ok1 || !ok2 {
			return analysis.Panel{}, fmt.Errorf("plot: no %s measurement at %d bytes", c.Scheme, fig.Size)
		}
		names = append(names, string(c.Scheme))
		sign = append(sign, plotter.XY{X: float64(i), Y: s.NsPerOp / 1e3})
		verify = append(verify, plotter.XY{X: float64(i), Y: v.NsPerOp / 1e3})
		all = append(all, s.NsPerOp/1e3, v.NsPerOp/1e3)
	}
	p.NominalX(names...)
	p.X.Padding = vg.Inch / 4
	analysis.FitAxis(&p.Y, all, false)
	var legend []analysis.LegendEntry
	for _, s := range []struct {
		name  string
		xys   plotter.XYs
		glyph draw.GlyphStyle
	}{
		// Black and grey, so that no colour reads as one of the schemes'.
		{"sign", sign, draw.GlyphStyle{Shape: draw.TriangleGlyph{}, Color: color.Black, Radius: vg.Points(4)}},
		{"verify", verify, draw.GlyphStyle{Shape: draw.CircleGlyph{}, Color: color.Gray{Y: 130}, Radius: vg.Points(4)}},
	} {
		sc, err := plotter.NewScatter(s.xys)
		if err != nil {
			return analysis.Panel{}, err
		}
		sc.GlyphStyle = s.glyph
		p.Add(sc)
		legend = append(legend, analysis.LegendEntry{Label: s.name, Thumbs: []plot.Thumbnailer{sc}})
	}
	return analysis.Panel{Plot: p, Legend: legend}, nil
}

// ceilingPanel: per scheme the ceiling by batch size (dashed) and, when a
// run is given, the measured throughput (solid, with points); a zero
// Panel when the protocol has neither.
func (fig Figure) ceilingPanel(proto Protocol) (analysis.Panel, error) {
	p := analysis.NewPanel("batch size", "requests/s")
	p.Title.Text = fmt.Sprintf("%s: ceiling per replica", proto)
	if fig.OneHost {
		p.Title.Text = fmt.Sprintf("%s: ceiling on one host", proto)
	}
	if slices.ContainsFunc(fig.Measured, func(m Measured) bool { return m.Protocol == proto }) {
		p.Title.Text += " (dashed), measured (solid)"
	}
	var legend []analysis.LegendEntry
	var xs, ys []float64
	for i, scheme := range keys.Schemes() {
		var ceil plotter.XYs
		for _, pr := range fig.Predictions {
			d := pr.Deployment
			r := float64(pr.PerReplica)
			if fig.OneHost {
				r = float64(pr.OneHost)
			}
			if d.Protocol == proto && d.ReplicaScheme == scheme && !math.IsInf(r, 0) && r > 0 {
				ceil = append(ceil, plotter.XY{X: float64(d.Batch), Y: r})
			}
		}
		var meas plotter.XYs
		for _, m := range fig.Measured {
			if m.Protocol == proto && m.Scheme == scheme && m.Throughput > 0 {
				meas = append(meas, plotter.XY{X: float64(m.Batch), Y: m.Throughput})
			}
		}
		slices.SortFunc(ceil, byX)
		slices.SortFunc(meas, byX)
		var thumbs []plot.Thumbnailer
		if len(ceil) > 0 {
			l, err := plotter.NewLine(ceil)
			if err != nil {
				return analysis.Panel{}, err
			}
			l.LineStyle = analysis.LineStyle(i, 1)
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if len(meas) > 0 {
			l, pts, err := plotter.NewLinePoints(meas)
			if err != nil {
				return analysis.Panel{}, err
			}
			l.LineStyle, pts.GlyphStyle = analysis.LineStyle(i, 0), analysis.GlyphStyle(i)
			p.Add(l, pts)
			thumbs = append(thumbs, l, pts)
		}
		for _, xy := range append(ceil, meas...) {
			xs, ys = append(xs, xy.X), append(ys, xy.Y)
		}
		if len(thumbs) > 0 {
			legend = append(legend, analysis.LegendEntry{Label: string(scheme), Thumbs: thumbs})
		}
	}
	if len(legend) == 0 {
		return analysis.Panel{}, nil
	}
	analysis.FitAxis(&p.X, xs, false)
	analysis.FitAxis(&p.Y, ys, false)
	return analysis.Panel{Plot: p, Legend: legend}, nil
}

func byX(a, b plotter.XY) int {
	switch {
	case a.X < b.X:
		return -1
	case a.X > b.X:
		return 1
	}
	return 0
}
