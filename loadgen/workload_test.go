package loadgen

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replbench/replbench/replicas/app"
)

func TestFixed(t *testing.T) {
	payload := []byte("same bytes")
	w := Fixed(payload)
	a, b := w.Source(0, 2), w.Source(1, 2)
	for range 3 {
		for _, p := range [][]byte{a.Next(), b.Next()} {
			if &p[0] != &payload[0] || len(p) != len(payload) {
				t.Fatal("Fixed returned other memory than its payload")
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = a.Next() }); n != 0 {
		t.Errorf("Fixed Next allocates %v times, want 0", n)
	}
}

// op is a decoded kv operation.
type op struct {
	code  byte
	key   int // N of "user<N>"
	value int // put: value length
}

func decode(t *testing.T, p []byte) op {
	t.Helper()
	if len(p) == 0 {
		t.Fatal("empty op")
	}
	n, k := binary.Uvarint(p[1:])
	if k <= 0 || n > uint64(len(p)-1-k) {
		t.Fatalf("malformed op %q", p)
	}
	key, rest := string(p[1+k:1+k+int(n)]), p[1+k+int(n):]
	digits, found := strings.CutPrefix(key, "user")
	id, err := strconv.Atoi(digits)
	if !found || err != nil {
		t.Fatalf("key %q is not user<N>", key)
	}
	switch p[0] {
	case app.OpGet:
		if len(rest) != 0 {
			t.Fatalf("get with %d bytes after its key", len(rest))
		}
	case app.OpPut:
	default:
		t.Fatalf("op code %q, want G or P", p[0])
	}
	return op{p[0], id, len(rest)}
}

func newYCSB(t *testing.T, y YCSB) Workload {
	t.Helper()
	w, err := NewYCSB(y)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

const draws = 100_000

func TestYCSBReadRatio(t *testing.T) {
	for _, ratio := range []float64{0, 0.05, 0.5, 0.95, 1} {
		src := newYCSB(t, YCSB{ReadRatio: ratio, Keys: 50, Distribution: Uniform, ValueSize: 7, Seed: 3}).Source(0, 1)
		gets := 0
		for range draws {
			o := decode(t, src.Next())
			if o.key >= 50 {
				t.Fatalf("key user%d beyond the 50 keys", o.key)
			}
			if o.code == app.OpGet {
				gets++
			} else if o.value != 7 {
				t.Fatalf("put of %d bytes, want 7", o.value)
			}
		}
		// Five standard deviations of a binomial count; exact at 0 and 1.
		tol := 5 * math.Sqrt(draws*ratio*(1-ratio))
		if want := ratio * draws; math.Abs(float64(gets)-want) > tol {
			t.Errorf("read ratio %g: %d gets of %d, want %.0f ± %.0f", ratio, gets, draws, want, tol)
		}
	}
}

func TestYCSBUniform(t *testing.T) {
	const keys = 100
	src := newYCSB(t, YCSB{ReadRatio: 0.5, Keys: keys, Distribution: Uniform, Seed: 9}).Source(0, 1)
	var count [keys]int
	for range draws {
		count[decode(t, src.Next()).key]++
	}
	// Pearson's chi-square over 99 degrees of freedom has mean 99 and
	// standard deviation 14; 160 is exceeded with probability about 1e-4.
	expected, chi2 := float64(draws)/keys, 0.0
	for _, c := range count {
		chi2 += (float64(c) - expected) * (float64(c) - expected) / expected
	}
	if chi2 > 160 {
		t.Errorf("chi-square %.1f over %d keys: not uniform", chi2, keys)
	}
}

func TestYCSBZipfian(t *testing.T) {
	const keys = 1000
	w := newYCSB(t, YCSB{ReadRatio: 0.5, Keys: keys, Seed: 5}) // Zipfian and theta 0.99 by default
	z, err := NewZipf(keys, DefaultTheta)
	if err != nil {
		t.Fatal(err)
	}
	src := w.Source(0, 1)
	var count [keys]int
	for range draws {
		count[decode(t, src.Next()).key]++
	}
	// Ranks 0 and 1 are drawn with their exact probabilities (about 0.134
	// and 0.067 here): within five standard deviations.
	for r := range 2 {
		p := z.Prob(r)
		if tol := 5 * math.Sqrt(draws*p*(1-p)); math.Abs(float64(count[r])-draws*p) > tol {
			t.Errorf("rank %d drawn %d times, want %.0f ± %.0f", r, count[r], draws*p, tol)
		}
	}
	// Beyond them the method approximates: it draws the first 10 ranks
	// about 4% too often here, the first 100 about 1.5%. Their mass must
	// stay within 6% of the true one.
	for _, top := range []int{10, 100} {
		got, want := 0, 0.0
		for r := range top {
			got += count[r]
			want += z.Prob(r) * draws
		}
		if math.Abs(float64(got)-want) > 0.06*want {
			t.Errorf("top %d ranks drawn %d times, want %.0f ± 6%%", top, got, want)
		}
	}
	if !(count[0] > count[1] && count[1] > count[10] && count[10] > count[100]) {
		t.Errorf("popularity does not fall with rank: %d, %d, %d, %d", count[0], count[1], count[10], count[100])
	}
}

func TestZipfEdges(t *testing.T) {
	for _, tt := range []struct {
		n     int
		theta float64
		want  string
	}{
		{0, 0.5, "over 0 keys"},
		{10, 0, "theta 0 is not in (0, 1)"},
		{10, 1, "theta 1 is not in (0, 1)"},
		{10, math.NaN(), "theta NaN"},
	} {
		if _, err := NewZipf(tt.n, tt.theta); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewZipf(%d, %g) = %v, want an error containing %q", tt.n, tt.theta, err, tt.want)
		}
	}
	below1 := math.Nextafter(1, 0)
	for _, n := range []int{1, 2, 3, 1000} {
		for _, theta := range []float64{0.01, 0.5, 0.99, 0.999999} {
			z, err := NewZipf(n, theta)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []float64{0, 1e-9, 0.3, 0.5, 0.9, below1} {
				if r := z.Rank(u); r < 0 || r >= n || n <= 2 && r > 1 {
					t.Errorf("n %d theta %g: Rank(%g) = %d, out of range", n, theta, u, r)
				}
			}
			if z.Rank(0) != 0 {
				t.Errorf("n %d theta %g: Rank(0) = %d, want 0", n, theta, z.Rank(0))
			}
			sum := 0.0
			for r := range n {
				sum += z.Prob(r)
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("n %d theta %g: probabilities sum to %g", n, theta, sum)
			}
		}
	}
}

// TestZeta checks the Euler-Maclaurin tail against the plain sum.
func TestZeta(t *testing.T) {
	n := exactZeta + 54321
	for _, theta := range []float64{0.2, 0.99} {
		plain := 0.0
		for i := n; i >= 1; i-- {
			plain += math.Pow(float64(i), -theta)
		}
		if got := zeta(n, theta); math.Abs(got-plain) > 1e-12*plain {
			t.Errorf("zeta(%d, %g) = %.15g, plain sum %.15g", n, theta, got, plain)
		}
	}
}

func TestYCSBDeterminism(t *testing.T) {
	stream := func(y YCSB, caller int) string {
		src := newYCSB(t, y).Source(caller, 4)
		var b strings.Builder
		for range 1000 {
			b.Write(src.Next())
		}
		return b.String()
	}
	base := YCSB{ReadRatio: 0.5, Keys: 1000, ValueSize: 4, Seed: 1}
	other := base
	other.Seed = 2
	if first, again := stream(base, 0), stream(base, 0); first != again {
		t.Error("the same seed and caller gave different streams")
	}
	if stream(base, 0) == stream(base, 1) {
		t.Error("two callers drew the same stream")
	}
	if stream(base, 0) == stream(other, 0) {
		t.Error("two seeds gave the same stream")
	}
}

func TestYCSBPreload(t *testing.T) {
	const keys, callers = 10, 3
	w := newYCSB(t, YCSB{ReadRatio: 1, Keys: keys, Preload: true})
	put := map[int]int{}
	for i := range callers {
		src := w.Source(i, callers)
		for k := i; k < keys; k += callers {
			o := decode(t, src.Next())
			if o.code != app.OpPut || o.key != k {
				t.Fatalf("caller %d: preload op %c user%d, want put user%d", i, o.code, o.key, k)
			}
			put[o.key]++
		}
		if o := decode(t, src.Next()); o.code != app.OpGet {
			t.Errorf("caller %d: after preloading, a put at read ratio 1", i)
		}
	}
	if len(put) != keys {
		t.Errorf("preload put %d distinct keys, want %d", len(put), keys)
	}
}

func TestNewYCSBErrors(t *testing.T) {
	tests := []struct {
		y    YCSB
		want string
	}{
		{YCSB{ReadRatio: 1.5, Keys: 1}, "read ratio 1.5"},
		{YCSB{ReadRatio: math.NaN(), Keys: 1}, "read ratio NaN"},
		{YCSB{ReadRatio: -0.1, Keys: 1}, "read ratio -0.1"},
		{YCSB{Keys: 0}, "at least 1 key"},
		{YCSB{Keys: 1, ValueSize: -1}, "value size -1"},
		{YCSB{Keys: 1, Distribution: "normal"}, `unknown key distribution "normal"`},
		{YCSB{Keys: 1, Theta: 1}, "theta 1"},
	}
	for _, tt := range tests {
		if _, err := NewYCSB(tt.y); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewYCSB(%+v) = %v, want an error containing %q", tt.y, err, tt.want)
		}
	}
	if _, err := Run(context.Background(), []Caller{instantCaller{}}, Config{Payload: 1, Workload: Fixed{1}, Duration: time.Second}); err == nil {
		t.Error("Run accepted both Payload and Workload")
	}
}

