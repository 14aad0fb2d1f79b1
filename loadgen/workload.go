package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/replbench/replbench/replicas/app"
)

// Workload makes the payloads of a run's requests. A run asks it for one
// Source per caller before the first request, and uses each Source from one
// goroutine only, so a Source needs no locks.
type Workload interface {
	// Source returns the payload stream of caller i of n (0 <= i < n).
	Source(i, n int) Source
}

// Source is one caller's stream of request payloads.
type Source interface {
	// Next returns the next payload. It stays valid until the next call of
	// Next, so a source may reuse its memory.
	Next() []byte
}

// Fixed is the workload whose every request carries this payload, shared by
// all callers; the default of a run is Fixed(make([]byte, Config.Payload)).
type Fixed []byte

// Source returns the payload itself, every time.
func (f Fixed) Source(int, int) Source { return fixedSource(f) }

type fixedSource []byte

func (s fixedSource) Next() []byte { return s }

// Key distributions of YCSB.Distribution.
const (
	Uniform = "uniform" // every key equally likely
	Zipfian = "zipfian" // key of rank r (from 0) with probability proportional to 1/(r+1)^Theta
)

// DefaultTheta is the Zipfian skew YCSB uses: a few keys take most requests.
const DefaultTheta = 0.99

// YCSB describes a key-value workload in the style of the Yahoo! Cloud
// Serving Benchmark's core workloads, for the kv application: each request
// gets or puts one of the keys "user0" .. "user<Keys-1>", drawn from the
// distribution. With Preload, each caller first puts its share of the keys
// once (YCSB's load phase), so that gets find values; caller i of n puts
// keys i, i+n, i+2n, ... before it draws.
type YCSB struct {
	ReadRatio    float64 // fraction of gets, in [0, 1]; the rest are puts
	Keys         int     // number of keys, >= 1
	Distribution string  // Uniform or Zipfian; "" means Zipfian
	Theta        float64 // Zipfian skew, in (0, 1); 0 means DefaultTheta
	ValueSize    int     // bytes in the value of every put
	Preload      bool    // put every key once before drawing
	// Seed makes runs repeatable: caller i draws from the random stream
	// (Seed, i). Load generators that share a cluster need different seeds.
	Seed uint64
}

// ycsb is a checked YCSB with what its sources share.
type ycsb struct {
	YCSB
	zipf  *Zipf  // nil for Uniform
	value []byte // the value of every put
}

// NewYCSB checks y and prepares the tables its sources share.
func NewYCSB(y YCSB) (Workload, error) {
	if !(y.ReadRatio >= 0 && y.ReadRatio <= 1) {
		return nil, fmt.Errorf("loadgen: ycsb read ratio %g is not in [0, 1]", y.ReadRatio)
	}
	if y.Keys < 1 {
		return nil, fmt.Errorf("loadgen: ycsb needs at least 1 key, not %d", y.Keys)
	}
	if y.ValueSize < 0 {
		return nil, fmt.Errorf("loadgen: ycsb value size %d is negative", y.ValueSize)
	}
	w := &ycsb{YCSB: y, value: make([]byte, y.ValueSize)}
	switch y.Distribution {
	case Uniform:
	case Zipfian, "":
		w.Distribution = Zipfian
		if w.Theta == 0 {
			w.Theta = DefaultTheta
		}
		z, err := NewZipf(y.Keys, w.Theta)
		if err != nil {
			return nil, err
		}
		w.zipf = z
	default:
		return nil, fmt.Errorf("loadgen: unknown key distribution %q (want %q or %q)", y.Distribution, Uniform, Zipfian)
	}
	return w, nil
}

func (w *ycsb) Source(i, n int) Source {
	s := &ycsbSource{w: w, rng: rand.New(rand.NewPCG(w.Seed, uint64(i))), load: w.Keys}
	if w.Preload && n > 0 {
		s.load, s.stride = i, n
	}
	return s
}

type ycsbSource struct {
	w      *ycsb
	rng    *rand.Rand
	load   int // next key to preload; >= Keys once preloading is over
	stride int
	key    []byte
	op     []byte
}

