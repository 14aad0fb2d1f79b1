package cryptocost

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/replbench/replbench/keys"
)

// Op is an authenticator operation whose cost is measured.
type Op string

const (
	Sign    Op = "sign"    // Authenticator.Sign: what a broadcast carries; under hmac one MAC per replica
	SignFor Op = "signfor" // Authenticator.SignFor: for one receiver; one MAC under hmac, Sign otherwise
	Verify  Op = "verify"  // Authenticator.Verify of what Sign produced
)

// FitSize is a large message every operation is also measured at. Signing
// or verifying costs a fixed part plus hashing the message, a straight line
// in its length; the line through a small and this large size prices any
// message the model needs, from a 70-byte vote to a pre-prepare of 100
// requests.
const FitSize = 16 << 10

// Defaults of Options.
const (
	DefaultSize     = 100
	DefaultReplicas = 4
	DefaultRun      = 100 * time.Millisecond
	DefaultRuns     = 5
)

// Options says what Measure measures and how long.
type Options struct {
	Schemes  []keys.Scheme // default: keys.Schemes()
	Sizes    []int         // message lengths in bytes; default DefaultSize
	Replicas int           // deployment size: an hmac vector holds one MAC per replica
	RSABits  int           // 0: keys.DefaultRSABits
	Run      time.Duration // CPU time of one timed run
	Runs     int           // timed runs per measurement; the median is reported
	// Progress, if set, is called before each measurement.
	Progress func(s keys.Scheme, op Op, size int)
}

func (o *Options) setDefaults() error {
	if len(o.Schemes) == 0 {
		o.Schemes = keys.Schemes()
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []int{DefaultSize}
	}
	for _, s := range o.Sizes {
		if s < 0 {
			return fmt.Errorf("message size %d is negative", s)
		}
	}
	if o.Replicas == 0 {
		o.Replicas = DefaultReplicas
	}
	if o.Replicas < 1 {
		return fmt.Errorf("need at least one replica, got %d", o.Replicas)
	}
	if o.Run == 0 {
		o.Run = DefaultRun
	}
	if o.Run < 0 {
		return fmt.Errorf("run time %v is negative", o.Run)
	}
	if o.Runs == 0 {
		o.Runs = DefaultRuns
	}
	if o.Runs < 1 {
		return fmt.Errorf("need at least one run per measurement, got %d", o.Runs)
	}
	return nil
}

// Sample is the cost of one operation on messages of one length.
type Sample struct {
	Op      Op      `json:"op"`
	Size    int     `json:"size"`
	NsPerOp float64 `json:"ns_per_op"` // median over the runs of CPU time per operation
	MinNs   float64 `json:"min_ns"`    // fastest run
	MaxNs   float64 `json:"max_ns"`    // slowest run
	Runs    int     `json:"runs"`
	Iters   int     `json:"iterations_per_run"`
}

// OpsPerSecond is how many operations one core completes per second.
func (s Sample) OpsPerSecond() float64 { return 1e9 / s.NsPerOp }

// Spread is the range of the runs relative to the median: 0.03 means the
// slowest and fastest run lie within 3% of the median of each other.
func (s Sample) Spread() float64 {
	if s.NsPerOp == 0 {
		return 0
	}
	return (s.MaxNs - s.MinNs) / s.NsPerOp
}

// Cost is what one scheme costs and weighs on this machine.
type Cost struct {
	Scheme   keys.Scheme `json:"scheme"`
	Replicas int         `json:"replicas"` // the deployment the hmac vector was sized for
	// PublicKey is one principal's public key in PKIX DER, what keygen
	// writes (as PEM); for hmac one pairwise secret; for none 0.
	PublicKey int `json:"public_key_bytes"`
	// Auth bounds an authenticator for one receiver (ecdsa's ASN.1
	// signatures vary by a few bytes; this is the maximum).
	Auth int `json:"auth_bytes"`
	// Vector is what Sign appends: Auth, or under hmac one MAC per replica.
	Vector  int      `json:"vector_bytes"`
	Samples []Sample `json:"samples"`
}

// Sample returns the measurement of op at size, if there is one. SignFor
// falls back to Sign where the two are the same operation.
func (c *Cost) Sample(op Op, size int) (Sample, bool) {
	for _, s := range c.Samples {
		if s.Op == op && s.Size == size {
			return s, true
		}
	}
	if op == SignFor {
		return c.Sample(Sign, size)
	}
	return Sample{}, false
}

// Line returns the cost of op as fixed + perByte × length, in nanoseconds,
// the straight line through its measurements at the smallest and largest
// size. With one size measured the cost is taken as fixed.
func (c *Cost) Line(op Op) (fixed, perByte float64) {
	var lo, hi *Sample
	for i := range c.Samples {
		s := &c.Samples[i]
		if s.Op != op {
			continue
		}
		if lo == nil || s.Size < lo.Size {
			lo = s
		}
		if hi == nil || s.Size > hi.Size {
			hi = s
		}
	}
	switch {
	case lo == nil && op == SignFor:
		return c.Line(Sign)
	case lo == nil:
		return 0, 0
	case lo.Size == hi.Size:
		return lo.NsPerOp, 0
	}
	// Noise can tilt the line below zero on tiny costs (scheme none).
	perByte = max(0, (hi.NsPerOp-lo.NsPerOp)/float64(hi.Size-lo.Size))
	return max(0, lo.NsPerOp-perByte*float64(lo.Size)), perByte
}

// At is the CPU time in nanoseconds of op on a message of size bytes.
func (c *Cost) At(op Op, size int) float64 {
	fixed, perByte := c.Line(op)
	return fixed + perByte*float64(size)
}

