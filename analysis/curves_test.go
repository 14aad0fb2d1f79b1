package analysis

import "testing"

// TestCurvesFollowZippedKeys: a key zipped with x (its value follows from
// x) does not split curves; a key swept against x does.
func TestCurvesFollowZippedKeys(t *testing.T) {
	pt := func(i int, clients, outstanding, protocol string) *Point {
		return &Point{Index: i, Values: map[string]string{
			"load.clients": clients, "load.outstanding": outstanding, "protocol": protocol}}
	}
	r := &Run{Swept: []string{"protocol", "load.clients", "load.outstanding"}, Points: []*Point{
		pt(0, "1", "1", "pbft"), pt(1, "16", "10", "pbft"), pt(2, "64", "100", "pbft"),
		pt(3, "1", "1", "hotstuff"), pt(4, "16", "10", "hotstuff"), pt(5, "64", "100", "hotstuff"),
	}}
	cs := curves([]*Run{r}, "load.clients", false, "protocol")
	if len(cs) != 2 {
		for _, c := range cs {
			t.Logf("curve %q with %d points", c.label, len(c.points))
		}
		t.Fatalf("%d curves, want one per protocol", len(cs))
	}
	for _, c := range cs {
		if len(c.points) != 3 {
			t.Errorf("curve %q has %d points, want 3", c.label, len(c.points))
		}
	}
}