// kvCaller executes every request on a kv store at once and completes it
// after a delay on the fake clock, as a server would.
type kvCaller struct {
	clk *fakeClock
	mu  *sync.Mutex
	kv  *app.KV
	st  *[3]int // results by status
}

func (c kvCaller) Call(payload []byte, done func(error)) {
	c.mu.Lock()
	res := c.kv.Execute(nil, payload)
	c.st[res[0]]++
	c.mu.Unlock()
	c.clk.AfterFunc(time.Millisecond, func() { done(nil) })
}

// TestRunYCSBOnKV drives the kv application with a YCSB workload through
// Run: the preload fills the store, every operation is well formed, and
// gets find their keys.
func TestRunYCSBOnKV(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		var mu sync.Mutex
		var st [3]int
		kv := app.NewKV()
		callers := []Caller{kvCaller{clk, &mu, kv, &st}, kvCaller{clk, &mu, kv, &st}}
		w := newYCSB(t, YCSB{ReadRatio: 0.9, Keys: 300, ValueSize: 100, Preload: true, Seed: 1})
		res, err := runFake(t, context.Background(), clk, callers, Config{Outstanding: 2, Workload: w, Warmup: time.Second, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// Two callers, two slots each, one request per slot per millisecond.
		if res.Completed != 4000 || res.Errors != 0 {
			t.Errorf("measured %d completed, %d errors; want 4000, 0", res.Completed, res.Errors)
		}
		if kv.Len() != 300 {
			t.Errorf("the store holds %d keys, want all 300", kv.Len())
		}
		if st[app.StatusBadOp] != 0 || st[app.StatusNotFound] > 10 {
			t.Errorf("results by status (ok, not found, bad op) = %v: want no bad ops and (almost) no misses", st)
		}
		if got := app.NewKV(); got.Restore(kv.Snapshot()) != nil || got.Digest() != kv.Digest() {
			t.Error("the store does not survive a snapshot")
		}
	})
}

// BenchmarkWorkload measures the cost of making one payload.
func BenchmarkWorkload(b *testing.B) {
	mk := func(y YCSB) Workload {
		w, err := NewYCSB(y)
		if err != nil {
			b.Fatal(err)
		}
		return w
	}
	for _, bm := range []struct {
		name string
		w    Workload
	}{
		{"fixed", Fixed(make([]byte, 100))},
		{"ycsb-uniform", mk(YCSB{ReadRatio: 0.5, Keys: 100_000, Distribution: Uniform, ValueSize: 100})},
		{"ycsb-zipfian", mk(YCSB{ReadRatio: 0.5, Keys: 100_000, ValueSize: 100})},
	} {
		b.Run(bm.name, func(b *testing.B) {
			src := bm.w.Source(0, 1)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n += len(src.Next())
			}
			if n == 0 {
				b.Fatal("empty payloads")
			}
		})
	}
}

// BenchmarkNewZipf measures the set-up of a zipfian workload: computing zeta.
func BenchmarkNewZipf(b *testing.B) {
	for _, n := range []int{1000, 1_000_000, 1_000_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := NewZipf(n, DefaultTheta); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
