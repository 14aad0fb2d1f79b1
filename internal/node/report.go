package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/loadgen"
)

// ClientReport is what a load generator process ('replbench client --out' or 'replbench-node client --out')
// writes as client.json next to its latency.hlog.
type ClientReport struct {
	Start       time.Time        `json:"start"`
	End         time.Time        `json:"end"`
	Measure     [2]float64       `json:"measure_window"` // seconds since Start
	Throughput  float64          `json:"throughput"`     // completions/s in the measure window
	Completed   uint64           `json:"completed"`
	Errors      uint64           `json:"errors"`
	Latency     loadgen.Summary  `json:"latency"`     // µs, from the intended send time
	Uncorrected loadgen.Summary  `json:"uncorrected"` // µs, from the actual send time
	Timeline    []loadgen.Second `json:"timeline"`
	Clients     []clients.Stats  `json:"clients"`
	Mismatches  uint64           `json:"mismatches"` // replies whose content did not match the request
}

// Retransmits sums the clients' retransmissions.
func (r *ClientReport) Retransmits() uint64 {
	var n uint64
	for _, c := range r.Clients {
		n += c.Retransmits
	}
	return n
}

// Line is the one-line summary a load run ends with.
func (r *ClientReport) Line(measured time.Duration) string {
	return fmt.Sprintf("completed %d requests in %s measured: %.0f ops/s, p50 %s, p99 %s, %d errors, %d retransmits",
		r.Completed, measured.Round(time.Millisecond), r.Throughput,
		latency(r.Latency.P50), latency(r.Latency.P99), r.Errors, r.Retransmits())
}

func latency(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// MinOpenLoopShare is the share of the requests due in the measured window
// that an open-loop run must complete: below it the cluster did not keep up
// with the offered rate, and the figures describe a backlog, not the rate.
const MinOpenLoopShare = 0.5

// Check reports why a load run did not measure what it was asked to, in
// one line: it completed nothing, got replies that did not match their
// requests, had more requests fail or stay unfinished than complete (a
// stall), or (open loop) completed less than MinOpenLoopShare of what was
// due.
func (r *ClientReport) Check(res *loadgen.Result, cfg loadgen.Config) error {
	m := res.Phases[loadgen.Measure]
	why := fmt.Sprintf("%d errors (%d failed, %d unfinished, %d dropped), %d retransmits",
		m.Errors, m.Failed, m.Unfinished, m.Dropped, r.Retransmits())
	switch {
	case r.Mismatches > 0:
		return fmt.Errorf("%d replies did not match their requests", r.Mismatches)
	case r.Completed == 0:
		return fmt.Errorf("completed 0 requests in the measured %s: %s", res.Measured.Round(time.Millisecond), why)
	case m.Errors > r.Completed:
		return fmt.Errorf("completed %d requests in the measured %s but %d failed or did not finish: the cluster stalled; %s",
			r.Completed, res.Measured.Round(time.Millisecond), m.Errors, why)
	case cfg.Mode == loadgen.Open && cfg.Rate > 0:
		due := cfg.Rate * res.Measured.Seconds()
		if float64(r.Completed) < MinOpenLoopShare*due {
			return fmt.Errorf("completed %d of the %.0f requests due at %g/s in the measured %s: the cluster did not keep up; %s",
				r.Completed, due, cfg.Rate, res.Measured.Round(time.Millisecond), why)
		}
	}
	return nil
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return writeError(path, err)
	}
	return nil
}

// writeError says in one line which file could not be written and why
// ("write PATH: no space left on device"), however deep the cause is
// wrapped: it reaches the user through the log tail of a failed point.
func writeError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("write %s: %w", path, err)
}

// ReadJSON reads path into v.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
