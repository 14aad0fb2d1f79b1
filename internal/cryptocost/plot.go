package cryptocost

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

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

// Plot draws fig to path as PNG, SVG or PDF, by the extension.
func Plot(path string, fig Figure) error {
	panels, err := fig.panels()
	if err != nil {
		return err
	}
	w, h := vg.Length(len(panels))*4*vg.Inch, 4*vg.Inch
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(150), vgimg.UseBackgroundColor(color.White))}
	case ".svg":
		c = vgsvg.New(w, h)
	case ".pdf":
		c = vgpdf.New(w, h)
	default:
		return fmt.Errorf("plot %s: unknown format %q (want .png, .svg or .pdf)", path, ext)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Inch / 4,
		PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

func (fig Figure) panels() ([]*plot.Plot, error) {
	var out []*plot.Plot
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
		if p != nil {
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
func (fig Figure) costPanel() (*plot.Plot, error) {
	p := newPanel(fmt.Sprintf("CPU time per operation, %s message", experiments.Size(fig.Size)), "", "µs (log)")
	var names []string
	sign, verify := make(plotter.XYs, 0, len(fig.Costs)), make(plotter.XYs, 0, len(fig.Costs))
	for i, c := range fig.Costs {
		s, ok1 := c.Sample(Sign, fig.Size)
		v, ok2 := c.Sample(Verify, fig.Size)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("plot: no %s measurement at %d bytes", c.Scheme, fig.Size)
		}
		names = append(names, string(c.Scheme))
		sign = append(sign, plotter.XY{X: float64(i), Y: s.NsPerOp / 1e3})
		verify = append(verify, plotter.XY{X: float64(i), Y: v.NsPerOp / 1e3})
	}
	p.NominalX(names...)
	p.X.Padding = vg.Inch / 4
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, decades{}
	for _, s := range []struct {
		name  string
		xys   plotter.XYs
		shape draw.GlyphDrawer
		color color.Color
	}{
		{"sign", sign, draw.TriangleGlyph{}, color.RGBA{R: 200, G: 60, B: 40, A: 255}},
		{"verify", verify, draw.CircleGlyph{}, color.RGBA{R: 40, G: 90, B: 190, A: 255}},
	} {
		sc, err := plotter.NewScatter(s.xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Shape: s.shape, Color: s.color, Radius: vg.Points(4)}
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	headroom(p)
	p.Y.Max *= 10 // an empty band on top for the legend: any column may reach high
	p.Legend.Left = true
	return p, nil
}

// ceilingPanel: per scheme the ceiling by batch size (dashed) and, when a
// run is given, the measured throughput (solid, with points).
func (fig Figure) ceilingPanel(proto Protocol) (*plot.Plot, error) {
	title := fmt.Sprintf("%s: ceiling per replica", proto)
	if fig.OneHost {
		title = fmt.Sprintf("%s: ceiling on one host", proto)
	}
	if slices.ContainsFunc(fig.Measured, func(m Measured) bool { return m.Protocol == proto }) {
		title += " (dashed), measured"
	}
	p := newPanel(title, "batch size (log)", "requests/s (log)")
	p.Legend.Top = false // lines rise to the right; the bottom right stays clear
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, decades{}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, decades{}
	drawn := false
	for i, scheme := range keys.Schemes() {
		col := schemeColor(i)
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
				return nil, err
			}
			l.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if len(meas) > 0 {
			l, pts, err := plotter.NewLinePoints(meas)
			if err != nil {
				return nil, err
			}
			l.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.5)}
			pts.GlyphStyle = draw.GlyphStyle{Shape: draw.CircleGlyph{}, Color: col, Radius: vg.Points(3)}
			p.Add(l, pts)
			thumbs = append(thumbs, l, pts)
		}
		if len(thumbs) > 0 {
			p.Legend.Add(string(scheme), thumbs...)
			drawn = true
		}
	}
	if !drawn {
		return nil, nil
	}
	headroom(p)
	return p, nil
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

func newPanel(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	return p
}

// headroom widens a log Y axis by a factor of 3 each way, so points and
// lines stay clear of the frame and the legend.
func headroom(p *plot.Plot) {
	p.Y.Min /= 3
	p.Y.Max *= 3
}

// schemeColor keeps each scheme's colour the same in every panel and figure.
func schemeColor(i int) color.Color {
	palette := []color.RGBA{
		{R: 214, G: 39, B: 40, A: 255},  // rsa
		{R: 255, G: 127, B: 14, A: 255}, // ecdsa
		{R: 44, G: 160, B: 44, A: 255},  // ed25519
		{R: 31, G: 119, B: 180, A: 255}, // hmac
		{R: 90, G: 90, B: 90, A: 255},   // none
	}
	return palette[i%len(palette)]
}

// decades ticks a log axis at powers of ten, labelled 1, 10, 100, 1k, ...,
// and leaves the steps in between unlabelled.
type decades struct{}

func (decades) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		v := math.Pow(10, e)
		if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
			ticks = append(ticks, plot.Tick{Value: v, Label: decadeLabel(v)})
		}
		for k := 2.0; k < 10; k++ {
			if m := k * v; m > lo && m < hi {
				ticks = append(ticks, plot.Tick{Value: m})
			}
		}
	}
	return ticks
}

func decadeLabel(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}
