package analysis

import (
	"math"
	"testing"
)

func TestAggregate(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name           string
		xs             []float64
		n              int
		mean, sd, ci95 float64 // NaN: want NaN
	}{
		{"empty", nil, 0, nan, nan, nan},
		{"only NaN", []float64{nan, nan}, 0, nan, nan, nan},
		{"one", []float64{7}, 1, 7, nan, nan},
		{"two", []float64{12337.3, 14168.7}, 2, 13253, 1294.9954, 11634.88},
		{"four", []float64{1, 2, 3, 4}, 4, 2.5, 1.290994, 2.054},
		{"NaN skipped", []float64{1, nan, 2, 3, 4}, 4, 2.5, 1.290994, 2.054},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Aggregate(tc.xs)
			if s.N != tc.n {
				t.Errorf("N = %d, want %d", s.N, tc.n)
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"mean", s.Mean, tc.mean}, {"sd", s.SD, tc.sd}, {"ci95", s.CI95, tc.ci95}} {
				if !approx(c.got, c.want, 1e-3) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

// approx compares to a relative tolerance; NaN matches only NaN.
func approx(got, want, rel float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}

func TestTQuantile(t *testing.T) {
	// Reference values of t(0.975, df).
	for df, want := range map[int]float64{1: 12.706, 2: 4.303, 10: 2.228, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980, 100000: 1.960} {
		if got := tQuantile975(df); math.Abs(got-want) > 0.003 {
			t.Errorf("t(0.975, %d) = %.4f, want %.3f", df, got, want)
		}
	}
}

func TestSpread(t *testing.T) {
	s := Aggregate([]float64{1, 2, 3, 4})
	if s.Spread(SD) != s.SD || s.Spread(CI95) != s.CI95 {
		t.Errorf("Spread picks the wrong figure: %+v", s)
	}
	if one := Aggregate([]float64{5}); one.Spread(SD) != 0 || one.Spread(CI95) != 0 {
		t.Errorf("one repeat has no spread, got %v and %v", one.Spread(SD), one.Spread(CI95))
	}
}
