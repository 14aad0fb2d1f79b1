package cli

import (
	"strings"
	"testing"
)

// TestSimHotStuff: replbench sim runs HotStuff at n = 4 and n = 7 and
// refuses a replica count that is not 3f+1.
func TestSimHotStuff(t *testing.T) {
	for _, n := range []string{"4", "7"} {
		out, err := runSim(t, "--protocol", "hotstuff", "--seed", "1", "--seeds", "20", "--replicas", n)
		if err != nil {
			t.Fatalf("%s replicas: %v\n%s", n, err, out)
		}
		for _, want := range []string{"protocol hotstuff: " + n + " replicas", "safety violations:  0\n", "liveness failures:  0\n", "requests completed: 1200 "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	}
	if _, err := runSim(t, "--protocol", "hotstuff", "--replicas", "5"); err == nil || !strings.Contains(err.Error(), "3f+1") {
		t.Errorf("5 replicas: err = %v, want one naming n = 3f+1", err)
	}
}
