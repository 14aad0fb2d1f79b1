package loadgen

import (
	"math"
	"time"
)

// Pacer schedules open-loop requests. Due returns how long after elapsed the
// request numbered sent (counting from 0) is due; zero or negative means it
// is already due, and elapsed+wait is the time it was due. Due must be a pure
// function, and the due time elapsed+wait must not decrease as sent grows.
type Pacer interface {
	Due(elapsed time.Duration, sent uint64) (wait time.Duration)
}

// ConstantPacer sends Rate requests per second, evenly spaced: request n is
// due at n/Rate seconds.
type ConstantPacer struct {
	Rate float64 // requests per second, > 0
}

// Due implements Pacer.
func (p ConstantPacer) Due(elapsed time.Duration, sent uint64) time.Duration {
	if p.Rate <= 0 {
		return math.MaxInt64 // never: an invalid rate sends nothing rather than everything
	}
	// Rounding to the nanosecond keeps due times exact for rates that divide
	// a second, so a request due on a phase boundary lands in the later phase.
	due := math.Round(float64(sent) * float64(time.Second) / p.Rate)
	if due >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(due) - elapsed
}
