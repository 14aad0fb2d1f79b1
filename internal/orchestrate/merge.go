package orchestrate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/loadgen"
)

// Names of a load generator's outputs in its --out directory.
const (
	clientReportFile = "client.json"
	latencyLogFile   = "latency.hlog"
)

// MergeClientRuns merges the outputs of several load generator processes of
// one point. dirs each hold client.json and latency.hlog; the merged
// latency.hlog is written to out (a file path) and the merged report
// returned, both as if one process had run all the clients.
//
// The processes start within milliseconds of each other and run the same
// phases, so their timeline slots are aligned by index and take the first
// report's times. Their warm-up and measure slots must agree; the number of
// cool-down slots may not, since each process drains its last requests in
// its own time, and the merged timeline runs to the latest end. Latencies
// come from the merged histograms of latency.hlog, checked slot by slot
// against client.json. A single directory's report is returned unchanged
// and its latency.hlog copied.
func MergeClientRuns(dirs []string, out string) (*node.ClientReport, error) {
	rep, err := mergeClientRuns(dirs, out)
	if err != nil {
		return nil, fmt.Errorf("merge load generator outputs: %w", err)
	}
	return rep, nil
}

func mergeClientRuns(dirs []string, out string) (*node.ClientReport, error) {
	if len(dirs) == 0 {
		return nil, errors.New("no directories given")
	}
	reps := make([]*node.ClientReport, len(dirs))
	for i, dir := range dirs {
		rep, err := readClientReport(filepath.Join(dir, clientReportFile))
		if err != nil {
			return nil, err
		}
		reps[i] = rep
	}
	if len(dirs) == 1 {
		return reps[0], copyLatencyLog(filepath.Join(dirs[0], latencyLogFile), out)
	}
	var firstN phaseSlots
	for i, rep := range reps {
		name := filepath.Join(dirs[i], clientReportFile)
		n, err := checkTimeline(name, rep)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			firstN = n
		} else if err := checkAligned(name, rep, n, filepath.Join(dirs[0], clientReportFile), reps[0], firstN); err != nil {
			return nil, err
		}
	}

	m := &node.ClientReport{Start: reps[0].Start, End: reps[0].End, Measure: reps[0].Measure}
	for _, r := range reps {
		if r.Start.Before(m.Start) {
			m.Start = r.Start
		}
		if r.End.After(m.End) {
			m.End = r.End
		}
		m.Throughput += r.Throughput
		m.Completed += r.Completed
		m.Errors += r.Errors
		m.Mismatches += r.Mismatches
		m.Clients = append(m.Clients, r.Clients...)
	}
	err := writeAtomic(out, func(w io.Writer) error { return mergeLatencyLogs(w, out, dirs, reps, m) })
	if err != nil {
		return nil, err
	}
	return m, nil
}

// readClientReport reads a load generator's client.json.
func readClientReport(name string) (*node.ClientReport, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, openError(name, err)
	}
	var rep node.ClientReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &rep, nil
}

// phaseSlots counts a timeline's slots per phase.
type phaseSlots [loadgen.Cooldown + 1]int

// checkTimeline checks that a report's timeline names only known phases and
// that its measure slots add up to its completions.
func checkTimeline(name string, rep *node.ClientReport) (phaseSlots, error) {
	var n phaseSlots
	var measured uint64
	for i, s := range rep.Timeline {
		var p loadgen.Phase
		if err := p.UnmarshalText([]byte(s.Phase)); err != nil {
			return n, fmt.Errorf("%s: timeline slot %d has unknown phase %q", name, i, s.Phase)
		}
		n[p]++
		if p == loadgen.Measure {
			measured += s.Ops
		}
	}
	if measured != rep.Completed {
		return n, fmt.Errorf("%s: its measure slots count %d completions, its total %d", name, measured, rep.Completed)
	}
	return n, nil
}

