package analysis

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
)

// The figures' look for figures drawn outside this package, such as
// 'replbench crypto --plot': the same size, fonts, colours, axes and
// legends beside the panels, from the one place that sets them.

// Panel is one plot of a figure with its legend, drawn to its right.
type Panel struct {
	Plot   *plot.Plot
	Legend []LegendEntry
}

// LegendEntry is one line of a panel's legend.
type LegendEntry struct {
	Label  string
	Thumbs []plot.Thumbnailer
}

// NewPanel returns a plot in the figures' style with its axis labels; a
// title set on it is drawn above its data.
func NewPanel(xLabel, yLabel string) *plot.Plot { return newPanel(xLabel, yLabel) }

// LineStyle is series i's line, dashed for j > 0 (the j-th of several runs
// or kinds of line drawn together).
func LineStyle(i, j int) draw.LineStyle { return lookFor(i, j).line() }

// GlyphStyle is series i's point marker.
func GlyphStyle(i int) draw.GlyphStyle { return lookFor(i, 0).glyphStyle() }

// FitAxis sets a's scale, range and ticks to fit values as the figures'
// axes are: a log scale when the values are positive and span a decade or
// more, else a linear one, from zero if fromZero.
func FitAxis(a *plot.Axis, values []float64, fromZero bool) { axisRange(a, values, fromZero) }

// SaveFigure draws title, note and panels, stacked, to path; its extension
// (.png, .svg or .pdf) picks the format.
func SaveFigure(path, title, note string, panels []Panel) error {
	ext := strings.TrimPrefix(filepath.Ext(path), ".")
	if !slices.Contains(Formats, ext) {
		return fmt.Errorf("figure %s: unknown format %q (want .%s)", path, filepath.Ext(path), strings.Join(Formats, ", ."))
	}
	f := &figure{name: filepath.Base(path), title: title, note: note}
	for _, p := range panels {
		var legend []legendEntry
		for _, e := range p.Legend {
			legend = append(legend, legendEntry{e.Label, e.Thumbs})
		}
		f.panels = append(f.panels, panel{plot: p.Plot, legend: legend})
	}
	if len(f.panels) == 0 {
		return fmt.Errorf("figure %s: nothing to draw", path)
	}
	_, err := f.save(strings.TrimSuffix(path, filepath.Ext(path)), []string{ext})
	return err
}
