package node

import (
	"encoding/json"
	"fmt"
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
