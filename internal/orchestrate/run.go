// Package orchestrate runs experiment specs: it expands a spec into jobs,
// runs each job's replica and load generator processes (Local: on
// loopback; Remote: on the hosts of a hosts file over SSH), samples
// their resources and writes the results layout described in README.md
// ("Results").
package orchestrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/replbench/replbench/analysis"
	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/node"
)

// Runner runs one job and returns its result.
type Runner interface {
	Run(ctx context.Context, job *Job) (*PointResult, error)
}

// Options configures a run of one spec.
type Options struct {
	SpecPath string // the spec file, copied into the results as given
	Plan     *Plan  // the spec's points with the command line's overrides (NewPlan)
	Results  string // results root; the run goes to Results/<spec name>/<run id>
	Resume   bool   // continue the newest run of this spec, skipping finished jobs
	// KeepGoing runs the remaining jobs after one fails (an unreachable
	// host, a dead replica) instead of stopping; Ctrl-C always stops.
	KeepGoing bool
	Runner    Runner
	Progress  io.Writer // progress on long work (stderr)
	Out       io.Writer // the summary table (stdout)
	Command   []string  // the command line, recorded in meta.json
	Hosts     []string  // where processes run, recorded in meta.json; nil means this machine
	// NodeBinaries, if set, describes the binaries replicas and clients
	// run as, for meta.json (Binaries.Used).
	NodeBinaries func() []BinaryInfo
}

// Summary is what a finished (or stopped) run produced.
type Summary struct {
	Dir         string
	Results     []*PointResult
	Skipped     int // jobs found finished by --resume
	Failed      []error
	Total       int
	Finished    bool
	Interrupted bool // ctx ended (Ctrl-C) before the run was done
	// Figures is why figures or tables could not be written (a full
	// disk), naming the files; the run is then incomplete.
	Figures error
}

// ErrInterrupted is wrapped by Run's error when ctx ended (Ctrl-C) before
// the run was done.
var ErrInterrupted = errInterrupted

// Run runs every job of the plan that is not finished yet. It stops at the
// first failed job (a dead replica, a failed load generator), or, within
// moments, at ctx's end in any phase (writing expanded.yaml, running a job,
// drawing figures), after writing summary.csv for the jobs that finished.
// Points are resolved one at a time as their turn comes, so a large sweep
// is never held in memory.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	plan := opt.Plan
	given, err := os.ReadFile(opt.SpecPath)
	if err != nil {
		return nil, err
	}
	dir, err := runDir(opt, given)
	if err != nil {
		return nil, err
	}
	// Until the first job starts, a new run's directory holds nothing worth
	// keeping: a failure here removes it rather than leave an empty run.
	abandon := func(err error) (*Summary, error) {
		if opt.Resume {
			return nil, err
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove the unused run directory: %w", rerr))
		}
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), given, 0o644); err != nil {
		return abandon(writeError(filepath.Join(dir, "spec.yaml"), err))
	}
	if err := writeExpanded(ctx, filepath.Join(dir, "expanded.yaml"), plan); err != nil {
		if ctx.Err() != nil && opt.Resume {
			return nil, fmt.Errorf("%w while writing expanded.yaml; continue with --resume (%s)", ErrInterrupted, dir)
		}
		if ctx.Err() != nil {
			return abandon(fmt.Errorf("%w while writing expanded.yaml, before any job ran", ErrInterrupted))
		}
		return abandon(err)
	}
	meta, err := startMeta(dir, opt.Resume, plan.Spec, opt.Command, opt.Hosts)
	if err != nil {
		return abandon(err)
	}
	meta.binaries(opt.NodeBinaries)
	if err := node.WriteJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
		return abandon(err)
	}

	sum := &Summary{Dir: dir, Total: plan.Jobs}
	prog := newProgress(opt.Progress, plan)
	var rows [][]string
	var runErr error
	i, ran := 0, 0 // jobs reached, jobs started
	var stoppedAt *Job
