package analysis

import "math"

// Stat condenses one metric over a point's repeats.
type Stat struct {
	N    int     // finite samples
	Mean float64 // NaN when N is 0
	SD   float64 // sample standard deviation; NaN when N < 2
	// CI95 is the half-width of the 95% confidence interval of the mean
	// (Student's t with N-1 degrees of freedom); NaN when N < 2.
	CI95     float64
	Min, Max float64 // NaN when N is 0
}

// Aggregate condenses xs, skipping NaNs (values a file did not have).
func Aggregate(xs []float64) Stat {
	s := Stat{Mean: math.NaN(), SD: math.NaN(), CI95: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	var sum float64
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		if s.N == 0 || x < s.Min {
			s.Min = x
		}
		if s.N == 0 || x > s.Max {
			s.Max = x
		}
		sum += x
		s.N++
	}
	if s.N == 0 {
		return s
	}
	s.Mean = sum / float64(s.N)
	if s.N < 2 {
		return s
	}
	var ss float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ss += (x - s.Mean) * (x - s.Mean)
		}
	}
	s.SD = math.Sqrt(ss / float64(s.N-1))
	s.CI95 = tQuantile975(s.N-1) * s.SD / math.Sqrt(float64(s.N))
	return s
}

// Spread is the half-width of the error bar the figures draw: one
// standard deviation or the 95% confidence interval of the mean; 0 when
// there are too few repeats for either.
func (s Stat) Spread(e ErrorBars) float64 {
	v := s.SD
	if e == CI95 {
		v = s.CI95
	}
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// t975 holds the 0.975 quantiles of Student's t for 1 to 30 degrees of freedom.
var t975 = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// tQuantile975 returns t(0.975, df); past the table, 1.96 + 2.4/df is
// within 0.002 of it.
func tQuantile975(df int) float64 {
	if df < 1 {
		return math.NaN()
	}
	if df <= len(t975) {
		return t975[df-1]
	}
	return 1.96 + 2.4/float64(df)
}
