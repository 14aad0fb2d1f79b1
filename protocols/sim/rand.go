package sim

import "math/bits"

// rng is xoshiro256** seeded through splitmix64. Protocol packages may not
// import math/rand, and the simulator needs its own stream anyway: every
// random choice of a run is drawn from one rng, so the seed alone fixes it.
type rng struct{ s [4]uint64 }

func newRNG(seed uint64) *rng {
	r := &rng{}
	for i := range r.s {
		seed += 0x9e3779b97f4a7c15
		r.s[i] = mix64(seed)
	}
	return r
}

// mix64 is splitmix64's finaliser: a bijection that spreads every input bit
// over the output. The trace hash uses it too.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) uint64() uint64 {
	s := &r.s
	out := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return out
}

// below returns a number in [0, n); 0 when n is 0. The multiply-high
// reduction's bias is below 2^-64 * n, far under anything a run could show.
func (r *rng) below(n uint64) uint64 {
	hi, _ := bits.Mul64(r.uint64(), n)
	return hi
}

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi uint64) uint64 {
	if hi <= lo {
		return lo
	}
	return lo + r.below(hi-lo+1)
}

// chance reports true with probability p. It draws nothing for p <= 0, so
// turning a fault off does not shift the rest of the run's choices more
// than the fault itself did.
func (r *rng) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return float64(r.uint64()>>11)/(1<<53) < p
}
