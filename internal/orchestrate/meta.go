package orchestrate

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/replbench/replbench/experiments"
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
	Command   []string  `json:"command"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end,omitzero"`
	Finished  bool      `json:"finished"`
	// Binaries are what replicas and clients ran as, per platform.
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
	return m
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