points:
	for pt, err := range plan.All() {
		if err != nil {
			runErr = err
			break
		}
		jobs, err := pointJobs(pt, dir)
		if err != nil {
			runErr = err
			break
		}
		for _, job := range jobs {
			if ctx.Err() != nil {
				sum.Interrupted, stoppedAt = true, job
				break points
			}
			summaryPath := filepath.Join(job.Dir, "summary.json")
			if opt.Resume {
				var res PointResult
				if node.ReadJSON(summaryPath, &res) == nil {
					sum.Results = append(sum.Results, &res)
					rows = append(rows, summaryRow(&res, job.Values, plan.MaxReplicas))
					sum.Skipped++
					prog.skip(i, job)
					i++
					continue
				}
			}
			prog.start(i, job)
			ran++
			res, err := opt.Runner.Run(ctx, job)
			if err == nil {
				err = errors.Join(writeTimeline(filepath.Join(job.Dir, "timeline.csv"), res), node.WriteJSON(summaryPath, res))
			}
			if err != nil {
				interrupted := ctx.Err() != nil
				if interrupted {
					err = errInterrupted
				}
				err = fmt.Errorf("point %d/%d (%s, repeat %d): %w", i+1, plan.Jobs, job.Label, job.Repeat+1, err)
				if werr := os.WriteFile(filepath.Join(job.Dir, "error.txt"), []byte(err.Error()+"\n"), 0o644); werr != nil {
					err = fmt.Errorf("%w\n(this error is not in error.txt either: %v)", err, writeError(filepath.Join(job.Dir, "error.txt"), werr))
				}
				prog.fail(i, job, interrupted)
				if interrupted {
					sum.Interrupted, stoppedAt = true, job
					break points
				}
				sum.Failed = append(sum.Failed, err)
				if !opt.KeepGoing {
					break points
				}
				prog.note(err)
				i++
				continue
			}
			sum.Results = append(sum.Results, res)
			rows = append(rows, summaryRow(res, job.Values, plan.MaxReplicas))
			prog.done(i, job, res)
			i++
		}
	}
	prog.finish(ran)
	switch {
	case runErr != nil:
	case len(sum.Failed) == 1:
		runErr = sum.Failed[0]
	case len(sum.Failed) > 1:
		runErr = fmt.Errorf("%d jobs failed:\n%w", len(sum.Failed), errors.Join(sum.Failed...))
	}
	sum.Finished = runErr == nil && !sum.Interrupted

	if err := writeCSV(filepath.Join(dir, "summary.csv"), summaryHeader(plan.Swept, plan.MaxReplicas), rows); err != nil {
		return sum, errors.Join(runErr, err)
	}
	meta.end(sum.Finished)
	meta.binaries(opt.NodeBinaries) // remote platforms' binaries are built as their hosts are first used
	if err := node.WriteJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
		return sum, errors.Join(runErr, err)
	}
	if sum.Interrupted {
		if opt.Out != nil {
			printTable(opt.Out, sum)
		}
		fmt.Fprintf(progressOut(opt.Progress), "figures: not drawn (interrupted); draw them with: replbench plot %s\n", dir)
		return sum, fmt.Errorf("%w at job %d/%d (%s, repeat %d); %d of %d jobs finished and kept in %s; continue with --resume",
			ErrInterrupted, i+1, plan.Jobs, stoppedAt.Label, stoppedAt.Repeat+1, len(sum.Results), plan.Jobs, dir)
	}
	drawn, figErr := drawFigures(ctx, opt.Progress, dir, len(sum.Results) > 0)
	if !drawn {
		sum.Interrupted = true
		return sum, fmt.Errorf("%w while drawing figures; the results are complete in %s; draw the figures with: replbench plot %s", ErrInterrupted, dir, dir)
	}
	sum.Figures = figErr
	if opt.Out != nil {
		printTable(opt.Out, sum)
	}
	if runErr != nil {
		return sum, fmt.Errorf("%w\n%d of %d jobs finished and kept in %s; continue with --resume", runErr, len(sum.Results), plan.Jobs, dir)
	}
	if sum.Figures != nil {
		return sum, fmt.Errorf("%w\nthe measurements are complete in %s; draw the figures again with 'replbench plot %s'", sum.Figures, dir, dir)
	}
	return sum, nil
}

// writeExpanded writes expanded.yaml one point at a time, to a temporary
// file renamed into place, so an interrupted write leaves no half file (a
// resumed run keeps the one it had).
func writeExpanded(ctx context.Context, path string, plan *Plan) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".expanded-*.yaml")
	if err != nil {
		return fmt.Errorf("write expanded.yaml: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing to remove
	err = experiments.WriteExpanded(ctx, f, plan.Spec.Name, plan.All())
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write expanded.yaml: %w", err)
	}
	return nil
}

