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
	SpecPath string            // the spec file, copied into the results as given
	Spec     *experiments.Spec // parsed (and possibly overridden) spec
	Results  string            // results root; the run goes to Results/<spec name>/<run id>
	Resume   bool              // continue the newest run of this spec, skipping finished jobs
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
	// Override, when set, adjusts every expanded point before it runs (the
	// CLI's --duration and similar flags); it is recorded in meta.json's command.
	Override func(*experiments.Spec)
}

// Summary is what a finished (or stopped) run produced.
type Summary struct {
	Dir      string
	Results  []*PointResult
	Skipped  int // jobs found finished by --resume
	Failed   []error
	Total    int
	Finished bool
	// Figures is why figures or tables could not be written (a full
	// disk), naming the files; the run is then incomplete.
	Figures error
}

// Run runs every job of the spec that is not finished yet. It stops at the
// first failed job (a dead replica, a failed load generator) or on ctx's
// end, after writing summary.csv for the jobs that finished.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	points, err := opt.Spec.Points()
	if err != nil {
		return nil, err
	}
	if opt.Override != nil {
		for i := range points {
			opt.Override(&points[i].Config)
			if err := points[i].Config.Validate(); err != nil {
				return nil, fmt.Errorf("point %s after command-line overrides: %w", points[i].Label(), err)
			}
		}
	}
	given, err := os.ReadFile(opt.SpecPath)
	if err != nil {
		return nil, err
	}
	dir, err := runDir(opt, given)
	if err != nil {
		return nil, err
	}
	expanded, err := experiments.ExpandedPoints(opt.Spec.Name, points)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), given, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "expanded.yaml"), expanded, 0o644); err != nil {
		return nil, err
	}
	meta, err := startMeta(dir, opt.Resume, opt.Spec, opt.Command, opt.Hosts)
	if err != nil {
		return nil, err
	}
	meta.binaries(opt.NodeBinaries)
	if err := node.WriteJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
		return nil, err
	}

	jobs, swept, err := jobsFor(points, dir)
	if err != nil {
		return nil, err
	}
	maxReplicas := 0
	for _, j := range jobs {
		maxReplicas = max(maxReplicas, len(j.Cluster.Replicas))
	}
	sum := &Summary{Dir: dir, Total: len(jobs)}
	prog := newProgress(opt.Progress, jobs)
	var runErr error
	for i, job := range jobs {
		summaryPath := filepath.Join(job.Dir, "summary.json")
		if opt.Resume {
			var res PointResult
			if node.ReadJSON(summaryPath, &res) == nil {
				sum.Results = append(sum.Results, &res)
				sum.Skipped++
				prog.skip(i)
				continue
			}
		}
		prog.start(i)
		res, err := opt.Runner.Run(ctx, job)
		if err == nil {
			err = errors.Join(writeTimeline(filepath.Join(job.Dir, "timeline.csv"), res), node.WriteJSON(summaryPath, res))
		}
		if err != nil {
			interrupted := ctx.Err() != nil
			if interrupted {
				err = errInterrupted
			}
			err = fmt.Errorf("point %d/%d (%s, repeat %d): %w", i+1, len(jobs), job.Label, job.Repeat+1, err)
			if werr := os.WriteFile(filepath.Join(job.Dir, "error.txt"), []byte(err.Error()+"\n"), 0o644); werr != nil {
				err = fmt.Errorf("%w\n(this error is not in error.txt either: %v)", err, writeError(filepath.Join(job.Dir, "error.txt"), werr))
			}
			prog.fail(i)
			sum.Failed = append(sum.Failed, err)
			if interrupted || !opt.KeepGoing {
				break
			}
			prog.note(err)
			continue
		}
		sum.Results = append(sum.Results, res)
		prog.done(i, res)
	}
	prog.finish()
	switch {
	case len(sum.Failed) == 1:
		runErr = sum.Failed[0]
	case len(sum.Failed) > 1:
		runErr = fmt.Errorf("%d jobs failed:\n%w", len(sum.Failed), errors.Join(sum.Failed...))
	}
	sum.Finished = runErr == nil

	rows := make([][]string, 0, len(sum.Results))
	for _, r := range sum.Results {
		rows = append(rows, summaryRow(r, jobs[indexOf(jobs, r)].Values, maxReplicas))
	}
	if err := writeCSV(filepath.Join(dir, "summary.csv"), summaryHeader(swept, maxReplicas), rows); err != nil {
		return sum, errors.Join(runErr, err)
	}
	meta.end(sum.Finished)
	meta.binaries(opt.NodeBinaries) // remote platforms' binaries are built as their hosts are first used
	if err := node.WriteJSON(filepath.Join(dir, "meta.json"), meta); err != nil {
		return sum, errors.Join(runErr, err)
	}
	sum.Figures = drawFigures(opt.Progress, dir, len(sum.Results) > 0)
	if opt.Out != nil {
		printTable(opt.Out, sum)
	}
	if runErr != nil {
		return sum, fmt.Errorf("%w\n%d of %d jobs finished and kept in %s; continue with --resume", runErr, len(sum.Results), len(jobs), dir)
	}
	if sum.Figures != nil {
		return sum, fmt.Errorf("%w\nthe measurements are complete in %s; draw the figures again with 'replbench plot %s'", sum.Figures, dir, dir)
	}
	return sum, nil
}

// runDir picks the run's directory: the newest run of this spec when
// resuming (refusing one whose spec differs), else a new timestamped one.
func runDir(opt Options, given []byte) (string, error) {
	base := filepath.Join(opt.Results, opt.Spec.Name)
	if opt.Resume {
		entries, _ := os.ReadDir(base)
		var runs []string
		for _, e := range entries {
			if e.IsDir() {
				runs = append(runs, e.Name())
			}
		}
		if len(runs) == 0 {
			return "", fmt.Errorf("--resume: no earlier run of %q under %s", opt.Spec.Name, base)
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

func indexOf(jobs []*Job, r *PointResult) int {
	for i, j := range jobs {
		if j.Point == r.Point && j.Repeat == r.Repeat {
			return i
		}
	}
	return 0
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
// cannot write do, and so does drawing nothing when jobs had finished
// (measured): the error names the files.
func drawFigures(progress io.Writer, dir string, measured bool) error {
	if progress == nil {
		progress = io.Discard
	}
	rep, err := analysis.Draw([]string{dir}, analysis.Options{})
	if err != nil {
		fmt.Fprintf(progress, "figures: %v\n", err)
		if measured || (rep != nil && len(rep.Unwritten) > 0) {
			return fmt.Errorf("figures: %w", err)
		}
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(progress, "figures: %v\n", p)
	}
	if len(rep.Unwritten) == 0 {
		fmt.Fprintf(progress, "figures and summary.md: %s\n", rep.Out)
	}
	switch n := len(rep.Unwritten); {
	case n == 1:
		return fmt.Errorf("figures: %w", rep.Unwritten[0])
	case n > 1:
		return fmt.Errorf("figures: %d files could not be written, the first: %w", n, rep.Unwritten[0])
	}
	return nil
}
