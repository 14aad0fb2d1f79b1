package orchestrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/internal/procstat"
)

// Meta records what is needed to reproduce a run (meta.json).
type Meta struct {
	Spec      string    `json:"spec"`
	Version   string    `json:"version"`
	GitCommit string    `json:"git_commit"`
	GitDirty  bool      `json:"git_dirty"`
	GoVersion string    `json:"go_version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	CPU       string    `json:"cpu_model"`
	Cores     int       `json:"cores"`
	Hostname  string    `json:"hostname"` // the machine replbench ran on
	Hosts     []string  `json:"hosts"`    // where replicas and clients ran: "localhost", or "name address role" per host
	Seed      uint64    `json:"seed"`
	Command   []string  `json:"command"`            // the first session's
	Start     time.Time `json:"start"`              // the first session's start
	End       time.Time `json:"end,omitzero"`       // the last session's end
	Finished  bool      `json:"finished"`           // every job has run
	Sessions  []Session `json:"sessions,omitempty"` // the run and each --resume of it, in order
}

// Session is one invocation of 'replbench run' on a run directory: the
// first, or a --resume.
type Session struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end,omitzero"` // zero while it runs, or if it was killed
	Command   []string  `json:"command"`
	GitCommit string    `json:"git_commit"`
	GitDirty  bool      `json:"git_dirty"`
	Version   string    `json:"version"`
	Hostname  string    `json:"hostname"`
	Finished  bool      `json:"finished"` // every job had run when it ended
	// Binaries are what replicas and clients ran as in this session, per
	// platform.
	Binaries []BinaryInfo `json:"binaries"`
}

// Version is replbench's version, recorded in meta.json (set by the CLI).
var Version = "dev"

func newMeta(spec *experiments.Spec, command, hosts []string) *Meta {
	host, _ := os.Hostname()
	if len(hosts) == 0 {
		hosts = []string{"localhost"}
	}
	m := &Meta{
		Spec: spec.Name, Version: Version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPU: procstat.CPUModel(), Cores: runtime.NumCPU(), Hostname: host, Hosts: hosts,
		Seed: spec.Seed, Command: command, Start: time.Now().UTC(),
	}
	m.GitCommit, m.GitDirty = gitCommit()
	m.Sessions = []Session{m.session()}
	return m
}

// session is m's top-level description as a session.
func (m *Meta) session() Session {
	return Session{Start: m.Start, End: m.End, Command: m.Command, GitCommit: m.GitCommit, GitDirty: m.GitDirty,
		Version: m.Version, Hostname: m.Hostname, Finished: m.Finished}
}

// startMeta begins a session on the run directory dir: a new run's
// meta.json, or with resume the run's own with this session added, so that
// the run keeps its start and first command and every session is recorded.
// A meta.json written before sessions were recorded becomes the first
// session. Without a meta.json to resume, the run starts a new one.
func startMeta(dir string, resume bool, spec *experiments.Spec, command, hosts []string) (*Meta, error) {
	now := newMeta(spec, command, hosts)
	if !resume {
		return now, nil
	}
	path := filepath.Join(dir, "meta.json")
	var m Meta
	if err := node.ReadJSON(path, &m); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return now, nil
		}
		return nil, fmt.Errorf("--resume: %w (fix or remove it to resume)", err)
	}
	if len(m.Sessions) == 0 {
		m.Sessions = []Session{m.session()}
	}
	m.Sessions = append(m.Sessions, now.Sessions[0])
	m.Finished = false
	return &m, nil
}

// binaries records in the current session what replicas and clients run
// as, when used reports it.
func (m *Meta) binaries(used func() []BinaryInfo) {
	if n := len(m.Sessions); n > 0 && used != nil {
		m.Sessions[n-1].Binaries = used()
	}
}

// end records the end of the session begun by startMeta.
func (m *Meta) end(finished bool) {
	m.End, m.Finished = time.Now().UTC(), finished
	if n := len(m.Sessions); n > 0 {
		m.Sessions[n-1].End, m.Sessions[n-1].Finished = m.End, finished
	}
}

// gitCommit prefers the revision stamped into the binary by the Go
// toolchain and falls back to asking git about the working directory.
func gitCommit() (string, bool) {
	if rev, dirty := builtFrom(); rev != "" {
		return rev, dirty
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown", false
	}
	status, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(out)), len(strings.TrimSpace(string(status))) > 0
}

// builtFrom is the commit the running binary was built from, as the go
// tool stamped it; "" when it did not (go run, tests).
func builtFrom() (rev string, dirty bool) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", false
	}
	return revision(bi)
}