func (s *ycsbSource) Next() []byte {
	var k int
	read := false
	if s.load < s.w.Keys {
		k = s.load
		s.load += s.stride
	} else {
		read = s.rng.Float64() < s.w.ReadRatio
		if s.w.zipf != nil {
			k = s.w.zipf.Rank(s.rng.Float64())
		} else {
			k = s.rng.IntN(s.w.Keys)
		}
	}
	s.key = strconv.AppendInt(append(s.key[:0], "user"...), int64(k), 10)
	if read {
		s.op = app.AppendGet(s.op[:0], s.key)
	} else {
		s.op = app.AppendPut(s.op[:0], s.key, s.w.value)
	}
	return s.op
}

// Zipf draws ranks 0 .. n-1 of a Zipfian distribution, rank r with
// probability (1/(r+1)^theta) / zeta(n, theta), where zeta(n, theta) is the
// sum of 1/i^theta for i = 1 .. n. It uses the method of Gray et al.
// ("Quickly Generating Billion-Record Synthetic Databases", SIGMOD 1994),
// as YCSB does: zeta is computed once, and each draw then costs one
// power. Ranks 0 and 1 have exactly their probabilities; the rest follow a
// continuous approximation, which at theta 0.99 draws ranks 2 to 10 about
// 9% too often as a group (the first 10 ranks together about 4%) and the
// far tail a little too rarely. Results stay comparable with YCSB's.
type Zipf struct {
	n            int
	theta, zetan float64
	alpha, eta   float64
	second       float64 // 1 + 0.5^theta: u*zetan below it draws rank 0 or 1
}

// NewZipf prepares draws over n ranks with skew theta. The method needs
// 0 < theta < 1: its exponent 1/(1-theta) has a pole at 1, and theta = 0 is
// the uniform distribution.
func NewZipf(n int, theta float64) (*Zipf, error) {
	if n < 1 {
		return nil, fmt.Errorf("loadgen: zipfian over %d keys; want at least 1", n)
	}
	if !(theta > 0 && theta < 1) {
		return nil, fmt.Errorf("loadgen: zipfian theta %g is not in (0, 1)", theta)
	}
	z := &Zipf{n: n, theta: theta, zetan: zeta(n, theta), alpha: 1 / (1 - theta)}
	z.second = 1 + math.Pow(0.5, theta)
	if n > 2 {
		// For n <= 2 every draw is rank 0 or 1 and eta is never used (its
		// formula divides 0 by 0 at n = 2).
		z.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - z.second/z.zetan)
	}
	return z, nil
}

// Rank maps u, uniform in [0, 1), to a rank.
func (z *Zipf) Rank(u float64) int {
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < z.second:
		return 1
	}
	r := int(float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(max(r, 0), z.n-1) // rounding must not leave the range
}

// Prob is the probability the distribution gives rank r.
func (z *Zipf) Prob(r int) float64 {
	if r < 0 || r >= z.n {
		return 0
	}
	return math.Pow(float64(r+1), -z.theta) / z.zetan
}

// exactZeta bounds the terms of zeta summed one by one; beyond it the
// Euler-Maclaurin formula gives the rest, so that a billion keys cost no
// more than a million.
const exactZeta = 1 << 20

// zeta returns the sum of 1/i^theta for i = 1 .. n.
func zeta(n int, theta float64) float64 {
	m := min(n, exactZeta)
	sum := 0.0
	for i := m; i >= 1; i-- { // smallest terms first, for accuracy
		sum += math.Pow(float64(i), -theta)
	}
	if n == m {
		return sum
	}
	// The sum of f(i) = i^-theta over i = a .. b is the integral of f from a
	// to b, plus (f(a)+f(b))/2, plus (f'(b)-f'(a))/12, with an error below
	// |f'''(a)|/720, about 1e-21 here.
	a, b := float64(m+1), float64(n)
	f := func(x float64) float64 { return math.Pow(x, -theta) }
	df := func(x float64) float64 { return -theta * math.Pow(x, -theta-1) }
	integral := (math.Pow(b, 1-theta) - math.Pow(a, 1-theta)) / (1 - theta)
	return sum + integral + (f(a)+f(b))/2 + (df(b)-df(a))/12
}
