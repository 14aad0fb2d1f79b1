// Package hosts reads the hosts file that names the machines a run uses over
// SSH: replbench's YAML, or an Ansible inventory with groups replicas and
// clients, read by ansible-inventory or by built-in INI and YAML readers.
package hosts

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
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
	Reader     string // which reader read it: one of the Reader* names
	KnownHosts string // absolute path, or "" for the default (~/.ssh/known_hosts)
	Hosts      []Host // replicas, then clients; in file order for replbench YAML
}

// The readers of hosts files, as File.Reader names them.
const (
	ReaderYAML        = "replbench YAML"
	ReaderAnsible     = "ansible-inventory"
	ReaderINI         = "built-in Ansible INI reader"
	ReaderAnsibleYAML = "built-in Ansible YAML reader"
)

// ReaderEnv chooses how Ansible inventories are read: "ansible" uses
// ansible-inventory and fails without it, "builtin" uses replbench's own
// readers, and "" or "auto" uses ansible-inventory when it is on PATH.
const ReaderEnv = "REPLBENCH_INVENTORY_READER"

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

// Load reads a hosts file: replbench's YAML (a top-level hosts: list), or
// an Ansible inventory of groups replicas and clients. Ansible inventories
// are read by ansible-inventory when it is on PATH (every format, plugin and
// dynamic inventory Ansible reads), else by the built-in INI and YAML
// readers; $REPLBENCH_INVENTORY_READER chooses (see ReaderEnv). Every
// problem is reported, one per line, as "FILE:LINE: ...".
func Load(path string) (*File, error) {
	return LoadReader(context.Background(), path, os.Getenv(ReaderEnv))
}

