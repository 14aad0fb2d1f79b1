// Package hosts reads the hosts file that names the machines a run uses over
// SSH: YAML, or an Ansible INI inventory with [replicas] and [clients] groups.
package hosts

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// Role is what a host runs: replicas or load generators.
type Role string

const (
	RoleReplica Role = "replica"
	RoleClient  Role = "client"
)

// DefaultDir is the remote working directory of a host that names none,
// relative to the remote user's home.
const DefaultDir = ".replbench"

// Host is one machine of the hosts file. Fields the file leaves out stay
// zero, so that ~/.ssh/config and the SSH defaults can fill them at dial time.
type Host struct {
	Name         string // used in every message; the address when not given
	Address      string // IP or name; a ~/.ssh/config Host alias works
	Port         int    // 0 = not given
	User         string
	IdentityFile string // absolute path, or "" when not given
	Role         Role
	Labels       []string // link-emulation labels (spec key network.links)
	Dir          string   // remote working directory; "" = DefaultDir
	Source       string   // where the host is defined, "hosts.yaml:7", for messages
}

// WorkDir is the remote working directory: Dir, or DefaultDir when not given.
// A relative directory is relative to the remote user's home.
func (h Host) WorkDir() string {
	if h.Dir == "" {
		return DefaultDir
	}
	return h.Dir
}

// File is a loaded hosts file.
type File struct {
	Path       string // as given to Load
	KnownHosts string // absolute path, or "" for the default (~/.ssh/known_hosts)
	Hosts      []Host // in file order
}

// ByRole returns the hosts of role r in file order.
func (f *File) ByRole(r Role) []Host {
	var hs []Host
	for _, h := range f.Hosts {
		if h.Role == r {
			hs = append(hs, h)
		}
	}
	return hs
}

// Load reads a hosts file: an Ansible INI inventory when its first line that
// is not blank or a comment starts with '[', YAML otherwise. Every problem is
// reported as one line "FILE:LINE: ...".
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load hosts file: %w", err)
	}
	return parse(path, data)
}

func parse(path string, data []byte) (*File, error) {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load hosts file %s: %w", path, err)
	}
	p := &parser{path: path, dir: dir, ini: isINI(data)}
	var f *File
	if p.ini {
		f, err = p.parseINI(data)
	} else {
		f, err = p.parseYAML(data)
	}
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// isINI reports whether the first line that is not blank or a comment opens
// an INI section.
func isINI(data []byte) bool {
	for line := range bytes.Lines(data) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || t[0] == ';' {
			continue
		}
		return t[0] == '['
	}
	return false
}

// parser holds what both formats need to report errors and resolve paths.
type parser struct {
	path string // as given, for messages
	dir  string // absolute directory of the file, for relative paths
	ini  bool   // the format, for hints in messages
}

func (p *parser) errorf(line int, format string, args ...any) error {
	if line < 1 {
		line = 1
	}
	return fmt.Errorf("%s:%d: %s", p.path, line, fmt.Sprintf(format, args...))
}

// localPath expands a leading "~/" and makes a relative path relative to the
// hosts file's directory.
func (p *parser) localPath(line int, key, s string) (string, error) {
	if s == "~" || strings.HasPrefix(s, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", p.errorf(line, "%s: cannot expand ~: %v", key, err)
		}
		s = filepath.Join(home, strings.TrimPrefix(s[1:], "/"))
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(p.dir, s)
	}
	return s, nil
}

// remoteDir strips a leading "~/": the remote shell would not expand it
// inside quotes, and a relative directory is relative to the remote home.
func remoteDir(s string) string {
	if s == "~" {
		return "."
	}
	if rest, ok := strings.CutPrefix(s, "~/"); ok && rest != "" {
		return rest
	}
	return s
}

func parsePort(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 1 && n <= 65535
}

func parseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case RoleReplica, RoleClient:
		return r, true
	}
	return "", false
}

// checkName rejects names that cannot serve as file names in results.
func checkName(name string) string {
	if strings.ContainsAny(name, "/\\") || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "must not contain spaces or slashes"
	}
	return ""
}

// checkAddress catches "host:port", which would otherwise fail at dial time
// with a less clear message.
func checkAddress(addr string) string {
	if strings.IndexFunc(addr, unicode.IsSpace) >= 0 {
		return "must not contain spaces"
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		return fmt.Sprintf("must not include a port; give host %q and port %s", host, port)
	}
	return ""
}

func checkLabel(l string) string {
	switch {
	case l == "":
		return "empty label"
	case strings.ContainsRune(l, ',') || strings.IndexFunc(l, unicode.IsSpace) >= 0:
		return fmt.Sprintf("label %q must not contain spaces or commas", l)
	}
	return ""
}

// hostLine is a host with the line its definition starts on.
type hostLine struct {
	Host
	line int
}

// finish checks what both formats share: unique names, at least one replica
// and one client. line is where the host list starts, for the latter.
func (p *parser) finish(hs []hostLine, line int) ([]Host, error) {
	first := map[string]hostLine{}
	var out []Host
	var replicas, clients int
	for _, h := range hs {
		if prev, dup := first[h.Name]; dup {
			return nil, p.errorf(h.line, "duplicate host name %q (first at line %d)", h.Name, prev.line)
		}
		first[h.Name] = h
		switch h.Role {
		case RoleReplica:
			replicas++
		case RoleClient:
			clients++
		}
		h.Source = fmt.Sprintf("%s:%d", p.path, h.line)
		out = append(out, h.Host)
	}
	hint := map[Role]string{RoleReplica: "no host has role: replica", RoleClient: "no host has role: client"}
	if p.ini {
		hint = map[Role]string{RoleReplica: "list them under [replicas]", RoleClient: "list them under [clients]"}
	}
	switch {
	case replicas == 0:
		return nil, p.errorf(line, "no replica hosts (%s)", hint[RoleReplica])
	case clients == 0:
		return nil, p.errorf(line, "no client hosts (%s)", hint[RoleClient])
	}
	return out, nil
}
