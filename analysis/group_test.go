package analysis

import (
	"fmt"
	"slices"
	"testing"
)

// sweepRun builds a run over x (4 values) and, for each series value, a
// zipped companion key and an independent key.
func sweepRun(label string) *Run {
	r := &Run{Label: label, Swept: []string{"protocol", "replicas", "batch.size", "load.clients"}}
	i := 0
	for _, proto := range []struct{ name, n string }{{"unreplicated", "1"}, {"pbft", "4"}} {
		for _, batch := range []string{"1", "10"} {
			for _, clients := range []string{"16", "1", "4", "64"} { // out of order on purpose
				r.Points = append(r.Points, &Point{Index: i, Values: map[string]string{
					"protocol": proto.name, "replicas": proto.n, "batch.size": batch, "load.clients": clients}})
				i++
			}
		}
	}
	return r
}

func TestCurves(t *testing.T) {
	r := sweepRun("a")
	cs := curves([]*Run{r}, "load.clients", false, "protocol")
	var labels []string
	for _, c := range cs {
		labels = append(labels, c.label)
		var xs []string
		for _, p := range c.points {
			xs = append(xs, p.Values["load.clients"])
		}
		// Each curve has one point per x, in order along x; nothing is averaged away.
		if !slices.Equal(xs, []string{"1", "4", "16", "64"}) {
			t.Errorf("curve %q runs along %v", c.label, xs)
		}
	}
	want := []string{"protocol=unreplicated, batch.size=1", "protocol=unreplicated, batch.size=10",
		"protocol=pbft, batch.size=1", "protocol=pbft, batch.size=10"}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q (replicas follows from protocol)", labels, want)
	}

	// Over a metric, curves run along the load key.
	cs = curves([]*Run{r}, "throughput", true, "batch.size")
	if len(cs) != 4 || cs[0].label != "batch.size=1, protocol=unreplicated" || len(cs[0].points) != 4 {
		t.Errorf("curves over throughput: %d, first %q with %d points", len(cs), cs[0].label, len(cs[0].points))
	}

	// Overlaid runs: the run's label leads; the group (and so the colour) does not carry it.
	cs = curves([]*Run{r, sweepRun("b")}, "load.clients", false, "protocol")
	if len(cs) != 8 || cs[4].label != "b: protocol=unreplicated, batch.size=1" || cs[4].group != cs[0].group || cs[4].run != 1 {
		t.Errorf("overlay: %d curves, fifth %+v", len(cs), *cs[4])
	}
}

func TestFigureSpecs(t *testing.T) {
	r := sweepRun("a")
	d := &drawing{runs: []*Run{r}, rep: &Report{}}
	var got []string
	for _, s := range d.figureSpecs() {
		got = append(got, fmt.Sprintf("%s/%s/%s", s.Y, s.X, s.Series))
	}
	// No figures section: x is the load key, series the first other varying key.
	want := []string{"throughput/load.clients/protocol", "latency/load.clients/protocol", "latency/throughput/protocol"}
	if !slices.Equal(got, want) {
		t.Errorf("default figures %q, want %q", got, want)
	}
}
