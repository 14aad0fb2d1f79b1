package cryptocost

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/replbench/replbench/keys"
)

// Measured is the throughput a run recorded at one point: protocol, replica
// scheme and batch size, averaged over the point's repeats.
type Measured struct {
	Protocol   Protocol    `json:"protocol"`
	Scheme     keys.Scheme `json:"scheme"`
	Batch      int         `json:"batch"`
	Throughput float64     `json:"throughput"` // requests/s, mean over repeats
	Min, Max   float64     `json:"-"`          // lowest and highest repeat
	Repeats    int         `json:"repeats"`
	// CPUPerRequest is the CPU time all replicas spent per completed
	// request (cpu_s_total / completed), mean over repeats, in
	// nanoseconds; 0 when the run did not record it.
	CPUPerRequest float64 `json:"cpu_ns_per_request,omitempty"`
}

// summaryColumns are the summary.csv columns ReadSummary needs: the swept
// keys of experiments/crypto-schemes.yaml and the throughput.
var summaryColumns = []string{"protocol", "crypto.replicas", "batch.size", "throughput_ops"}

// ReadSummary reads the summary.csv of a run (path is the file or the run's
// directory), which must have swept protocol, crypto.replicas and
// batch.size. Points of protocols the model does not know are skipped.
func ReadSummary(path string) ([]Measured, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "summary.csv")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read results: %w (give a run directory or its summary.csv)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	defer f.Close()
	out, err := parseSummary(f)
	if err != nil {
		return nil, fmt.Errorf("read results %s: %w", path, err)
	}
	return out, nil
}

func parseSummary(r io.Reader) ([]Measured, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("empty file")
	}
	col := make(map[string]int)
	for _, name := range summaryColumns {
		i := slices.Index(rows[0], name)
		if i < 0 {
			return nil, fmt.Errorf("no %s column: the run must sweep protocol, crypto.replicas and batch.size (as experiments/crypto-schemes.yaml does)", name)
		}
		col[name] = i
	}
	cpu, completed := slices.Index(rows[0], "cpu_s_total"), slices.Index(rows[0], "completed")
	type key struct {
		p Protocol
		s keys.Scheme
		b int
	}
	sums := make(map[key]*Measured)
	var order []key
	for line, row := range rows[1:] {
		p := Protocol(row[col["protocol"]])
		if !slices.Contains(Protocols(), p) {
			continue
		}
		s, err := keys.ParseScheme(row[col["crypto.replicas"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line+2, err)
		}
		b, err := strconv.Atoi(row[col["batch.size"]])
		if err != nil {
			return nil, fmt.Errorf("line %d: batch.size %q is not a number", line+2, row[col["batch.size"]])
		}
		tp, err := strconv.ParseFloat(row[col["throughput_ops"]], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: throughput_ops %q is not a number", line+2, row[col["throughput_ops"]])
		}
		k := key{p, s, b}
		m := sums[k]
		if m == nil {
			m = &Measured{Protocol: p, Scheme: s, Batch: b, Min: tp, Max: tp}
			sums[k] = m
			order = append(order, k)
		}
		m.Throughput += tp
		m.Min, m.Max = min(m.Min, tp), max(m.Max, tp)
		m.Repeats++
		if cpu >= 0 && completed >= 0 {
			c, err1 := strconv.ParseFloat(row[cpu], 64)
			n, err2 := strconv.ParseFloat(row[completed], 64)
			if err1 == nil && err2 == nil && n > 0 {
				m.CPUPerRequest += c * 1e9 / n
			}
		}
	}
	out := make([]Measured, 0, len(order))
	for _, k := range order {
		m := *sums[k]
		m.Throughput /= float64(m.Repeats)
		m.CPUPerRequest /= float64(m.Repeats)
		out = append(out, m)
	}
	return out, nil
}
