package analysis

import (
	"slices"
	"testing"

	"gonum.org/v1/plot"
)

func TestStep125(t *testing.T) {
	for _, tc := range []struct {
		v        float64
		up, down float64
	}{
		{133, 200, 100}, {1599, 2000, 1000}, {0.014, 0.02, 0.01}, {5, 5, 5}, {93067, 100000, 50000}, {1, 1, 1},
	} {
		if got := step125(tc.v, true); !approx(got, tc.up, 1e-12) {
			t.Errorf("step125(%v, up) = %v, want %v", tc.v, got, tc.up)
		}
		if got := step125(tc.v, false); !approx(got, tc.down, 1e-12) {
			t.Errorf("step125(%v, down) = %v, want %v", tc.v, got, tc.down)
		}
	}
}

// labelsOf lists the labelled ticks.
func labelsOf(ticks []plot.Tick) []string {
	var out []string
	for _, t := range ticks {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

func TestTickLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"log, under three decades: 1-2-5", labelsOf(logTicks{}.Ticks(100, 2000)), []string{"100", "200", "500", "1000", "2000"}},
		{"log, wider: powers of ten", labelsOf(logTicks{}.Ticks(0.01, 20)), []string{"0.01", "0.1", "1", "10"}},
		{"linear", labelsOf(numberTicks{}.Ticks(0, 1)), []string{"0", "0.2", "0.4", "0.6", "0.8", "1"}},
		{"linear, thousands", labelsOf(numberTicks{}.Ticks(0, 98000)), []string{"0", "20k", "40k", "60k", "80k"}},
		{"linear, millions", labelsOf(numberTicks{}.Ticks(0, 2.6e6)), []string{"0", "500k", "1M", "1.5M", "2M", "2.5M"}},
		{"nines", labelsOf(ninesTicks{}.Ticks(1, 20000)), []string{"0%", "90%", "99%", "99.9%", "99.99%"}},
		{"swept values as written", labelsOf(valueTicks{pos: []float64{100, 1024}, labels: []string{"100B", "1KiB"}}.Ticks(50, 2000)), []string{"100B", "1KiB"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: labels %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestAxisRange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		values   []float64
		fromZero bool
		log      bool
		min, max float64
	}{
		{"a decade or more: log, to 1-2-5 steps", []float64{652, 87466}, true, true, 500, 100000},
		{"under a decade: linear from zero", []float64{40, 300}, true, false, 0, 315},
		{"a zero: linear", []float64{0, 5000}, true, false, 0, 5250},
		{"not from zero: padded", []float64{10, 20}, false, false, 9.5, 20.5},
		{"nothing", nil, true, false, 0, 1},
	} {
		p := newPanel("", "")
		axisRange(&p.Y, tc.values, tc.fromZero)
		_, isLog := p.Y.Scale.(plot.LogScale)
		if isLog != tc.log || !approx(p.Y.Min, tc.min, 1e-9) || !approx(p.Y.Max, tc.max, 1e-9) {
			t.Errorf("%s: log %v, [%v, %v]; want log %v, [%v, %v]", tc.name, isLog, p.Y.Min, p.Y.Max, tc.log, tc.min, tc.max)
		}
	}
}

func TestNumericValue(t *testing.T) {
	for s, want := range map[string]float64{"16": 16, "0.5": 0.5, "100B": 100, "1KiB": 1024, "10ms": 0.01, "2s": 2} {
		if got, ok := numericValue(s); !ok || got != want {
			t.Errorf("numericValue(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"ed25519", "pbft", "", "NaN"} {
		if _, ok := numericValue(s); ok {
			t.Errorf("numericValue(%q) reads a number", s)
		}
	}
}

func TestCP1252(t *testing.T) {
	if got, want := cp1252("p99 (µs) · ±1 – ok ✓"), "p99 (\xb5s) \xb7 \xb11 \x96 ok ?"; got != want {
		t.Errorf("cp1252 = %q, want %q", got, want)
	}
}