// runDir picks the run's directory: the newest run of this spec when
// resuming (refusing one whose spec differs), else a new timestamped one.
func runDir(opt Options, given []byte) (string, error) {
	base := filepath.Join(opt.Results, opt.Plan.Spec.Name)
	if opt.Resume {
		entries, _ := os.ReadDir(base)
		var runs []string
		for _, e := range entries {
			if e.IsDir() {
				runs = append(runs, e.Name())
			}
		}
		if len(runs) == 0 {
			return "", fmt.Errorf("--resume: no earlier run of %q under %s", opt.Plan.Spec.Name, base)
		}
		sort.Strings(runs)
		dir := filepath.Join(base, runs[len(runs)-1])
		old, err := os.ReadFile(filepath.Join(dir, "spec.yaml"))
		if err != nil {
			return "", fmt.Errorf("--resume: %w", err)
		}
		if !bytes.Equal(old, given) {
			return "", fmt.Errorf("--resume: %s was run from a different spec; start a new run instead", dir)
		}
		return dir, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("results directory: %w", err)
	}
	id := time.Now().UTC().Format("20060102-150405")
	dir := filepath.Join(base, id)
	for i := 2; ; i++ { // two runs in one second get distinct directories
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("results directory: %w", err)
		}
		dir = filepath.Join(base, fmt.Sprintf("%s-%d", id, i))
	}
}

// printTable writes the end-of-run table: one line per finished job.
func printTable(out io.Writer, s *Summary) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "point\trepeat\tthroughput ops/s\tp50 µs\tp99 µs\tmax µs\tpeak RSS MiB\terrors\t\tlabel")
	for _, r := range s.Results {
		peak := 0.0
		for _, u := range r.Replicas {
			peak = max(peak, u.PeakRSSMiB)
		}
		fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%d\t\t%s\n", r.Point, r.Repeat+1, r.Throughput,
			r.Latency.P50, r.Latency.P99, r.Latency.Max, peak, r.Errors, r.Label)
	}
	tw.Flush()
	state := "finished"
	switch {
	case !s.Finished:
		state = "stopped"
	case s.Figures != nil:
		state = "incomplete (figures not written)"
	}
	fmt.Fprintf(out, "\n%s: %d of %d jobs (%d from an earlier run); results in %s\n", state, len(s.Results), s.Total, s.Skipped, s.Dir)
}

// drawFigures draws the run's figures and summary.md into <dir>/figures,
// also after a stopped run (summary.csv holds the finished jobs). Problems
// with the results it reads are reported and do not fail the run; files it
// cannot write do, and so does drawing nothing when jobs had measured. It
// reports drawn false when ctx ended first: the drawing is abandoned where
// it is (the process is about to exit) and the user is told how to redo it.
func drawFigures(ctx context.Context, progress io.Writer, dir string, measured bool) (drawn bool, err error) {
	progress = progressOut(progress)
	if ctx.Err() != nil {
		fmt.Fprintf(progress, "figures: interrupted; draw them with: replbench plot %s\n", dir)
		return false, nil
	}
	type result struct {
		rep *analysis.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := analysis.Draw([]string{dir}, analysis.Options{})
		done <- result{rep, err}
	}()
	var d result
	select {
	case d = <-done:
	case <-ctx.Done():
		fmt.Fprintf(progress, "figures: interrupted; draw them with: replbench plot %s\n", dir)
		return false, nil
	}
	rep := d.rep
	if d.err != nil {
		fmt.Fprintf(progress, "figures: %v\n", d.err)
		if measured || (rep != nil && len(rep.Unwritten) > 0) {
			return true, fmt.Errorf("figures: %w", d.err)
		}
		return true, nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(progress, "figures: %v\n", p)
	}
	if len(rep.Unwritten) == 0 {
		fmt.Fprintf(progress, "figures and summary.md: %s\n", rep.Out)
	}
	switch n := len(rep.Unwritten); {
	case n == 1:
		return true, fmt.Errorf("figures: %w", rep.Unwritten[0])
	case n > 1:
		return true, fmt.Errorf("figures: %d files could not be written, the first: %w", n, rep.Unwritten[0])
	}
	return true, nil
}

func progressOut(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
