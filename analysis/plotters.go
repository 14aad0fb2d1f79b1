package analysis

import (
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
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

// phaseMarks draws a dashed line at each phase's start with its name at the
// top, in the headroom phaseHeadroom leaves above the data.
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
		// Right of the line, or left of it where the panel ends first.
		at := vg.Point{X: x + vg.Points(2), Y: c.Max.Y - vg.Points(1)}
		if at.X+sty.Width(mk.label) > c.Max.X {
			at.X = x - vg.Points(2) - sty.Width(mk.label)
		}
		c.FillText(sty, at, mk.label)
	}
}

// phaseHeadroom is the share of a panel's height kept free of data at the
// top for the phase names.
const phaseHeadroom = 0.12

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

// pointLabel is a short text to write next to the point at xy.
type pointLabel struct {
	xy   plotter.XY
	text string
}

// pointLabels writes each label beside its point, at the first of a few
// places around it that covers neither a label already written nor any
// point or line of the panel, so that curves whose points lie close
// together do not write their labels over each other.
type pointLabels struct {
	labels []pointLabel
	curves []plotter.XYs // every curve drawn in the panel
	style  text.Style
}

func (l *pointLabels) Plot(c draw.Canvas, p *plot.Plot) {
	sty := l.style
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YBottom
	for i, r := range l.place(c, p) {
		c.FillText(sty, r.Min, l.labels[i].text)
	}
}

// place returns where each label goes on c.
func (l *pointLabels) place(c draw.Canvas, p *plot.Plot) []vg.Rectangle {
	trX, trY := p.Transforms(&c)
	g := vg.Points(4)    // half the side of the box kept free around a point
	step := vg.Points(3) // spacing of the small boxes kept free along a line
	box := func(x, y, half vg.Length) vg.Rectangle {
		return vg.Rectangle{Min: vg.Point{X: x - half, Y: y - half}, Max: vg.Point{X: x + half, Y: y + half}}
	}
	var taken, placed []vg.Rectangle
	for _, xys := range l.curves {
		for i, pt := range xys {
			x, y := trX(pt.X), trY(pt.Y)
			taken = append(taken, box(x, y, g))
			if i == 0 {
				continue
			}
			x0, y0 := trX(xys[i-1].X), trY(xys[i-1].Y)
			n := int(math.Hypot(float64(x-x0), float64(y-y0)) / float64(step))
			for k := 1; k < n; k++ {
				f := vg.Length(k) / vg.Length(n)
				taken = append(taken, box(x0+(x-x0)*f, y0+(y-y0)*f, vg.Points(1)))
			}
		}
	}
	for _, lb := range l.labels {
		x, y := trX(lb.xy.X), trY(lb.xy.Y)
		w, h := l.style.Width(lb.text), l.style.Height(lb.text)
		// Right above, right below, left above, left below, then straight
		// above, below, right and left.
		corners := []vg.Point{
			{X: x + g, Y: y + g}, {X: x + g, Y: y - g - h},
			{X: x - g - w, Y: y + g}, {X: x - g - w, Y: y - g - h},
			{X: x - w/2, Y: y + g}, {X: x - w/2, Y: y - g - h},
			{X: x + g, Y: y - h/2}, {X: x - g - w, Y: y - h/2},
		}
		best := corners[0]
		for _, at := range corners {
			r := vg.Rectangle{Min: at, Max: vg.Point{X: at.X + w, Y: at.Y + h}}
			if r.Min.X < c.Min.X || r.Max.X > c.Max.X || r.Min.Y < c.Min.Y || r.Max.Y > c.Max.Y {
				continue
			}
			free := true
			for _, t := range taken {
				if overlaps(r, t) {
					free = false
					break
				}
			}
			if free {
				best = at
				break
			}
		}
		r := vg.Rectangle{Min: best, Max: vg.Point{X: best.X + w, Y: best.Y + h}}
		taken = append(taken, r)
		placed = append(placed, r)
	}
	return placed
}

func overlaps(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}
