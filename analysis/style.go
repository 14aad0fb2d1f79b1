package analysis

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The look every figure shares, in one place: size, fonts, colours, lines,
// grid, axes and legend. Figures are built from panels made by newPanel and
// saved by figure.save; nothing else sets a style.

const (
	figWidth      = 7 * vg.Inch
	panelHeight   = 3.9 * vg.Inch // a figure's one panel
	stackedHeight = 2.8 * vg.Inch // each of several panels stacked
	headHeight    = 0.7 * vg.Inch // title and note
	pngDPI        = 150
	margin        = 8 * vg.Millimeter / 3
)

var (
	// One face throughout: gonum's PDF backend cannot embed the bold one.
	regular = font.Font{Typeface: "Liberation", Variant: "Sans"}

	// Okabe and Ito's palette: told apart with the common colour
	// blindnesses, and in greyscale with the glyphs and dashes below.
	palette = []color.Color{
		rgb(0x0072B2), rgb(0xD55E00), rgb(0x009E73), rgb(0xCC79A7),
		rgb(0xE69F00), rgb(0x56B4E9), rgb(0x000000), rgb(0x8C6D00),
	}
	glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
		draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}
	dashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(1.5), vg.Points(2.5)},
		{vg.Points(7), vg.Points(2), vg.Points(1.5), vg.Points(2)}}
	gridColor = color.Gray{Y: 225}
	noteColor = color.Gray{Y: 90}
)

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}

func textStyle(f font.Font, size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(f, size), Handler: plot.DefaultTextHandler}
}

// look is the line, glyph and colour of one series.
type look struct {
	color color.Color
	glyph draw.GlyphDrawer
	dash  []vg.Length
}

// lookFor gives series i of a figure its colour and glyph, and run j (of
// several drawn together) its dash.
func lookFor(i, j int) look {
	return look{color: palette[i%len(palette)], glyph: glyphs[i%len(glyphs)], dash: dashes[j%len(dashes)]}
}

func (l look) line() draw.LineStyle {
	return draw.LineStyle{Color: l.color, Width: vg.Points(1.6), Dashes: l.dash}
}

func (l look) glyphStyle() draw.GlyphStyle {
	return draw.GlyphStyle{Color: l.color, Radius: vg.Points(3), Shape: l.glyph}
}

// newPanel returns a plot in the shared style with its axis labels.
func newPanel(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle = textStyle(regular, 11, color.Black)
		a.Tick.Label = textStyle(regular, 9.5, color.Black)
		a.Tick.Marker = numberTicks{}
		a.LineStyle.Width = vg.Points(0.7)
		a.Padding = vg.Points(4)
	}
	p.Y.Tick.Label.XAlign = draw.XRight
	p.Y.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.XAlign = draw.XCenter
	p.X.Tick.Label.YAlign = draw.YTop
	p.Title.TextStyle = textStyle(regular, 10.5, color.Black)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	g := plotter.NewGrid()
	g.Vertical = draw.LineStyle{Color: gridColor, Width: vg.Points(0.5)}
	g.Horizontal = g.Vertical
	p.Add(g)
	return p
}

// axisRange sets an axis's scale, range and ticks to fit values: a log
// scale when they are positive and span a decade or more, else a linear one
// from zero (for quantities that start at zero) or padded around the data.
func axisRange(a *plot.Axis, values []float64, fromZero bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	posLo := math.Inf(1)
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
		if v > 0 {
			posLo = math.Min(posLo, v)
		}
	}
	switch {
	case math.IsInf(lo, 1): // nothing to show
		a.Min, a.Max = 0, 1
	case lo > 0 && hi/lo >= 10:
		setLog(a, lo, hi)
	default:
		if fromZero && lo >= 0 {
			lo = 0
		}
		if hi == lo {
			hi, lo = hi+math.Max(1, math.Abs(hi)*0.1), lo-math.Max(1, math.Abs(lo)*0.1)
			if fromZero && lo < 0 && posLo > 0 {
				lo = 0
			}
		}
		pad := (hi - lo) * 0.05
		if lo != 0 || !fromZero {
			lo -= pad
		}
		a.Min, a.Max = lo, hi+pad
	}
}

// setLog puts a on a log scale over [lo, hi], widened to 1-2-5 steps so
// that both ends carry a label.
func setLog(a *plot.Axis, lo, hi float64) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{}
	a.Min, a.Max = step125(lo, false), step125(hi, true)
}

// step125 rounds v to the next value of the 1, 2, 5 sequence below or above.
func step125(v float64, up bool) float64 {
	e := int(math.Floor(math.Log10(v)))
	best := math.NaN()
	for k := e - 1; k <= e+1; k++ {
		for _, m := range []float64{1, 2, 5} {
			c := m * math.Pow10(k)
			if up && c >= v*(1-1e-9) && !(c >= best) {
				best = c
			}
			if !up && c <= v*(1+1e-9) && !(c <= best) {
				best = c
			}
		}
	}
	return best
}