// checkAligned checks that two processes ran the same phases, so that their
// slots line up by index. Only the cool-down may differ in length.
func checkAligned(name string, rep *node.ClientReport, n phaseSlots, firstName string, first *node.ClientReport, firstN phaseSlots) error {
	for i := range min(len(rep.Timeline), len(first.Timeline)) {
		if p, q := rep.Timeline[i].Phase, first.Timeline[i].Phase; p != q {
			return fmt.Errorf("%s: timeline slot %d is %s, but in %s it is %s: the load generators ran different phases",
				name, i, p, firstName, q)
		}
	}
	if n[loadgen.Warmup] != firstN[loadgen.Warmup] || n[loadgen.Measure] != firstN[loadgen.Measure] {
		return fmt.Errorf("%s: its timeline has %d warmup and %d measure slots, %s has %d and %d: the load generators ran different phases",
			name, n[loadgen.Warmup], n[loadgen.Measure], firstName, firstN[loadgen.Warmup], firstN[loadgen.Measure])
	}
	return nil
}

// mergeLatencyLogs reads the processes' latency.hlog files in step, slot by
// slot, writes the merged intervals to w in the layout of
// loadgen.Result.WriteHlog, and fills in m's timeline and latency summaries.
// Only one slot's histograms are held at a time, however long the run.
func mergeLatencyLogs(w io.Writer, out string, dirs []string, reps []*node.ClientReport, m *node.ClientReport) error {
	ins := make([]*hlogInput, len(dirs))
	for i, dir := range dirs {
		name := filepath.Join(dir, latencyLogFile)
		f, err := os.Open(name)
		if err != nil {
			return openError(name, err)
		}
		defer f.Close()
		ins[i] = &hlogInput{name: name, lr: hdrhistogram.NewHistogramLogReader(f), timeline: reps[i].Timeline}
	}

	lw, startMs, err := loadgen.NewHlogWriter(w, m.Start)
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}

	slots := 0
	for _, r := range reps {
		slots = max(slots, len(r.Timeline))
	}
	var measure, measureUnc *hdrhistogram.Histogram
	for i := range slots {
		var sec loadgen.Second
		var lat, unc *hdrhistogram.Histogram
		for _, in := range ins {
			if i >= len(in.timeline) {
				continue // this process ended before the others drained
			}
			s := in.timeline[i]
			l, u, err := in.slot(i)
			if err != nil {
				return err
			}
			if lat == nil {
				sec.T, sec.Phase = s.T, s.Phase
			}
			if lat, err = mergeInto(lat, l, in.name); err != nil {
				return err
			}
			if unc, err = mergeInto(unc, u, in.name); err != nil {
				return err
			}
			sec.Length = max(sec.Length, s.Length) // each process's last slot ends where it ended
			sec.Ops += s.Ops
			sec.Errors += s.Errors
			sec.Throughput += s.Throughput
		}
		sec.SetLatency(lat)
		m.Timeline = append(m.Timeline, sec)

		from := startMs + int64(math.Round(sec.T*1000))
		to := from + int64(math.Round(sec.Length*1000))
		for _, h := range []struct {
			h   *hdrhistogram.Histogram
			tag string
		}{{lat, sec.Phase}, {unc, sec.Phase + loadgen.UncorrectedSuffix}} {
			h.h.SetStartTimeMs(from)
			h.h.SetEndTimeMs(to)
			h.h.SetTag(h.tag)
			if err := lw.OutputIntervalHistogram(h.h); err != nil {
				return fmt.Errorf("write %s: interval at %.3fs: %w", out, sec.T, err)
			}
		}

		if sec.Phase == loadgen.Measure.String() {
			var err error
			slot := fmt.Sprintf("measure slot %d", i)
			if measure, err = mergeInto(measure, lat, slot); err != nil {
				return err
			}
			if measureUnc, err = mergeInto(measureUnc, unc, slot); err != nil {
				return err
			}
		}
	}
	for _, in := range ins {
		if err := in.end(); err != nil {
			return err
		}
	}
	m.Latency, m.Uncorrected = loadgen.Summarize(measure), loadgen.Summarize(measureUnc)
	return nil
}

