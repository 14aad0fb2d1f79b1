package analysis

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The few marks gonum/plot does not have in the form needed: error bars
// that stay inside a log axis, grouped bars in data coordinates, and
// phase boundaries across the whole height of a panel.

// errBars draws the spread of each point, vertical or horizontal, clipped
// to the axis so that a lower end below zero cannot break a log scale.
type errBars struct {
	xys        plotter.XYs
	lo, hi     []float64 // absolute ends
	horizontal bool
	style      draw.LineStyle
}

func (e *errBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	capLen := vg.Points(3)
	for i, pt := range e.xys {
		lo, hi := e.lo[i], e.hi[i]
		if !(hi > lo) {
			continue
		}
		if e.horizontal {
			y := trY(clamp(pt.Y, p.Y.Min, p.Y.Max))
			x0, x1 := trX(clamp(lo, p.X.Min, p.X.Max)), trX(clamp(hi, p.X.Min, p.X.Max))
			c.StrokeLine2(e.style, x0, y, x1, y)
			c.StrokeLine2(e.style, x0, y-capLen, x0, y+capLen)
			c.StrokeLine2(e.style, x1, y-capLen, x1, y+capLen)
			continue
		}
		x := trX(clamp(pt.X, p.X.Min, p.X.Max))
		y0, y1 := trY(clamp(lo, p.Y.Min, p.Y.Max)), trY(clamp(hi, p.Y.Min, p.Y.Max))
		c.StrokeLine2(e.style, x, y0, x, y1)
		c.StrokeLine2(e.style, x-capLen, y0, x+capLen, y0)
		c.StrokeLine2(e.style, x-capLen, y1, x+capLen, y1)
	}
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// bar is one bar: centred at x, width wide (data units), from zero to value.
type bar struct {
	x, width, value, spread float64
}

// bars draws bars of one colour with whiskers for their spread.
type bars struct {
	bars  []bar
	color color.Color
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	outline := draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
	whisker := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	for _, r := range b.bars {
		if math.IsNaN(r.value) {
			continue
		}
		x0, x1 := trX(r.x-r.width/2), trX(r.x+r.width/2)
		y0, y1 := trY(clamp(0, p.Y.Min, p.Y.Max)), trY(clamp(r.value, p.Y.Min, p.Y.Max))
		rect := c.ClipPolygonY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		c.FillPolygon(b.color, rect)
		c.StrokeLines(outline, append(rect, rect[0]))
		if r.spread > 0 {
			xm := (x0 + x1) / 2
			lo, hi := trY(clamp(r.value-r.spread, p.Y.Min, p.Y.Max)), trY(clamp(r.value+r.spread, p.Y.Min, p.Y.Max))
			w := (x1 - x0) / 4
			c.StrokeLine2(whisker, xm, lo, xm, hi)
			c.StrokeLine2(whisker, xm-w, lo, xm+w, lo)
			c.StrokeLine2(whisker, xm-w, hi, xm+w, hi)
		}
	}
}

// Thumbnail draws the bars' colour in a legend.
func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.color, c.ClipPolygonY(pts))
}

// phaseMark is where a phase of the load begins.
type phaseMark struct {
	t     float64
	label string
}

// phaseMarks draws a dashed line at each phase's start with its name.
type phaseMarks []phaseMark

func (m phaseMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	line := draw.LineStyle{Color: color.Gray{Y: 120}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	sty := textStyle(regular, 8, color.Gray{Y: 90})
	sty.YAlign = draw.YTop
	for _, mk := range m {
		if mk.t < p.X.Min || mk.t > p.X.Max {
			continue
		}
		x := trX(mk.t)
		c.StrokeLine2(line, x, c.Min.Y, x, c.Max.Y)
		c.FillText(sty, vg.Point{X: x + vg.Points(2), Y: c.Max.Y - vg.Points(1)}, mk.label)
	}
}

// unlabelled returns the marks without their names, for panels below the first.
func (m phaseMarks) unlabelled() phaseMarks {
	out := make(phaseMarks, len(m))
	for i, mk := range m {
		out[i] = phaseMark{t: mk.t}
	}
	return out
}

// lineThumb draws a line style in a legend without a glyph.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}