// Measure times Sign, Verify and (under hmac, where it differs from Sign) SignFor of
// every scheme in opt at every size in opt.Sizes and at FitSize, on keys
// made in memory for opt.Replicas replicas and one client.
func Measure(ctx context.Context, opt Options) ([]Cost, error) {
	if err := opt.setDefaults(); err != nil {
		return nil, err
	}
	sizes := slices.Clone(opt.Sizes)
	sizes = append(sizes, FitSize)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	var out []Cost
	for _, scheme := range opt.Schemes {
		c, err := measureScheme(ctx, scheme, sizes, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func measureScheme(ctx context.Context, scheme keys.Scheme, sizes []int, opt Options) (Cost, error) {
	auths, err := keys.GenerateInMemoryWith(scheme, opt.Replicas, 1, keys.GenOptions{RSABits: opt.RSABits})
	if err != nil {
		return Cost{}, fmt.Errorf("measure %s: %w", scheme, err)
	}
	from, to := keys.Replica(0), keys.Replica(uint32(1%opt.Replicas))
	signer, verifier := auths[from], auths[to]
	bits := opt.RSABits
	if bits == 0 {
		bits = keys.DefaultRSABits
	}
	pub, err := publicKeySize(scheme, bits)
	if err != nil {
		return Cost{}, fmt.Errorf("measure %s: %w", scheme, err)
	}
	c := Cost{Scheme: scheme, Replicas: opt.Replicas, PublicKey: pub, Auth: authSize(signer), Vector: signer.MaxSize()}

	rng := rand.New(rand.NewPCG(1, uint64(len(scheme))))
	for _, size := range sizes {
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(rng.Uint32())
		}
		sig, err := signer.Sign(nil, msg)
		if err != nil {
			return Cost{}, fmt.Errorf("measure %s: %w", scheme, err)
		}
		buf := make([]byte, 0, signer.MaxSize())
		ops := []struct {
			op  Op
			run func() error
		}{
			{Sign, func() (err error) { buf, err = signer.Sign(buf[:0], msg); return err }},
			{Verify, func() error { return verifier.Verify(from, msg, sig) }},
		}
		// SignFor is Sign under the signature schemes (one signature serves
		// every receiver) and none; timing it again would only add noise.
		if scheme == keys.HMAC {
			ops = append(ops, struct {
				op  Op
				run func() error
			}{SignFor, func() (err error) { buf, err = signer.SignFor(buf[:0], msg, to); return err }})
		}
		for _, o := range ops {
			if err := ctx.Err(); err != nil {
				return Cost{}, err
			}
			if opt.Progress != nil {
				opt.Progress(scheme, o.op, size)
			}
			s, err := measure(o.run, opt.Run, opt.Runs)
			if err != nil {
				return Cost{}, fmt.Errorf("measure %s %s of %d bytes: %w", scheme, o.op, size, err)
			}
			s.Op, s.Size = o.op, size
			c.Samples = append(c.Samples, s)
		}
	}
	return c, nil
}

// authSize bounds an authenticator for one receiver.
func authSize(a keys.Authenticator) int {
	if a.Scheme() == keys.HMAC {
		return keys.MACSize
	}
	return a.MaxSize()
}

// maxRunsFactor caps the extra runs an unsteady measurement gets.
const maxRunsFactor = 3

// steadySpread is the interquartile range, relative to the median, below
// which the runs are taken as steady.
const steadySpread = 0.05

// measure times op: a warm-up that also sizes the runs, then runs timed
// runs of about run CPU time each. While the middle half of the runs
// spreads more than steadySpread it adds runs, up to maxRunsFactor × runs,
// so a measurement disturbed by a burst of other work gets a second look.
func measure(op func() error, run time.Duration, runs int) (Sample, error) {
	target := float64(run)
	// Warm up for half a run, doubling the batch until a batch takes a
	// tenth of a run: long enough that the clock's resolution does not matter.
	n, done, spent, perOp := 1, 0, 0.0, 0.0
	for spent < target/2 {
		d, err := timeN(op, n)
		if err != nil {
			return Sample{}, err
		}
		done, spent = done+n, spent+d
		if d >= target/10 {
			perOp = d / float64(n)
			continue
		}
		n *= 2
	}
	if perOp == 0 {
		perOp = spent / float64(done)
	}
	iters := max(1, int(math.Round(target/max(perOp, 1e-3))))

	var per []float64
	for len(per) < runs || (len(per) < maxRunsFactor*runs && iqr(per) > steadySpread) {
		d, err := timeN(op, iters)
		if err != nil {
			return Sample{}, err
		}
		per = append(per, d/float64(iters))
	}
	slices.Sort(per)
	return Sample{NsPerOp: median(per), MinNs: per[0], MaxNs: per[len(per)-1], Runs: len(per), Iters: iters}, nil
}

func timeN(op func() error, n int) (float64, error) {
	start := cpuTime()
	for range n {
		if err := op(); err != nil {
			return 0, err
		}
	}
	return cpuTime() - start, nil
}

// median of sorted xs.
func median(xs []float64) float64 {
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}

// iqr is the interquartile range of xs relative to their median.
func iqr(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	med := median(s)
	if med == 0 {
		return 0
	}
	q1, q3 := s[len(s)/4], s[(3*len(s))/4]
	return (q3 - q1) / med
}

var clockStart = time.Now()

// wallTime is the monotonic clock in nanoseconds.
func wallTime() float64 { return float64(time.Since(clockStart)) }
