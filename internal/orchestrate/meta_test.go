package orchestrate

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/node"
)

// A --resume keeps the run's start and first command in meta.json and adds
// its own session; every session has its start, end, command and commit.
func TestMetaSessions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.json")
	spec := &experiments.Spec{Name: "s", Seed: 7}
	first := []string{"replbench", "run", "s.yaml"}
	m, err := startMeta(dir, false, spec, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.end(false) // stopped part-way
	if err := node.WriteJSON(path, m); err != nil {
		t.Fatal(err)
	}
	var before Meta
	if err := node.ReadJSON(path, &before); err != nil {
		t.Fatal(err)
	}

	second := []string{"replbench", "run", "s.yaml", "--resume"}
	m, err = startMeta(dir, true, spec, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.end(true)
	if err := node.WriteJSON(path, m); err != nil {
		t.Fatal(err)
	}
	var got Meta
	if err := node.ReadJSON(path, &got); err != nil {
		t.Fatal(err)
	}
	if !got.Start.Equal(before.Start) || !reflect.DeepEqual(got.Command, first) || !got.Finished {
		t.Errorf("run start %v command %v finished %v; want the first session's %v and %v, finished", got.Start, got.Command, got.Finished, before.Start, first)
	}
	if len(got.Sessions) != 2 {
		t.Fatalf("%d sessions, want 2: %+v", len(got.Sessions), got.Sessions)
	}
	s1, s2 := got.Sessions[0], got.Sessions[1]
	if !s1.Start.Equal(before.Start) || !s1.End.Equal(before.End) || s1.Finished || !reflect.DeepEqual(s1.Command, first) {
		t.Errorf("first session %+v, want it as the first run wrote it", s1)
	}
	if !reflect.DeepEqual(s2.Command, second) || s2.Start.Before(s1.End) || !s2.End.Equal(got.End) || !s2.Finished {
		t.Errorf("second session %+v, want the resume's command, after the first, ending the run", s2)
	}
	for i, s := range got.Sessions {
		if s.GitCommit == "" || s.Version == "" {
			t.Errorf("session %d without commit or version: %+v", i, s)
		}
	}
}

// meta.json written before sessions were recorded becomes the first
// session when the run is resumed; a damaged one stops --resume with an
// error naming it.
func TestMetaResumeOlderFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.json")
	old := `{"spec":"s","git_commit":"abc","version":"0.1","command":["replbench","run","s.yaml"],` +
		`"start":"2026-11-30T10:00:00Z","end":"2026-11-30T10:05:00Z","finished":false}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := startMeta(dir, true, &experiments.Spec{Name: "s"}, []string{"replbench", "run", "--resume", "s.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	if len(m.Sessions) != 2 || !m.Sessions[0].Start.Equal(start) || m.Sessions[0].GitCommit != "abc" ||
		!m.Sessions[0].End.Equal(start.Add(5*time.Minute)) || !m.Start.Equal(start) {
		t.Errorf("sessions %+v, run start %v; want the older file's as the first session and start", m.Sessions, m.Start)
	}

	if err := os.WriteFile(path, []byte(`{"spec": "s", "start": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := startMeta(dir, true, &experiments.Spec{Name: "s"}, nil, nil); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged meta.json: err = %v, want one naming %s", err, path)
	}
}
