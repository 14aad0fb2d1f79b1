package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShippedSpecs loads every spec shipped next to this package, so a spec
// that no longer parses fails here rather than at the start of a long run.
func TestShippedSpecs(t *testing.T) {
	paths, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no experiments/*.yaml found")
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			s, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			points, err := s.Points()
			if err != nil {
				t.Fatal(err)
			}
			if len(points) == 0 {
				t.Fatal("no points")
			}
			if _, err := s.Expanded(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestQuickstart(t *testing.T) {
	s, err := Load("quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	points, err := s.Points()
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "quickstart" || s.Protocol != Unreplicated || len(points) != 6 || len(s.Figures) == 0 {
		t.Errorf("quickstart: name %q protocol %q, %d points, %d figures", s.Name, s.Protocol, len(points), len(s.Figures))
	}
	// The README promises a run of about 90s: the load alone must leave room
	// for process start-up.
	if total := s.Duration * time.Duration(len(points)*s.Repeat); total > time.Minute {
		t.Errorf("quickstart load runs %v, too long for a ~90s run", total)
	}
}

// TestSpecDoc keeps docs/spec.md in step with the schema: every key appears
// in a table row with its default.
func TestSpecDoc(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "docs", "spec.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, f := range fields {
		row := "| `" + f.path + "` |"
		if f.def != "" {
			row += " `" + f.def + "` |"
		}
		if !strings.Contains(doc, row) {
			t.Errorf("docs/spec.md has no row starting %q", row)
		}
	}
}
