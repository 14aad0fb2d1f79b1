package hosts

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/experiments"
)

// The built-in reader of Ansible YAML inventories (all: {children: {replicas:
// {hosts: {r1: {ansible_host: ...}}}}}), as Ansible's yaml plugin reads them.
// Where Ansible warns and skips (an unknown key in a group), it reports an
// error. Plain scalars are typed by YAML 1.1 rules, as PyYAML types them
// for Ansible (yes is true, 010 is 8).

// maxNodes bounds the nodes that aliases may expand to.
const maxNodes = 100000

func (p *parser) parseAnsibleYAML(root *yaml.Node) (*File, error) {
	c := &errs{file: p.path}
	inv := newInventory()
	budget := maxNodes
	p.budget = &budget
	for i := 0; i+1 < len(root.Content); i += 2 {
		p.yamlGroup(inv, c, root.Content[i], root.Content[i+1])
	}
	if budget < 0 {
		c.add(root.Line, "aliases expand to more than %d values", maxNodes)
	}
	if len(c.list) == 0 {
		inv.resolve(c)
		f := p.build(inv, c)
		if err := c.err(); err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, c.err()
}

func (p *parser) yamlGroup(inv *inventory, c *errs, k, v *yaml.Node) string {
	if *p.budget--; *p.budget < 0 {
		return ""
	}
	name := k.Value
	if k.Kind != yaml.ScalarNode || name == "" {
		c.add(k.Line, "group names must be plain names, got %s", experiments.DescribeNode(k))
		return ""
	}
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if g := inv.group(name); g.line == 0 {
		g.line = k.Line
	}
	if v.Kind == yaml.ScalarNode && isNull(v) {
		return name
	}
	if v.Kind != yaml.MappingNode {
		c.add(v.Line, "group %s: want a mapping with hosts:, children: or vars:, got %s", name, experiments.DescribeNode(v))
		return ""
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		sk, sv := v.Content[i], v.Content[i+1]
		if sv.Kind == yaml.AliasNode {
			sv = sv.Alias
		}
		section := sk.Value
		switch section {
		case "vars", "children", "hosts":
		default:
			c.add(sk.Line, "group %s: unknown key %q (want hosts, children, vars)", name, section)
			continue
		}
		if sv.Kind == yaml.ScalarNode && !isNull(sv) {
			// Ansible reads "hosts: r1" as "hosts: {r1: }".
			sv = &yaml.Node{Kind: yaml.MappingNode, Line: sv.Line, Content: []*yaml.Node{sv, {Kind: yaml.ScalarNode, Tag: "!!null", Line: sv.Line}}}
		}
		if isNull(sv) {
			continue
		}
		if sv.Kind != yaml.MappingNode {
			c.add(sv.Line, "group %s: %s: want a mapping, got %s", name, section, experiments.DescribeNode(sv))
			continue
		}
		for j := 0; j+1 < len(sv.Content); j += 2 {
			ek, ev := sv.Content[j], sv.Content[j+1]
			switch section {
			case "vars":
				inv.setGroupVar(c, name, ek.Value, invValue{yamlValue(ev, p.budget), ek.Line})
			case "children":
				if child := p.yamlGroup(inv, c, ek, ev); child != "" {
					inv.addChild(name, child)
				}
			case "hosts":
				names, port, err := expandHostPattern(ek.Value)
				if err != nil {
					c.add(ek.Line, "%v", err)
					continue
				}
				if len(inv.hosts)+len(names) > maxHosts {
					c.add(ek.Line, "more than %d hosts", maxHosts)
					continue
				}
				if ev.Kind == yaml.AliasNode {
					ev = ev.Alias
				}
				if !isNull(ev) && ev.Kind != yaml.MappingNode {
					c.add(ev.Line, "host %s: want a mapping of variables, got %s", ek.Value, experiments.DescribeNode(ev))
					continue
				}
				for _, hn := range names {
					h := inv.addHost(name, hn, port, ek.Line)
					for m := 0; m+1 < len(ev.Content); m += 2 {
						h.vars[ev.Content[m].Value] = invValue{yamlValue(ev.Content[m+1], p.budget), ev.Content[m].Line}
					}
				}
			}
		}
	}
	return name
}

// YAML 1.1 implicit types, from PyYAML's resolver.
var (
	yaml11Bool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	yaml11Int   = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	yaml11Float = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)
	yaml11Null  = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
)

// yamlValue converts a node to string, int64, float64, bool, nil, []any or
// map[string]any, counting the nodes it visits against budget.
func yamlValue(n *yaml.Node, budget *int) any {
	if *budget--; *budget < 0 {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			out = append(out, yamlValue(e, budget))
		}
		return out
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			out[n.Content[i].Value] = yamlValue(n.Content[i+1], budget)
		}
		return out
	case yaml.ScalarNode:
	default:
		return nil
	}
	s := n.Value
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 ||
		n.Style&yaml.TaggedStyle != 0 && n.ShortTag() == "!!str" {
		return s // quoted, a block or tagged !!str: text
	}
	switch {
	case yaml11Null.MatchString(s):
		return nil
	case yaml11Bool.MatchString(s):
		return strings.ContainsAny(s[:1], "yYtToO") && !strings.EqualFold(s, "off")
	case yaml11Int.MatchString(s):
		if v, ok := yaml11ParseInt(s); ok {
			return v
		}
	case yaml11Float.MatchString(s):
		if v, ok := yaml11ParseFloat(s); ok {
			return v
		}
	}
	return s
}

func yaml11ParseInt(s string) (int64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	sign := int64(1)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	var v int64
	var err error
	switch {
	case strings.Contains(s, ":"):
		for part := range strings.SplitSeq(s, ":") {
			d, e := strconv.ParseInt(part, 10, 64)
			if e != nil {
				return 0, false
			}
			v = v*60 + d
		}
	case strings.HasPrefix(s, "0b"):
		v, err = strconv.ParseInt(s[2:], 2, 64)
	case strings.HasPrefix(s, "0x"):
		v, err = strconv.ParseInt(s[2:], 16, 64)
	case len(s) > 1 && s[0] == '0':
		v, err = strconv.ParseInt(s[1:], 8, 64)
	default:
		v, err = strconv.ParseInt(s, 10, 64)
	}
	return sign * v, err == nil
}

func yaml11ParseFloat(s string) (float64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case ".inf":
		if s[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case ".nan":
		return math.NaN(), true
	}
	if strings.Contains(s, ":") {
		sign := 1.0
		if s[0] == '-' || s[0] == '+' {
			if s[0] == '-' {
				sign = -1
			}
			s = s[1:]
		}
		v := 0.0
		for part := range strings.SplitSeq(s, ":") {
			d, err := strconv.ParseFloat(part, 64)
			if err != nil {
				return 0, false
			}
			v = v*60 + d
		}
		return sign * v, true
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
