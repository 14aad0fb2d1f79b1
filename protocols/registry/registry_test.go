package registry

import (
	"strings"
	"testing"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/sim"
)

// TestDescriptorsComplete: every registered protocol says everything the
// runtime, clients, validation and the simulator ask of it, builds cores
// for its default cluster, and is found by its name only.
func TestDescriptorsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range All() {
		if p.Name == "" || p.Summary == "" || p.CheckReplicas == nil || p.Faults == nil || p.New == nil || p.SimNew == nil {
			t.Errorf("%q: incomplete descriptor %+v", p.Name, p)
			continue
		}
		if seen[p.Name] {
			t.Errorf("%s registered twice", p.Name)
		}
		seen[p.Name] = true
		if got, err := Lookup(p.Name); err != nil || got != p {
			t.Errorf("Lookup(%s) = %v, %v", p.Name, got, err)
		}
		n := p.DefaultReplicas
		if err := p.CheckReplicas(n); err != nil {
			t.Errorf("%s refuses its own default of %d replicas: %v", p.Name, n, err)
		}
		if f := p.Faults(n); f < 0 || 3*f+1 > n {
			t.Errorf("%s: %d replicas tolerate %d faults", p.Name, n, f)
		}
		if p.CheckReplicas(n+1) == nil && p.Faults(n+1) == p.Faults(n) && n > 1 {
			t.Errorf("%s accepts %d replicas without tolerating more faults than %d", p.Name, n+1, n)
		}
		for id := range uint32(n) {
			if c, err := p.New(protocols.Params{ID: id, N: n, App: sim.NewChainApp(), BatchSize: 10,
				BatchTimeout: 1, CheckpointInterval: 100, ViewChangeTimeout: 100}); err != nil || c == nil {
				t.Errorf("%s: New(replica %d of %d): %v", p.Name, id, n, err)
			}
			if c, err := p.SimNew(id, n, sim.NewChainApp()); err != nil || c == nil {
				t.Errorf("%s: SimNew(replica %d of %d): %v", p.Name, id, n, err)
			}
		}
		if p.BatchBudget != nil {
			if b, why := p.BatchBudget(16<<20, n, 64); b <= 0 || why == "" {
				t.Errorf("%s: batch budget %d (%q) for the default frame", p.Name, b, why)
			}
		}
	}
	if _, err := Lookup("raft"); err == nil || !strings.Contains(err.Error(), `unknown protocol "raft" (want unreplicated, pbft, hotstuff)`) {
		t.Errorf("Lookup(raft): %v", err)
	}
}
