package orchestrate

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/replbench/replbench/experiments"
)

// Plan is a run's points as they will run: the spec's sweep with the
// command line's overrides applied. NewPlan walks every point once to
// check it and to count jobs and time; the points are resolved again, one
// at a time, when they are written and run, so no sweep is held in memory.
type Plan struct {
	Spec *experiments.Spec
	// Override adjusts every point before it runs (the CLI's --duration and
	// similar flags). It checks what it changed, and its error names the
	// flag that made a point invalid: the points are not checked as a whole
	// again (at 50 µs a point, that would hold a 100,000-point sweep up for
	// seconds).
	Override func(*experiments.Spec) error

	Points      int
	Jobs        int           // every point times its repeats
	Load        time.Duration // the durations of all jobs together
	MinDuration time.Duration // of one job, warm-up and cool-down included
	MaxDuration time.Duration
	MinRepeat   int
	MaxRepeat   int
	MaxReplicas int      // the most replicas of any point: summary.csv's columns
	Swept       []string // the swept key paths, in axis order
}

// JobOverhead is the time a job is planned to take beyond its duration, to
// start and stop its processes (measured on loopback: 1 to 2 s).
const JobOverhead = 1500 * time.Millisecond

// NewPlan checks every point of spec with override applied, as the run
// will see it, and counts them. It returns ctx's error, wrapped, as soon as
// ctx ends.
func NewPlan(ctx context.Context, spec *experiments.Spec, override func(*experiments.Spec) error) (*Plan, error) {
	p := &Plan{Spec: spec, Override: override}
	for pt, err := range p.All() {
		if err != nil {
			return nil, err
		}
		if p.Points%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("plan the sweep: %w", err)
			}
		}
		if p.Points == 0 {
			for _, kv := range pt.Values {
				p.Swept = append(p.Swept, kv.Key)
			}
		}
		// The cluster each job runs with is checked now, not when its turn comes.
		if _, err := pointJobs(pt, ""); err != nil {
			return nil, err
		}
		c := &pt.Config
		reps := max(c.Repeat, 1)
		if p.Points == 0 {
			p.MinDuration, p.MaxDuration, p.MinRepeat, p.MaxRepeat = c.Duration, c.Duration, reps, reps
		}
		p.MinDuration, p.MaxDuration = min(p.MinDuration, c.Duration), max(p.MaxDuration, c.Duration)
		p.MinRepeat, p.MaxRepeat = min(p.MinRepeat, reps), max(p.MaxRepeat, reps)
		p.MaxReplicas = max(p.MaxReplicas, c.Replicas)
		p.Load += time.Duration(reps) * c.Duration
		p.Jobs += reps
		p.Points++
	}
	return p, nil
}

// All yields the points in run order with the override applied, each
// resolved when it is reached.
func (p *Plan) All() iter.Seq2[experiments.Point, error] {
	return func(yield func(experiments.Point, error) bool) {
		for pt, err := range p.Spec.All() {
			if err == nil && p.Override != nil {
				if err = p.Override(&pt.Config); err != nil {
					err = fmt.Errorf("point %s after command-line overrides: %w", pointName(pt), err)
				}
			}
			if !yield(pt, err) || err != nil {
				return
			}
		}
	}
}

// Estimate is the planned time of the whole run: every job's duration and
// its start-up and shut-down (JobOverhead).
func (p *Plan) Estimate() time.Duration {
	return p.Load + time.Duration(p.Jobs)*JobOverhead
}

// String says what will run and for about how long, e.g. "6 points × 1
// repeat = 6 jobs, estimated 57s (8s each, plus about 1.5s to start and
// stop its processes)".
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s × %s = %d %s, estimated %s (", p.Points, plural(p.Points, "point", "points"),
		span(p.MinRepeat, p.MaxRepeat, "repeat", "repeats"), p.Jobs, plural(p.Jobs, "job", "jobs"), Roughly(p.Estimate()))
	if p.MinDuration == p.MaxDuration {
		fmt.Fprintf(&b, "%v each", p.MinDuration)
	} else {
		fmt.Fprintf(&b, "%v to %v each", p.MinDuration, p.MaxDuration)
	}
	fmt.Fprintf(&b, ", plus about %v to start and stop its processes)", JobOverhead)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func span(lo, hi int, one, many string) string {
	if lo == hi {
		return fmt.Sprintf("%d %s", lo, plural(lo, one, many))
	}
	return fmt.Sprintf("%d to %d %s", lo, hi, many)
}

// Roughly writes a long duration the way people say it: "13d7h", "2h5m",
// "1m9s", "57s".
func Roughly(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day:
		d = d.Round(time.Hour)
		return fmt.Sprintf("%dd%dh", d/day, d%day/time.Hour)
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Second:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

// pointName is a point's label, or "base" when nothing is swept.
func pointName(p experiments.Point) string {
	if l := p.Label(); l != "" {
		return l
	}
	return "base"
}
