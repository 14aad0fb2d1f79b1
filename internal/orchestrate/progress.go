package orchestrate

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports a run's advance on stderr: a bar with ETA on a terminal,
// one line per job otherwise (CI logs). Its unit is planned seconds, so the
// ETA moves smoothly within a long point. It keeps nothing per job: a
// 100,000-point run costs it no more than a short one.
type progress struct {
	w       io.Writer
	jobs    int     // jobs in the run
	total   float64 // planned seconds of the whole run
	doneSec float64
	bar     *progressbar.ProgressBar
	began   time.Time
	mu      sync.Mutex
	stop    chan struct{}
	wg      sync.WaitGroup
}

// planned is a job's planned seconds: its duration and JobOverhead.
func planned(j *Job) float64 {
	return (j.Load.Warmup + j.Load.Duration + j.Load.Cooldown + JobOverhead).Seconds()
}

func newProgress(w io.Writer, plan *Plan) *progress {
	p := &progress{w: w, jobs: plan.Jobs, total: plan.Estimate().Seconds(), began: time.Now()}
	if w == nil {
		p.w = io.Discard
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(int64(p.total*10),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// start reports that job j, the i-th of the run (from 0), starts.
func (p *progress) start(i int, j *Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	desc := fmt.Sprintf("job %d/%d %s", i+1, p.jobs, j.Label)
	if p.bar == nil {
		// Whole lines: a remote run's messages (uploads) may come between.
		fmt.Fprintf(p.w, "%s (repeat %d): started\n", desc, j.Repeat+1)
		return
	}
	p.bar.Describe(desc)
	// Advance the bar within the job as its planned time passes.
	p.stop = make(chan struct{})
	began := time.Now()
	p.wg.Add(1)
	go func(stop chan struct{}, base, plan float64) {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				el := min(time.Since(began).Seconds(), plan*0.99)
				_ = p.bar.Set64(int64((base + el) * 10))
			}
		}
	}(p.stop, p.doneSec, planned(j))
}

func (p *progress) endJob(j *Job) {
	if p.stop != nil {
		close(p.stop)
		p.wg.Wait()
		p.stop = nil
	}
	p.doneSec += planned(j)
	if p.bar != nil {
		_ = p.bar.Set64(int64(p.doneSec * 10))
	}
}

func (p *progress) skip(i int, j *Job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneSec += planned(j)
	if p.bar == nil {
		fmt.Fprintf(p.w, "job %d/%d %s (repeat %d): finished in an earlier run, skipped\n", i+1, p.jobs, j.Label, j.Repeat+1)
	}
}

func (p *progress) done(i int, j *Job, r *PointResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endJob(j)
	if p.bar == nil {
		left := time.Duration((p.total - p.doneSec) * float64(time.Second))
		fmt.Fprintf(p.w, "job %d/%d: %.0f ops/s, p50 %.0f µs, p99 %.0f µs (about %s left)\n", i+1, p.jobs, r.Throughput, r.Latency.P50, r.Latency.P99, Roughly(left))
	}
}

// fail reports a job that did not finish: it failed, or was interrupted.
func (p *progress) fail(i int, j *Job, interrupted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endJob(j)
	if p.bar == nil {
		what := "failed"
		if interrupted {
			what = "interrupted"
		}
		fmt.Fprintf(p.w, "job %d/%d: %s\n", i+1, p.jobs, what)
	}
}

func (p *progress) finish(ran int) {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintf(p.w, "ran %d jobs in %v\n", ran, time.Since(p.began).Round(time.Second))
	}
}

// note prints a failure the run goes on after (--keep-going), above the bar.
func (p *progress) note(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, "%v\n(--keep-going: going on with the next job)\n", err)
}
