package analysis

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"

	"github.com/replbench/replbench/experiments"
)

// loadKeys are the swept keys that set the offered load, in the order in
// which one is picked to run along a latency-throughput curve.
var loadKeys = []string{"load.rate", "load.clients", "load.outstanding"}

// preferredX are the keys picked for the x axis when a spec names no figures.
var preferredX = []string{"load.clients", "load.rate", "load.outstanding", "load.payload", "batch.size", "replicas"}

// orderKey is the load key a curve over a metric runs along, or "".
func (r *Run) orderKey() string {
	v := r.Varying()
	for _, k := range loadKeys {
		if slices.Contains(v, k) {
			return k
		}
	}
	return ""
}

// numericValue reads a swept value as a number: plain, a size (bytes) or a
// duration (seconds).
func numericValue(s string) (float64, bool) {
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		return v, true
	}
	if sz, err := experiments.ParseSize(s); err == nil {
		return float64(sz), true
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d.Seconds(), true
	}
	return 0, false
}

// sweptAxis places the values of a swept key along an axis: at their
// numbers when every value is one, else as evenly spaced categories.
type sweptAxis struct {
	key     string
	values  []string // in axis order
	numeric bool
	pos     map[string]float64
}

func newSweptAxis(key string, runs []*Run) *sweptAxis {
	a := &sweptAxis{key: key, numeric: true, pos: map[string]float64{}}
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.Points {
			v, ok := p.Values[key]
			if !ok || seen[v] {
				continue
			}
			seen[v] = true
			a.values = append(a.values, v)
			if _, ok := numericValue(v); !ok {
				a.numeric = false
			}
		}
	}
	if a.numeric {
		sort.SliceStable(a.values, func(i, j int) bool {
			x, _ := numericValue(a.values[i])
			y, _ := numericValue(a.values[j])
			return x < y
		})
	}
	for i, v := range a.values {
		if a.numeric {
			a.pos[v], _ = numericValue(v)
		} else {
			a.pos[v] = float64(i)
		}
	}
	return a
}

// apply sets ax's range and labels its ticks with the values as written.
func (a *sweptAxis) apply(ax *plot.Axis) {
	pos := make([]float64, len(a.values))
	for i, v := range a.values {
		pos[i] = a.pos[v]
	}
	if !a.numeric {
		ax.Min, ax.Max = -0.5, float64(len(a.values))-0.5
		ax.Tick.Marker = valueTicks{pos: pos, labels: a.values}
		return
	}
	axisRange(ax, pos, false)
	if len(a.values) <= 12 {
		ax.Tick.Marker = valueTicks{pos: pos, labels: a.values}
	}
}

// curve is one line of a figure: points of one run that differ only in the
// x key (or, for an x that is a metric, in the load key).
type curve struct {
	run    int    // index of the run among those drawn
	group  string // the label without the run's, which picks the colour
	label  string // the legend's text
	points []*Point
}

// curves splits the runs' points into curves for a figure over xKey: a
// swept key, or a metric with order naming each run's load key. A point
// joins the curve of the points that share its values of every other
// varying key; series leads the label, and keys that follow from the keys
// before them (replicas from protocol, when zipped) are left out of it.
func curves(runs []*Run, xKey string, xIsMetric bool, series string) []*curve {
	var out []*curve
	for ri, r := range runs {
		if !xIsMetric && !r.hasKey(xKey) {
			continue
		}
		skip := xKey
		if xIsMetric {
			skip = r.orderKey()
		}
		var keys []string
		if slices.Contains(r.Varying(), series) && series != skip {
			keys = append(keys, series)
		}
		for _, k := range r.Varying() {
			if k != skip && k != series {
				keys = append(keys, k)
			}
		}
		// Keys that follow from x (zipped with it, as load.outstanding with
		// load.clients) move along a curve; they must not split it.
		keys = independent(r, append([]string{skip}, keys...))[1:]
		labelKeys := independent(r, keys)
		byGroup := map[string]*curve{}
		for _, p := range r.Points {
			var id, label []string
			for _, k := range keys {
				id = append(id, p.Values[k])
			}
			for _, k := range labelKeys {
				label = append(label, k+"="+p.Values[k])
			}
			gid := strings.Join(id, "\x00")
			c := byGroup[gid]
			if c == nil {
				c = &curve{run: ri, group: strings.Join(label, ", ")}
				c.label = c.group
				if len(runs) > 1 {
					c.label = r.Label
					if c.group != "" {
						c.label += ": " + c.group
					}
				}
				byGroup[gid] = c
				out = append(out, c)
			}
			c.points = append(c.points, p)
		}
	}
	for _, c := range out {
		r := runs[c.run]
		order := xKey
		if xIsMetric {
			order = r.orderKey()
		}
		sort.SliceStable(c.points, func(a, b int) bool {
			x, okx := numericValue(c.points[a].Values[order])
			y, oky := numericValue(c.points[b].Values[order])
			if okx && oky {
				return x < y
			}
			return c.points[a].Index < c.points[b].Index
		})
	}
	return out
}

// independent drops from keys those whose value follows from the keys
// before them among the run's points.
func independent(r *Run, keys []string) []string {
	var kept []string
	for _, k := range keys {
		seen := map[string]string{}
		determined := len(kept) > 0
		for _, p := range r.Points {
			var id []string
			for _, j := range kept {
				id = append(id, p.Values[j])
			}
			gid := strings.Join(id, "\x00")
			if v, ok := seen[gid]; ok && v != p.Values[k] {
				determined = false
				break
			}
			seen[gid] = p.Values[k]
		}
		if !determined {
			kept = append(kept, k)
		}
	}
	return kept
}
