package hosts

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/experiments"
)

var (
	topKeys  = []string{"known_hosts", "defaults", "hosts"}
	hostKeys = []string{"name", "address", "port", "user", "identity_file", "role", "labels", "dir"}
)

// keyValue is one entry of a YAML mapping.
type keyValue struct{ k, v *yaml.Node }

// parseYAML walks the document node by node (rather than decoding into a
// struct) so that every message can name the line of the key at fault.
func (p *parser) parseYAML(data []byte) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, p.yamlError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	switch {
	case root.Kind == 0 || root.Kind == yaml.DocumentNode || isNull(root):
		return nil, p.errorf(1, "empty hosts file: want a mapping with hosts: (a list of hosts)")
	case root.Kind != yaml.MappingNode:
		return nil, p.errorf(root.Line, "want a mapping with hosts: (a list of hosts), got %s", experiments.DescribeNode(root))
	}
	top, err := p.mapping(root, "", topKeys)
	if err != nil {
		return nil, err
	}

	f := &File{}
	if kv, ok := top["known_hosts"]; ok {
		s, err := p.str("known_hosts", kv)
		if err != nil {
			return nil, err
		}
		if s != "" {
			if f.KnownHosts, err = p.localPath(kv.k.Line, "known_hosts", s); err != nil {
				return nil, err
			}
		}
	}

	var defaults hostLine
	if kv, ok := top["defaults"]; ok && !isNull(kv.v) {
		if kv.v.Kind != yaml.MappingNode {
			return nil, p.errorf(kv.v.Line, "defaults: want a mapping of host keys, got %s", experiments.DescribeNode(kv.v))
		}
		m, err := p.mapping(kv.v, "defaults", hostKeys)
		if err != nil {
			return nil, err
		}
		for _, key := range []string{"name", "address"} {
			if kv, ok := m[key]; ok {
				return nil, p.errorf(kv.k.Line, "defaults: %s is per host and cannot be a default", key)
			}
		}
		if defaults, err = p.host(m); err != nil {
			return nil, err
		}
	}

	kv, ok := top["hosts"]
	if !ok {
		return nil, p.errorf(root.Line, "missing hosts: (a list of hosts)")
	}
	if kv.v.Kind != yaml.SequenceNode {
		return nil, p.errorf(kv.v.Line, "hosts: want a list of hosts, got %s", experiments.DescribeNode(kv.v))
	}
	var list []hostLine
	for _, item := range kv.v.Content {
		if item.Kind != yaml.MappingNode {
			return nil, p.errorf(item.Line, "hosts: want a mapping with address: and role:, got %s", experiments.DescribeNode(item))
		}
		m, err := p.mapping(item, "host", hostKeys)
		if err != nil {
			return nil, err
		}
		h, err := p.host(m)
		if err != nil {
			return nil, err
		}
		h.line = item.Line
		h.merge(defaults)
		if err := p.complete(&h); err != nil {
			return nil, err
		}
		list = append(list, h)
	}
	if f.Hosts, err = p.finish(list, kv.k.Line); err != nil {
		return nil, err
	}
	return f, nil
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
func (p *parser) complete(h *hostLine) error {
	who := "host"
	if h.Name != "" {
		who = fmt.Sprintf("host %q", h.Name)
	}
	switch {
	case h.Address == "":
		return p.errorf(h.line, "%s has no address", who)
	case h.Role == "":
		return p.errorf(h.line, "%s has no role (want replica or client)", who)
	}
	if h.Name == "" {
		h.Name = h.Address
		if msg := checkName(h.Name); msg != "" {
			return p.errorf(h.line, "host name %q (from its address) %s; give it a name", h.Name, msg)
		}
	}
	return nil
}