// mergeInto adds h to acc and returns the sum; with no acc yet it returns a
// copy of h, so that the sum never aliases a histogram still in use.
func mergeInto(acc, h *hdrhistogram.Histogram, name string) (*hdrhistogram.Histogram, error) {
	if acc == nil {
		return h.Clone(), nil
	}
	if dropped := acc.Merge(h); dropped > 0 {
		return nil, fmt.Errorf("%s: %d latencies beyond the range of the histograms merged before them", name, dropped)
	}
	return acc, nil
}

// hlogInput reads one process's latency.hlog: per slot of its client.json
// timeline, the corrected histogram tagged with the slot's phase, then the
// uncorrected one.
type hlogInput struct {
	name     string
	lr       *hdrhistogram.HistogramLogReader
	timeline []loadgen.Second
	read     int // intervals read
}

// slot reads slot i's pair of histograms. The log reader skips lines it
// cannot parse, so the counts are checked against client.json: a damaged
// line shows up as a missing interval or a wrong count, not a quiet gap.
func (in *hlogInput) slot(i int) (lat, unc *hdrhistogram.Histogram, err error) {
	s := in.timeline[i]
	if lat, err = in.next(s.Phase); err != nil {
		return nil, nil, err
	}
	if unc, err = in.next(s.Phase + loadgen.UncorrectedSuffix); err != nil {
		return nil, nil, err
	}
	for _, h := range []*hdrhistogram.Histogram{lat, unc} {
		if c := h.TotalCount(); c < 0 || uint64(c) != s.Ops {
			return nil, nil, fmt.Errorf("%s: interval %q of slot %d holds %d latencies, but client.json counts %d completions",
				in.name, h.Tag(), i, c, s.Ops)
		}
	}
	return lat, unc, nil
}

func (in *hlogInput) next(tag string) (*hdrhistogram.Histogram, error) {
	in.read++
	h, err := in.lr.NextIntervalHistogram()
	if err != nil {
		return nil, fmt.Errorf("%s: interval %d cannot be decoded: %v", in.name, in.read, err)
	}
	if h == nil {
		return nil, fmt.Errorf("%s: ends after %d intervals, but client.json's timeline of %d slots needs %d: the file is truncated or damaged",
			in.name, in.read-1, len(in.timeline), 2*len(in.timeline))
	}
	if h.Tag() != tag {
		return nil, fmt.Errorf("%s: interval %d is tagged %q, want %q", in.name, in.read, h.Tag(), tag)
	}
	return h, nil
}

// end checks that nothing follows the intervals of the timeline.
func (in *hlogInput) end() error {
	h, err := in.lr.NextIntervalHistogram()
	if err != nil || h != nil {
		return fmt.Errorf("%s: has more intervals than client.json's timeline of %d slots accounts for", in.name, len(in.timeline))
	}
	return nil
}

// copyLatencyLog copies a single process's latency.hlog to out.
func copyLatencyLog(src, out string) error {
	f, err := os.Open(src)
	if err != nil {
		return openError(src, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		if oi, err := os.Stat(out); err == nil && os.SameFile(fi, oi) {
			return nil // already in place
		}
	}
	return writeAtomic(out, func(w io.Writer) error {
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("copy %s to %s: %w", src, out, err)
		}
		return nil
	})
}

// writeAtomic writes path through write, by way of a temporary file renamed
// into place: a failed merge leaves no half-written log, and out may be one
// of the inputs, which are read in full before it is replaced.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %v", path, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %v", path, unwrapPath(err))
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %v", path, unwrapPath(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %v", path, unwrapPath(err))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %v", path, unwrapPath(err))
	}
	return nil
}

// openError says in one line why a file could not be read.
func openError(name string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: missing", name)
	}
	return fmt.Errorf("%s: %v", name, unwrapPath(err))
}

// unwrapPath drops the operation and path of a *os.PathError, which the
// caller's message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
