package analysis

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// measureTag is the tag of the corrected measure-phase histograms in latency.hlog.
const measureTag = "measure"

// Histogram reads the repeat's latency.hlog and merges the corrected
// histograms of the measure phase (µs); it is nil when nothing completed.
// A file that cannot be read whole is an error: a histogram missing
// intervals would misstate the tail.
func (r *Repeat) Histogram() (*hdrhistogram.Histogram, error) {
	if r.Dir == "" {
		return nil, fmt.Errorf("repeat %d: the point's directory is unknown (expanded.yaml unreadable and no points/p<index>-* found)", r.N)
	}
	name := filepath.Join(r.Dir, "latency.hlog")
	f, err := os.Open(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	defer f.Close()
	lr := hdrhistogram.NewHistogramLogReader(f)
	var merged *hdrhistogram.Histogram
	for i := 1; ; i++ {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return nil, fmt.Errorf("%s: interval %d cannot be decoded: %v", name, i, err)
		}
		if h == nil {
			break
		}
		if h.Tag() != measureTag {
			continue
		}
		if merged == nil {
			merged = h
		} else if dropped := merged.Merge(h); dropped > 0 {
			return nil, fmt.Errorf("%s: interval %d: %d values beyond the histogram's range", name, i, dropped)
		}
	}
	if merged == nil || merged.TotalCount() == 0 {
		if r.Completed == 0 {
			return nil, nil // nothing completed: there is no distribution to draw
		}
		return nil, fmt.Errorf("%s: no latencies tagged %q", name, measureTag)
	}
	// The reader skips lines it cannot parse; the count in summary.csv
	// tells whether any interval went missing.
	if c := merged.TotalCount(); !math.IsNaN(r.Completed) && float64(c) != r.Completed {
		return nil, fmt.Errorf("%s: its measure intervals hold %d latencies but summary.csv counts %.0f completions: lines are missing or damaged", name, c, r.Completed)
	}
	return merged, nil
}

// Slot is one row of a repeat's timeline.csv: a second of one phase, or
// less at a phase's end. Latencies are µs; RSS is MiB and CPU cores busy,
// per replica, NaN where not sampled.
type Slot struct {
	T, Length  float64 // seconds since the start of load
	Phase      string  // warmup, measure or cooldown
	Ops        float64
	Errors     float64
	Throughput float64 // ops/s
	Mean, P50  float64
	P90, P99   float64
	Max        float64
	RSS, CPU   []float64
}

// Timeline reads the repeat's timeline.csv by its header's names.
func (r *Repeat) Timeline() ([]Slot, error) {
	if r.Dir == "" {
		return nil, fmt.Errorf("repeat %d: the point's directory is unknown (expanded.yaml unreadable and no points/p<index>-* found)", r.N)
	}
	name := filepath.Join(r.Dir, "timeline.csv")
	f, err := os.Open(name)
	if err != nil {
		return nil, fileError(name, err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty")
		}
		return nil, fmt.Errorf("%s: no header: %v", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[canonicalColumn(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"t_s", "phase", "throughput_ops"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s: the header has no column %q", name, need)
		}
	}
	replicas := 0
	for {
		if _, ok := col[fmt.Sprintf("rss_mib_r%d", replicas)]; !ok {
			break
		}
		replicas++
	}
	var slots []Slot
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return slots, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if len(rec) != len(header) {
			return slots, fmt.Errorf("%s:%d: %d fields, the header has %d", name, line, len(rec), len(header))
		}
		var bad error
		num := func(c string) float64 {
			i, ok := col[c]
			if !ok || rec[i] == "" {
				return math.NaN()
			}
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil && bad == nil {
				bad = fmt.Errorf("%s:%d: column %s: %q is not a number", name, line, c, rec[i])
			}
			return v
		}
		s := Slot{T: num("t_s"), Length: num("length_s"), Phase: rec[col["phase"]], Ops: num("ops"), Errors: num("errors"),
			Throughput: num("throughput_ops"), Mean: num("mean_us"), P50: num("p50_us"), P90: num("p90_us"),
			P99: num("p99_us"), Max: num("max_us")}
		for i := 0; i < replicas; i++ {
			s.RSS = append(s.RSS, num(fmt.Sprintf("rss_mib_r%d", i)))
			s.CPU = append(s.CPU, num(fmt.Sprintf("cpu_util_r%d", i)))
		}
		if bad != nil {
			return slots, bad
		}
		slots = append(slots, s)
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	return slots, nil
}

// fileError says in one line why a file could not be opened.
func fileError(name string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: missing", name)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", name, pe.Err)
	}
	return fmt.Errorf("%s: %v", name, err)
}

// UnwrittenError is a file Draw could not write: a full disk, a missing
// permission. Unlike a problem with the results it reads, it leaves the
// output incomplete; Report.Unwritten lists these.
type UnwrittenError struct {
	Path string
	Err  error // the cause, without the path
}

func (e *UnwrittenError) Error() string { return fmt.Sprintf("write %s: %v", e.Path, e.Err) }
func (e *UnwrittenError) Unwrap() error { return e.Err }

// unwritten says in one line that path could not be written and why.
func unwritten(path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &UnwrittenError{Path: path, Err: err}
}