// mapping indexes the keys of n, refusing unknown, repeated and merge keys
// and aliases, which would make the file mean more than it says.
func (p *parser) mapping(n *yaml.Node, where string, allowed []string) (map[string]keyValue, error) {
	in := ""
	if where != "" {
		in = " in " + where
	}
	m := make(map[string]keyValue, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errorf(k.Line, "keys must be plain names, got %s", experiments.DescribeNode(k))
		}
		if prev, dup := m[k.Value]; dup {
			return nil, p.errorf(k.Line, "%s set twice (first at line %d)", k.Value, prev.k.Line)
		}
		if k.Value == "<<" {
			return nil, p.errorf(k.Line, "merge keys (<<) are not supported; use defaults: or write the keys out")
		}
		if !slices.Contains(allowed, k.Value) {
			return nil, p.errorf(k.Line, "unknown key %q%s (want %s)", k.Value, in, strings.Join(allowed, ", "))
		}
		if v.Kind == yaml.AliasNode {
			return nil, p.errorf(v.Line, "%s: aliases (*%s) are not supported; write the value out", k.Value, v.Value)
		}
		m[k.Value] = keyValue{k, v}
	}
	return m, nil
}

// host decodes the keys of one host (or of defaults) without defaulting.
func (p *parser) host(m map[string]keyValue) (hostLine, error) {
	var h hostLine
	for _, key := range hostKeys {
		kv, ok := m[key]
		if !ok {
			continue
		}
		line := kv.v.Line
		if key == "labels" {
			labels, err := p.labels(kv)
			if err != nil {
				return h, err
			}
			h.Labels = labels
			continue
		}
		s, err := p.str(key, kv)
		if err != nil {
			return h, err
		}
		if s == "" {
			continue
		}
		switch key {
		case "name":
			if msg := checkName(s); msg != "" {
				return h, p.errorf(line, "name %q %s", s, msg)
			}
			h.Name = s
		case "address":
			if msg := checkAddress(s); msg != "" {
				return h, p.errorf(line, "address %q %s", s, msg)
			}
			h.Address = s
		case "port":
			port, ok := parsePort(s)
			if !ok {
				return h, p.errorf(line, "port: want a number from 1 to 65535, got %s", experiments.DescribeNode(kv.v))
			}
			h.Port = port
		case "user":
			h.User = s
		case "identity_file":
			if h.IdentityFile, err = p.localPath(line, key, s); err != nil {
				return h, err
			}
		case "role":
			role, ok := parseRole(s)
			if !ok {
				return h, p.errorf(line, "role: want replica or client, got %q", s)
			}
			h.Role = role
		case "dir":
			h.Dir = remoteDir(s)
		}
	}
	return h, nil
}

func (p *parser) labels(kv keyValue) ([]string, error) {
	if kv.v.Kind != yaml.SequenceNode {
		return nil, p.errorf(kv.v.Line, "labels: want a list such as [eu], got %s", experiments.DescribeNode(kv.v))
	}
	labels := make([]string, 0, len(kv.v.Content))
	for _, n := range kv.v.Content {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			return nil, p.errorf(n.Line, "labels: want a list of names, got %s", experiments.DescribeNode(n))
		}
		if msg := checkLabel(n.Value); msg != "" {
			return nil, p.errorf(n.Line, "labels: %s", msg)
		}
		labels = append(labels, n.Value)
	}
	return labels, nil
}

// str returns a scalar's text; an empty value counts as not given.
func (p *parser) str(key string, kv keyValue) (string, error) {
	if kv.v.Kind != yaml.ScalarNode {
		return "", p.errorf(kv.v.Line, "%s: want a single value, got %s", key, experiments.DescribeNode(kv.v))
	}
	if isNull(kv.v) {
		return "", nil
	}
	return kv.v.Value, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into the
// FILE:LINE form.
func (p *parser) yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, scanErr := fmt.Sscanf(rest[:i], "%d", &line); scanErr == nil {
				msg = rest[i+2:]
			}
		}
	}
	return p.errorf(line, "%s", strings.ReplaceAll(msg, "\n", "; "))
}
