package node

import (
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/loadgen"
)

// TestCheck: a load run that measured what it was asked to passes; one that
// completed nothing, stalled, got wrong replies or fell behind its open-loop
// rate fails with one line saying which.
func TestCheck(t *testing.T) {
	closed := loadgen.Config{Mode: loadgen.Closed}
	open := loadgen.Config{Mode: loadgen.Open, Rate: 1000}
	for _, tc := range []struct {
		name       string
		cfg        loadgen.Config
		counts     loadgen.Counts
		mismatches uint64
		want       string // "" means no error
	}{
		{"healthy closed loop", closed, loadgen.Counts{Completed: 5000}, 0, ""},
		{"a few errors", closed, loadgen.Counts{Completed: 5000, Errors: 3, Unfinished: 3}, 0, ""},
		{"nothing completed", closed, loadgen.Counts{Errors: 4, Unfinished: 4}, 0, "completed 0 requests in the measured 2s: 4 errors (0 failed, 4 unfinished, 0 dropped), 7 retransmits"},
		{"stalled after one", closed, loadgen.Counts{Completed: 1, Errors: 3, Unfinished: 3}, 0, "completed 1 requests in the measured 2s but 3 failed or did not finish: the cluster stalled"},
		{"wrong replies", closed, loadgen.Counts{Completed: 5000}, 2, "2 replies did not match their requests"},
		{"open loop keeping up", open, loadgen.Counts{Completed: 1990}, 0, ""},
		{"open loop behind", open, loadgen.Counts{Completed: 900, Errors: 10, Dropped: 10}, 0, "completed 900 of the 2000 requests due at 1000/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &loadgen.Result{Measured: 2 * time.Second, Phases: map[loadgen.Phase]loadgen.Counts{loadgen.Measure: tc.counts}}
			rep := &ClientReport{Completed: tc.counts.Completed, Errors: tc.counts.Errors, Mismatches: tc.mismatches,
				Clients: []clients.Stats{{Retransmits: 3}, {Retransmits: 4}}}
			err := rep.Check(res, tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}
