package loadgen

import (
	"errors"
	"fmt"
	"time"
)

// Caller issues one request asynchronously; done is called exactly once, from
// any goroutine (also from within Call). Call should return quickly: a Call
// that blocks delays that caller's later requests, which the corrected
// histogram then charges to them. The payload must not be modified, and it
// is valid only until Call returns: the Workload may reuse its memory for the
// caller's next request, so a Caller that keeps the payload copies it.
type Caller interface {
	Call(payload []byte, done func(err error))
}

// Clock is the time source of a run, injected so that tests can drive time.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Modes of Config.Mode.
const (
	Closed = "closed" // each caller keeps Outstanding requests in flight
	Open   = "open"   // requests are sent on a schedule, whatever the replies do
)

// Defaults for the zero values of Config.
const (
	DefaultGrace       = 2 * time.Second
	DefaultMaxInFlight = 10000
)

// Config describes one run.
type Config struct {
	Mode        string  // Closed (the default) or Open
	Outstanding int     // closed loop: requests in flight per caller; 0 means 1
	Rate        float64 // open loop: requests per second over all callers
	Pacer       Pacer   // open loop: the schedule; nil means ConstantPacer{Rate}
	Payload     int     // request size in bytes, when Workload is nil
	// Workload makes the payloads; nil means Fixed(make([]byte, Payload)).
	Workload Workload

	Warmup, Duration, Cooldown time.Duration

	// Grace bounds the wait for requests still in flight once issuing stops;
	// those that do not complete in time count as unfinished errors. 0 means
	// DefaultGrace.
	Grace time.Duration
	// MaxInFlight bounds the open loop's requests due but not completed, per
	// caller; a request due beyond it is dropped and counted as an error, so a
	// stalled system cannot make the load generator grow without bound. 0
	// means DefaultMaxInFlight.
	MaxInFlight int

	Clock Clock // nil means the real clock
}

// normalize fills in defaults and rejects a configuration Run cannot honour.
func (c Config) normalize(callers int) (Config, error) {
	if callers == 0 {
		return c, errors.New("loadgen: no callers")
	}
	if c.Mode == "" {
		c.Mode = Closed
	}
	switch c.Mode {
	case Closed:
		if c.Outstanding == 0 {
			c.Outstanding = 1
		}
		if c.Outstanding < 0 {
			return c, fmt.Errorf("loadgen: outstanding %d is negative", c.Outstanding)
		}
	case Open:
		if c.Pacer == nil {
			if !(c.Rate > 0) {
				return c, fmt.Errorf("loadgen: open loop needs a rate > 0, not %g", c.Rate)
			}
			c.Pacer = ConstantPacer{Rate: c.Rate}
		}
	default:
		return c, fmt.Errorf("loadgen: unknown mode %q (want %q or %q)", c.Mode, Closed, Open)
	}
	if c.Payload < 0 {
		return c, fmt.Errorf("loadgen: payload %d is negative", c.Payload)
	}
	if c.Payload != 0 && c.Workload != nil {
		return c, errors.New("loadgen: set Payload or Workload, not both")
	}
	if c.Duration <= 0 {
		return c, fmt.Errorf("loadgen: duration %v is not positive", c.Duration)
	}
	if c.Warmup < 0 || c.Cooldown < 0 || c.Grace < 0 {
		return c, fmt.Errorf("loadgen: negative warmup %v, cooldown %v or grace %v", c.Warmup, c.Cooldown, c.Grace)
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxInFlight < 0 {
		return c, fmt.Errorf("loadgen: max in flight %d is negative", c.MaxInFlight)
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	return c, nil
}