// LoadReader is Load with the choice of ReaderEnv given.
func LoadReader(ctx context.Context, path, reader string) (*File, error) {
	switch reader {
	case "", "auto", "ansible", "builtin":
	default:
		return nil, fmt.Errorf("load hosts file %s: %s=%q: want ansible, builtin or auto", path, ReaderEnv, reader)
	}
	data, err := os.ReadFile(path)
	fi, statErr := os.Stat(path)
	switch {
	case err != nil && (statErr != nil || !fi.IsDir()):
		return nil, fmt.Errorf("load hosts file: %w", err)
	case statErr != nil:
		return nil, fmt.Errorf("load hosts file: %w", statErr)
	}
	p, err := newParser(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		// paths in a directory inventory are relative to the directory
		if p.dir, err = filepath.Abs(path); err != nil {
			return nil, fmt.Errorf("load hosts file %s: %w", path, err)
		}
	}
	format := formatOther
	var root *yaml.Node
	switch {
	case fi.IsDir():
	case fi.Mode()&0o111 != 0 && bytes.HasPrefix(data, []byte("#!")):
		// a dynamic inventory script
	default:
		format, root = detect(path, data)
	}
	f, err := p.read(ctx, reader, format, data, root)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// readInventory reads an Ansible inventory with the reader chosen.
func (p *parser) readInventory(ctx context.Context, reader string, format int, data []byte, root *yaml.Node) (*File, error) {
	if reader != "builtin" {
		exe, err := exec.LookPath("ansible-inventory")
		switch {
		case err == nil:
			f, err := p.readAnsibleInventory(ctx, exe)
			if f != nil {
				f.Reader = ReaderAnsible
			}
			return f, err
		case reader == "ansible":
			return nil, fmt.Errorf("load hosts file %s: %s=ansible: %w", p.path, ReaderEnv, errNoAnsible)
		}
	}
	if format == formatOther {
		return nil, fmt.Errorf("load hosts file %s: a directory or inventory script is read only by Ansible: install ansible-core (ansible-inventory)", p.path)
	}
	var extra []string
	for _, d := range []string{"group_vars", "host_vars"} {
		if _, err := os.Stat(filepath.Join(p.dir, d)); err == nil {
			extra = append(extra, d+"/")
		}
	}
	if len(extra) > 0 {
		return nil, fmt.Errorf("load hosts file %s: %s next to it are read only by Ansible: install ansible-core (ansible-inventory), or move their variables into the inventory", p.path, strings.Join(extra, " and "))
	}
	if format == formatAnsibleYAML {
		f, err := p.parseAnsibleYAML(root)
		if f != nil {
			f.Reader = ReaderAnsibleYAML
		}
		return f, err
	}
	f, err := p.parseINI(data)
	if f != nil {
		f.Reader = ReaderINI
	}
	return f, err
}

// parse reads a hosts file's bytes with the built-in readers only.
func parse(path string, data []byte) (*File, error) {
	p, err := newParser(path)
	if err != nil {
		return nil, err
	}
	format, root := detect(path, data)
	f, err := p.read(context.Background(), "builtin", format, data, root)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

func newParser(path string) (*parser, error) {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load hosts file %s: %w", path, err)
	}
	return &parser{path: path, dir: dir}, nil
}

// The formats detect tells apart.
const (
	formatYAML        = iota // replbench's own
	formatINI                // Ansible INI
	formatAnsibleYAML        // Ansible YAML
	formatOther              // a directory or script: Ansible only
)

// yamlExts are the extensions Ansible's yaml plugin accepts.
var yamlExts = []string{".yaml", ".yml", ".json"}

// detect tells the formats apart by content: INI when the first line that
// is not blank or a comment opens a section; replbench YAML when the
// top-level mapping has one of its keys (hosts:, defaults:, known_hosts:)
// or maps no name to a mapping; an Ansible YAML inventory when its top
// level maps group names to mappings (in a .yaml, .yml or .json file, the
// only ones Ansible reads as YAML); else INI for a file Ansible would read
// as INI, and replbench YAML, for its messages, for one named .yaml.
func detect(path string, data []byte) (int, *yaml.Node) {
	if isINI(data) {
		return formatINI, nil
	}
	isYAMLName := slices.Contains(yamlExts, strings.ToLower(filepath.Ext(path)))
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil && doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root := doc.Content[0]
		if root.Kind == yaml.MappingNode {
			group := false
			for i := 0; i+1 < len(root.Content); i += 2 {
				if slices.Contains(topKeys, root.Content[i].Value) {
					return formatYAML, nil
				}
				group = group || root.Content[i+1].Kind == yaml.MappingNode
			}
			switch {
			case group && isYAMLName:
				return formatAnsibleYAML, root
			case group:
				return formatINI, nil // as Ansible reads it; its errors say why
			}
		}
	}
	if isYAMLName {
		return formatYAML, nil
	}
	return formatINI, nil
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
	path   string // as given, for messages
	dir    string // absolute directory of the file, for relative paths
	budget *int   // nodes left to visit in an Ansible YAML inventory
}

// localPath expands a leading "~/" and makes a relative path relative to the
// hosts file's directory.
func (p *parser) localPath(key, s string) (string, error) {
	if s == "~" || strings.HasPrefix(s, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s: cannot expand ~: %w", key, err)
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

func isSpace(r rune) bool { return unicode.IsSpace(r) }

func checkLabel(l string) string {
	switch {
	case l == "":
		return "empty label"
	case strings.ContainsRune(l, ',') || strings.IndexFunc(l, unicode.IsSpace) >= 0:
		return fmt.Sprintf("label %q must not contain spaces or commas", l)
	}
	return ""
}

// read reads a hosts file of the detected format: replbench's YAML, or an
// Ansible inventory through reader.
func (p *parser) read(ctx context.Context, reader string, format int, data []byte, root *yaml.Node) (*File, error) {
	if format == formatYAML {
		f, err := p.parseYAML(data)
		if f != nil {
			f.Reader = ReaderYAML
		}
		return f, err
	}
	return p.readInventory(ctx, reader, format, data, root)
}
