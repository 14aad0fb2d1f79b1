package hosts

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/experiments"
)

// replbench's own hosts file: known_hosts:, defaults: and a hosts: list.

var (
	topKeys  = []string{"known_hosts", "defaults", "hosts"}
	hostKeys = []string{"name", "address", "port", "user", "identity_file", "role", "labels", "dir"}
)

// keyValue is one entry of a YAML mapping.
type keyValue struct{ k, v *yaml.Node }

// hostLine is a host with the line its definition starts on.
type hostLine struct {
	Host
	line int
}

// yamlReader walks the document node by node (rather than decoding into a
// struct) so that every message can name the line of the key at fault, and
// goes on after a mistake so that one read reports all of them.
type yamlReader struct {
	*parser
	c *errs
}

func (p *parser) parseYAML(data []byte) (*File, error) {
	r := &yamlReader{parser: p, c: &errs{file: p.path}}
	f := r.read(data)
	if err := r.c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

func (r *yamlReader) add(line int, format string, args ...any) {
	r.c.add(max(line, 1), format, args...)
}

func (r *yamlReader) read(data []byte) *File {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.yamlError(err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	switch {
	case root.Kind == 0 || root.Kind == yaml.DocumentNode || isNull(root):
		r.add(1, "empty hosts file: want a mapping with hosts: (a list of hosts)")
		return nil
	case root.Kind != yaml.MappingNode:
		r.add(root.Line, "want a mapping with hosts: (a list of hosts), got %s", experiments.DescribeNode(root))
		return nil
	}
	top, topBad := r.mapping(root, "", topKeys)

	f := &File{}
	if kv, ok := top["known_hosts"]; ok {
		if s, ok := r.str("known_hosts", kv); ok && s != "" {
			path, err := r.localPath("known_hosts", s)
			if err != nil {
				r.add(kv.k.Line, "%v", err)
			}
			f.KnownHosts = path
		}
	}

	var defaults hostLine
	if kv, ok := top["defaults"]; ok && !isNull(kv.v) {
		if kv.v.Kind != yaml.MappingNode {
			r.add(kv.v.Line, "defaults: want a mapping of host keys, got %s", experiments.DescribeNode(kv.v))
		} else {
			m, _ := r.mapping(kv.v, "defaults", hostKeys)
			for _, key := range []string{"name", "address"} {
				if kv, ok := m[key]; ok {
					r.add(kv.k.Line, "defaults: %s is per host and cannot be a default", key)
					delete(m, key)
				}
			}
			defaults, _ = r.host(m)
		}
	}

	kv, ok := top["hosts"]
	if !ok {
		if !topBad {
			r.add(root.Line, "missing hosts: (a list of hosts)")
		}
		return nil
	}
	if kv.v.Kind != yaml.SequenceNode {
		r.add(kv.v.Line, "hosts: want a list of hosts, got %s", experiments.DescribeNode(kv.v))
		return nil
	}
	var list []hostLine
	for _, item := range kv.v.Content {
		if item.Kind != yaml.MappingNode {
			r.add(item.Line, "hosts: want a mapping with address: and role:, got %s", experiments.DescribeNode(item))
			continue
		}
		m, bad := r.mapping(item, "host", hostKeys)
		h, ok := r.host(m)
		h.line = item.Line
		h.merge(defaults)
		if !ok || bad {
			continue // what is missing may be what was reported
		}
		if r.complete(&h) {
			list = append(list, h)
		}
	}
	f.Hosts = r.finish(list, kv.k.Line)
	return f
}

// finish checks that names are unique and that there is at least one
// replica and one client; line is where the host list starts.
func (r *yamlReader) finish(hs []hostLine, line int) []Host {
	first := map[string]hostLine{}
	var out []Host
	var replicas, clients int
	for _, h := range hs {
		if prev, dup := first[h.Name]; dup {
			r.add(h.line, "duplicate host name %q (first at line %d)", h.Name, prev.line)
			continue
		}
		first[h.Name] = h
		switch h.Role {
		case RoleReplica:
			replicas++
		case RoleClient:
			clients++
		}
		h.Source = fmt.Sprintf("%s:%d", r.path, h.line)
		out = append(out, h.Host)
	}
	switch {
	case len(r.c.list) > 0:
		// a host may be missing because of a mistake already reported
	case replicas == 0:
		r.add(line, "no replica hosts (no host has role: replica)")
	case clients == 0:
		r.add(line, "no client hosts (no host has role: client)")
	}
	return out
}

// merge fills the fields h leaves out from d.
func (h *hostLine) merge(d hostLine) {
	if h.Port == 0 {
		h.Port = d.Port
	}
	if h.User == "" {
		h.User = d.User
	}
	if h.IdentityFile == "" {
		h.IdentityFile = d.IdentityFile
	}
	if h.Role == "" {
		h.Role = d.Role
	}
	if h.Labels == nil {
		h.Labels = slices.Clone(d.Labels)
	}
	if h.Dir == "" {
		h.Dir = d.Dir
	}
}

// complete checks the keys every host needs and defaults its name.
func (r *yamlReader) complete(h *hostLine) bool {
	who := "host"
	if h.Name != "" {
		who = fmt.Sprintf("host %q", h.Name)
	}
	ok := true
	if h.Address == "" {
		r.add(h.line, "%s has no address", who)
		ok = false
	}
	if h.Role == "" {
		r.add(h.line, "%s has no role (want replica or client)", who)
		ok = false
	}
	if h.Name == "" && h.Address != "" {
		h.Name = h.Address
		if msg := checkName(h.Name); msg != "" {
			r.add(h.line, "host name %q (from its address) %s; give it a name", h.Name, msg)
			ok = false
		}
	}
	return ok
}

// mapping indexes the keys of n, reporting unknown, repeated and merge keys
// and aliases, which would make the file mean more than it says, and
// leaving them out; bad says whether there were any.
func (r *yamlReader) mapping(n *yaml.Node, where string, allowed []string) (m map[string]keyValue, bad bool) {
	in := ""
	if where != "" {
		in = " in " + where
	}
	m = make(map[string]keyValue, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		good := false
		switch {
		case k.Kind != yaml.ScalarNode:
			r.add(k.Line, "keys must be plain names, got %s", experiments.DescribeNode(k))
		case k.Value == "<<":
			r.add(k.Line, "merge keys (<<) are not supported; use defaults: or write the keys out")
		case !slices.Contains(allowed, k.Value):
			r.add(k.Line, "unknown key %q%s (want %s)", k.Value, in, strings.Join(allowed, ", "))
		case v.Kind == yaml.AliasNode:
			r.add(v.Line, "%s: aliases (*%s) are not supported; write the value out", k.Value, v.Value)
		default:
			if prev, dup := m[k.Value]; dup {
				r.add(k.Line, "%s set twice (first at line %d)", k.Value, prev.k.Line)
				continue
			}
			m[k.Value] = keyValue{k, v}
			good = true
		}
		bad = bad || !good
	}
	return m, bad
}

// host decodes the keys of one host (or of defaults) without defaulting;
// ok is false when one of them is wrong.
func (r *yamlReader) host(m map[string]keyValue) (hostLine, bool) {
	var h hostLine
	ok := true
	bad := func(line int, format string, args ...any) {
		r.add(line, format, args...)
		ok = false
	}
	for _, key := range hostKeys {
		kv, found := m[key]
		if !found {
			continue
		}
		line := kv.v.Line
		if key == "labels" {
			labels, good := r.labels(kv)
			h.Labels, ok = labels, ok && good
			continue
		}
		s, good := r.str(key, kv)
		if !good {
			ok = false
			continue
		}
		if s == "" {
			continue
		}
		switch key {
		case "name":
			if msg := checkName(s); msg != "" {
				bad(line, "name %q %s", s, msg)
				continue
			}
			h.Name = s
		case "address":
			if msg := checkAddress(s); msg != "" {
				bad(line, "address %q %s", s, msg)
				continue
			}
			h.Address = s
		case "port":
			port, good := parsePort(s)
			if !good {
				bad(line, "port: want a number from 1 to 65535, got %s", experiments.DescribeNode(kv.v))
				continue
			}
			h.Port = port
		case "user":
			h.User = s
		case "identity_file":
			path, err := r.localPath(key, s)
			if err != nil {
				bad(line, "%v", err)
			}
			h.IdentityFile = path
		case "role":
			role, good := parseRole(s)
			if !good {
				bad(line, "role: want replica or client, got %q", s)
				continue
			}
			h.Role = role
		case "dir":
			h.Dir = remoteDir(s)
		}
	}
	return h, ok
}

func (r *yamlReader) labels(kv keyValue) ([]string, bool) {
	if kv.v.Kind != yaml.SequenceNode {
		r.add(kv.v.Line, "labels: want a list such as [eu], got %s", experiments.DescribeNode(kv.v))
		return nil, false
	}
	labels := make([]string, 0, len(kv.v.Content))
	ok := true
	for _, n := range kv.v.Content {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			r.add(n.Line, "labels: want a list of names, got %s", experiments.DescribeNode(n))
			ok = false
			continue
		}
		if msg := checkLabel(n.Value); msg != "" {
			r.add(n.Line, "labels: %s", msg)
			ok = false
			continue
		}
		labels = append(labels, n.Value)
	}
	return labels, ok
}

// str returns a scalar's text; an empty value counts as not given.
func (r *yamlReader) str(key string, kv keyValue) (string, bool) {
	if kv.v.Kind != yaml.ScalarNode {
		r.add(kv.v.Line, "%s: want a single value, got %s", key, experiments.DescribeNode(kv.v))
		return "", false
	}
	if isNull(kv.v) {
		return "", true
	}
	return kv.v.Value, true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// yamlError reports a yaml.v3 syntax error ("yaml: line 3: ...") at its line.
func (r *yamlReader) yamlError(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, scanErr := fmt.Sscanf(rest[:i], "%d", &line); scanErr == nil {
				msg = rest[i+2:]
			}
		}
	}
	r.add(line, "%s", strings.ReplaceAll(msg, "\n", "; "))
}
