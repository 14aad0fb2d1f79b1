package orchestrate

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/replbench/replbench/clients"
)

// Latency holds latency statistics in microseconds.
type Latency struct {
	Mean float64 `json:"mean_us"`
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Max  float64 `json:"max_us"`
}

// Second is one second of the load generator's timeline.
type Second struct {
	T      float64 `json:"t"` // seconds since the load started
	Phase  string  `json:"phase"`
	Ops    uint64  `json:"ops"`
	Errors uint64  `json:"errors"`
	Mean   float64 `json:"mean_us"`
	P50    float64 `json:"p50_us"`
	P90    float64 `json:"p90_us"`
	P99    float64 `json:"p99_us"`
	Max    float64 `json:"max_us"`
}

// ClientReport is what a load generator process ('replbench client --out')
// writes as client.json next to its latency.hlog.
type ClientReport struct {
	Start       time.Time       `json:"start"`
	End         time.Time       `json:"end"`
	Measure     [2]float64      `json:"measure_window"` // seconds since Start
	Throughput  float64         `json:"throughput"`     // completions/s in the measure window
	Completed   uint64          `json:"completed"`
	Errors      uint64          `json:"errors"`
	Latency     Latency         `json:"latency"`     // from the intended send time
	Uncorrected Latency         `json:"uncorrected"` // from the actual send time
	Timeline    []Second        `json:"timeline"`
	Clients     []clients.Stats `json:"clients"`
	Mismatches  uint64          `json:"mismatches"` // replies whose content did not match the request
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return nil
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