// logTicks labels a log axis at 1, 2 and 5 times powers of ten when it
// spans under three decades, else at the powers of ten only; the other
// integers times powers of ten are unlabelled minor ticks.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	labelled := map[float64]bool{1: true, 2: true, 5: true}
	if hi/lo > 1000 {
		labelled = map[float64]bool{1: true}
	}
	var ticks []plot.Tick
	for k := int(math.Floor(math.Log10(lo))); k <= int(math.Ceil(math.Log10(hi))); k++ {
		for m := 1.0; m < 10; m++ {
			v := m * math.Pow10(k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = formatNumber(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// numberTicks labels a linear axis every 1, 2 or 5 times a power of ten,
// four to nine labels over the range, with a minor tick between labels.
type numberTicks struct{}

func (numberTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	step := step125((hi-lo)/8, true)
	if (hi-lo)/step < 4 {
		step = step125((hi-lo)/4, false)
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo / step * 2); k <= math.Floor(hi/step*2); k++ {
		v := k * step / 2
		t := plot.Tick{Value: v}
		if int64(k)%2 == 0 {
			t.Label = formatNumber(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// formatNumber writes tick labels short: 20k for 20000, 1.5M, 0.25.
func formatNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return trimFloat(v/1e6) + "M"
	case a >= 1e4:
		return trimFloat(v/1e3) + "k"
	case a < 1e-9:
		return "0"
	}
	return trimFloat(v)
}

// trimFloat writes v in its shortest form, rounded to 12 significant
// digits so that sums of steps (0.2 + 0.4) print as written.
func trimFloat(v float64) string {
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// valueTicks labels an axis at the swept values, as written in the spec.
type valueTicks struct {
	pos    []float64
	labels []string
}

func (t valueTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := make([]plot.Tick, 0, len(t.pos))
	for i, p := range t.pos {
		if p >= lo && p <= hi {
			ticks = append(ticks, plot.Tick{Value: p, Label: t.labels[i]})
		}
	}
	return ticks
}

// legendEntry is one line of a legend: a label and what it looks like.
type legendEntry struct {
	label  string
	thumbs []plot.Thumbnailer
}

// panel is one plot of a figure with its legend, drawn to its right so
// that it never covers data.
type panel struct {
	plot   *plot.Plot
	legend []legendEntry
}

// figure is what is saved: a title, a note under it (what the bars mean,
// what was left out) and panels stacked top to bottom sharing the width.
type figure struct {
	name        string // file name without extension, relative to the output directory
	title, note string
	panels      []panel
}

// height is 4.6 in for one panel, 2.8 in more for each stacked one.
func (f *figure) height() vg.Length {
	if len(f.panels) > 1 {
		return vg.Length(len(f.panels))*stackedHeight + headHeight
	}
	return panelHeight + headHeight
}

func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle = textStyle(regular, 9.5, color.Black)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(24)
	l.Padding = vg.Points(2)
	return l
}

func (f *figure) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	c = draw.Crop(c, margin, -margin, margin, -margin)

	titleStyle := textStyle(regular, 14, color.Black)
	titleStyle.YAlign = draw.YTop
	y := c.Max.Y
	for _, line := range wrap(titleStyle, f.title, ", ", c.Size().X*0.87) {
		c.FillText(titleStyle, vg.Point{X: c.Min.X, Y: y}, line)
		y -= titleStyle.Height(line)
	}
	y -= vg.Points(2)
	noteStyle := textStyle(regular, 9, noteColor)
	noteStyle.YAlign = draw.YTop
	for _, line := range wrap(noteStyle, f.note, " · ", c.Size().X*0.87) {
		c.FillText(noteStyle, vg.Point{X: c.Min.X, Y: y}, line)
		y -= noteStyle.Height(line)
	}
	body := c
	body.Max.Y = y - vg.Points(6)

	legends := make([]plot.Legend, len(f.panels))
	var legendW vg.Length
	for i, p := range f.panels {
		legends[i] = newLegend()
		for _, e := range p.legend {
			legends[i].Add(e.label, e.thumbs...)
		}
		if len(p.legend) > 0 {
			// Slack for an SVG viewer that substitutes a wider face.
			legendW = max(legendW, legends[i].Rectangle(body).Size().X*1.15+vg.Points(12))
		}
	}
	// Axis labels are drawn here rather than by gonum/plot, which places
	// them by the data's midpoint and so pushes a log-scale panel down.
	labelStyle := textStyle(regular, 11, color.Black)
	labelH := labelStyle.Height("Ag")
	xLabels, yLabels := make([]string, len(f.panels)), make([]string, len(f.panels))
	plots := make([][]*plot.Plot, len(f.panels))
	for i, p := range f.panels {
		xLabels[i], yLabels[i] = p.plot.X.Label.Text, p.plot.Y.Label.Text
		p.plot.X.Label.Text, p.plot.Y.Label.Text = "", ""
		plots[i] = []*plot.Plot{p.plot}
	}
	defer func() { // the figure is drawn once per format
		for i, p := range f.panels {
			p.plot.X.Label.Text, p.plot.Y.Label.Text = xLabels[i], yLabels[i]
		}
	}()
	area := draw.Crop(body, labelH+vg.Points(4), -legendW, 0, 0)
	// Stacked panels share their x axis: only the lowest is labelled.
	shown := append([]string(nil), xLabels...)
	for i := 0; i+1 < len(f.panels); i++ {
		if shown[i] == shown[len(f.panels)-1] {
			shown[i] = ""
		}
	}
	tiles := draw.Tiles{Rows: len(f.panels), Cols: 1, PadY: vg.Points(12), PadBottom: labelH + vg.Points(2)}
	canvases := plot.Align(plots, tiles, area)
	for i, p := range f.panels {
		tc := canvases[i][0]
		p.plot.Draw(tc)
		dc := p.plot.DataCanvas(tc)
		xs := labelStyle
		xs.XAlign, xs.YAlign = draw.XCenter, draw.YTop
		tc.FillText(xs, vg.Point{X: dc.Center().X, Y: tc.Min.Y - vg.Points(1)}, shown[i])
		ys := labelStyle
		ys.XAlign, ys.YAlign, ys.Rotation = draw.XCenter, draw.YTop, math.Pi/2
		tc.FillText(ys, vg.Point{X: body.Min.X, Y: dc.Center().Y}, yLabels[i])
		if len(p.legend) > 0 {
			lc := tc
			lc.Min.X, lc.Max.X = area.Max.X+vg.Points(12), body.Max.X
			legends[i].Draw(lc)
		}
	}
}

// wrap breaks text at its separators into lines that fit width.
func wrap(sty text.Style, s, sep string, width vg.Length) []string {
	if s == "" {
		return nil
	}
	var lines []string
	cur := ""
	for _, part := range strings.Split(s, sep) {
		next := part
		if cur != "" {
			next = cur + sep + part
		}
		if cur != "" && sty.Width(next) > width {
			lines = append(lines, cur)
			next = part
		}
		cur = next
	}
	return append(lines, cur)
}

// Formats are the file formats figures can be saved in.
var Formats = []string{"png", "svg", "pdf"}

// save writes the figure once per format as path.<format>. gonum/plot
// panics on some degenerate input; that comes back as an error naming the
// figure, so that one bad figure does not stop the others.
func (f *figure) save(path string, formats []string) (written []string, err error) {
	w, h := figWidth, f.height()
	for _, format := range formats {
		var c vg.CanvasWriterTo
		switch format {
		case "png":
			c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}
		case "svg":
			c = vgsvg.New(w, h)
		case "pdf":
			c = pdfCanvas{vgpdf.New(w, h)}
		default:
			return written, fmt.Errorf("figure %s: unknown format %q (want %s)", f.name, format, strings.Join(Formats, ", "))
		}
		name := path + "." + format
		var buf bytes.Buffer
		if err := drawSafely(f, c); err != nil {
			return written, err
		}
		if _, err := c.WriteTo(&buf); err != nil {
			return written, fmt.Errorf("%s: %v", name, err)
		}
		data := buf.Bytes()
		if format == "svg" {
			data = svgFonts(data)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return written, unwritten(name, err)
		}
		written = append(written, name)
	}
	return written, nil
}

func drawSafely(f *figure, c vg.CanvasWriterTo) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("figure %s: cannot be drawn: %v", f.name, r)
		}
	}()
	f.draw(draw.New(c))
	return nil
}

// pdfCanvas encodes text in the code page gonum's PDF backend declares for
// its fonts (Windows-1252); handed UTF-8, it prints µ as "Âµ".
type pdfCanvas struct{ *vgpdf.Canvas }

func (c pdfCanvas) FillString(f font.Face, pt vg.Point, s string) {
	c.Canvas.FillString(f, pt, cp1252(s))
}

// cp1252 maps s to Windows-1252 bytes; a rune the code page lacks becomes '?'.
func cp1252(s string) string {
	special := map[rune]byte{'€': 0x80, '…': 0x85, '•': 0x95, '–': 0x96, '—': 0x97, '‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '−': '-'}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x80 || (r >= 0xA0 && r <= 0xFF):
			b = append(b, byte(r))
		case special[r] != 0:
			b = append(b, special[r])
		default:
			b = append(b, '?')
		}
	}
	return string(b)
}

// svgFonts names, after Liberation Sans, the faces that share its metrics,
// so that a viewer without it still fits every label where it was measured
// (embedding the font instead costs half a megabyte per figure).
func svgFonts(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"))
}
