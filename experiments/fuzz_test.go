package experiments

import (
	"os"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that whatever parses
// expands and reads back from its expanded form.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("quickstart.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"protocol: pbft\nsweep: {replicas: [4, 7]}\n",
		"zip:\n  - {batch.size: [1, 100], batch.timeout: [0ms, 5ms]}\n",
		"app: echo\nsweep: {app.reply: [0B, 1KiB]}\n",
		"load: {mode: open, rate: 100}\nfigures: [{x: a, y: b}]\n",
		"a: &x 1\nb: *x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		if points, err := s.Points(); err != nil || len(points) > 1000 {
			// Large sweeps are valid but slow to write out; Parse has
			// already expanded and checked them.
			if err != nil {
				t.Fatalf("parsed but does not expand: %v", err)
			}
			return
		}
		out, err := s.Expanded()
		if err != nil {
			t.Fatalf("parsed but does not expand: %v", err)
		}
		if _, err := ParseExpanded("expanded.yaml", out); err != nil {
			t.Fatalf("expanded form does not parse back: %v\n%s", err, out)
		}
	})
}
