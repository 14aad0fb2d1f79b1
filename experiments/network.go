package experiments

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Bandwidth is a link rate in bits per second; 0 is unlimited. In a spec it
// is a number with a unit, bit, kbit, Mbit or Gbit (powers of 1000): 100Mbit,
// 2.5Gbit, 500kbit; a bare 0 means unlimited.
type Bandwidth float64

var bandwidthUnits = []struct {
	name string
	mult float64
}{{"Gbit", 1e9}, {"Mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}

var errBandwidthSyntax = errors.New("bad bandwidth")

// ParseBandwidth reads a bandwidth such as "100Mbit" or "0". A space between
// number and unit is allowed.
func ParseBandwidth(s string) (Bandwidth, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	for _, u := range bandwidthUnits {
		num, ok := strings.CutSuffix(t, u.name)
		if !ok {
			continue
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			break
		}
		return Bandwidth(x * u.mult), nil
	}
	return 0, fmt.Errorf("%w %q", errBandwidthSyntax, s)
}

// String writes b with the largest unit that leaves a whole number, so that
// ParseBandwidth(b.String()) == b: 1e8 is "100Mbit", 1.5e9 is "1500Mbit".
func (b Bandwidth) String() string {
	if b == 0 {
		return "0"
	}
	for _, u := range bandwidthUnits {
		x := float64(b) / u.mult
		if x == math.Trunc(x) && x*u.mult == float64(b) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatFloat(float64(b), 'g', -1, 64) + "bit"
}

// MarshalYAML writes the bandwidth in its String form.
func (b Bandwidth) MarshalYAML() (any, error) { return b.String(), nil }

// Link is one entry of network.links: the link between two labels, both
// ways. A key it leaves out (nil) takes the network's own value at each
// point, so sweeping network.delay moves every link that does not set one.
type Link struct {
	Between   [2]string      `yaml:"between,flow"`
	Delay     *time.Duration `yaml:"delay,omitempty"`
	Jitter    *time.Duration `yaml:"jitter,omitempty"`
	Loss      *float64       `yaml:"loss,omitempty"`
	Bandwidth *Bandwidth     `yaml:"bandwidth,omitempty"`
}

// NetworkLabels label the processes of a run on this machine (a hosts
// file labels the processes of a run across hosts).
type NetworkLabels struct {
	Replicas []string `yaml:"replicas,omitempty,flow"` // one per replica
	Clients  []string `yaml:"clients,omitempty,flow"`  // the labels of the client process
}

// linkKeys are the keys of a network.links entry besides between; each is
// read by the network key of the same name, so it has the same bounds.
var linkKeys = []string{"delay", "jitter", "loss", "bandwidth"}

// networkLinks decodes network.links.
func (d *decoder) networkLinks(v *yaml.Node) {
	const path = "network.links"
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		d.c.add(v, path, "wrong type: want a list of links like [{between: [eu, us], delay: 40ms}], got %s", describe(v))
		return
	}
	links := make([]Link, 0, len(v.Content))
	for i, item := range v.Content {
		at := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			d.c.add(item, at, "wrong type: want a link like {between: [eu, us], delay: 40ms}, got %s", describe(item))
			continue
		}
		var l Link
		ok, between := true, false
		seen := map[string]int{}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j], item.Content[j+1]
			if line, dup := seen[k.Value]; dup {
				d.c.add(k, at+"."+k.Value, "set twice (first at line %d)", line)
				ok = false
				continue
			}
			seen[k.Value] = k.Line
			if val.Kind == yaml.AliasNode {
				d.c.add(val, at+"."+k.Value, "aliases (*%s) are not supported; write the value out", val.Value)
				ok = false
				continue
			}
			if k.Value == "between" {
				between = true
				pair, good := d.labels(val, at+".between", 2)
				if good {
					l.Between = [2]string{pair[0], pair[1]}
				}
				ok = ok && good
				continue
			}
			if !slices.Contains(linkKeys, k.Value) {
				d.c.add(k, at, "%s", unknownIn(k.Value, append([]string{"between"}, linkKeys...)))
				ok = false
				continue
			}
			x, msg := fieldByPath["network."+k.Value].parse(val)
			if msg != "" {
				d.c.add(val, at+"."+k.Value, "%s", msg)
				ok = false
				continue
			}
			p := reflect.New(x.Type())
			p.Elem().Set(x)
			l.override(k.Value).Set(p)
		}
		if !between && ok {
			d.c.add(item, at, "needs between: [label, label], the two labels it links")
			ok = false
		}
		if ok {
			links = append(links, l)
		}
	}
	if len(links) > 0 {
		d.spec.Network.Links = links
	}
	d.at[path] = v
}

// override is the field of l that overrides network.<key>, one of linkKeys:
// a pointer, nil when the link inherits the network's value.
func (l *Link) override(key string) reflect.Value {
	index, _ := bind(reflect.TypeOf(*l), key)
	return reflect.ValueOf(l).Elem().FieldByIndex(index)
}

// networkLabels decodes network.labels.
func (d *decoder) networkLabels(v *yaml.Node) {
	const path = "network.labels"
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.MappingNode {
		d.c.add(v, path, "wrong type: want a mapping like {replicas: [eu, eu, us, us], clients: [eu]}, got %s", describe(v))
		return
	}
	seen := map[string]int{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		at := path + "." + k.Value
		if line, dup := seen[k.Value]; dup {
			d.c.add(k, at, "set twice (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		var dst *[]string
		switch k.Value {
		case "replicas":
			dst = &d.spec.Network.Labels.Replicas
		case "clients":
			dst = &d.spec.Network.Labels.Clients
		default:
			d.c.add(k, path, "%s", unknownIn(k.Value, []string{"replicas", "clients"}))
			continue
		}
		if val.Kind == yaml.AliasNode {
			d.c.add(val, at, "aliases (*%s) are not supported; write the value out", val.Value)
			continue
		}
		if labels, ok := d.labels(val, at, 0); ok && len(labels) > 0 {
			*dst = labels
			d.at[at] = val
		}
	}
	d.at[path] = v
}

// labels reads a list of labels: n of them, or any number when n is 0.
func (d *decoder) labels(v *yaml.Node, path string, n int) ([]string, bool) {
	want := "a list of labels like [eu, us]"
	if n == 2 {
		want = "two labels like [eu, us]"
	}
	if v.Kind != yaml.SequenceNode {
		d.c.add(v, path, "wrong type: want %s, got %s", want, describe(v))
		return nil, false
	}
	if n > 0 && len(v.Content) != n {
		d.c.add(v, path, "want %s, got a list of %d", want, len(v.Content))
		return nil, false
	}
	out := make([]string, 0, len(v.Content))
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.ShortTag() != "!!str" || item.Value == "" {
			d.c.add(item, path, "a label is a non-empty string, got %s", describe(item))
			return nil, false
		}
		out = append(out, item.Value)
	}
	return out, true
}

// unknownIn words the message for a key that is none of known.
func unknownIn(key string, known []string) string {
	if s := suggest(key, known); s != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, s)
	}
	return fmt.Sprintf("unknown key %q (known: %s)", key, strings.Join(known, ", "))
}

// encodeNetwork adds network.links and network.labels to the network
// mapping m when they are set, as a spec would write them.
func encodeNetwork(m *yaml.Node, n *Network) {
	if len(n.Links) > 0 {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, l := range n.Links {
			item := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
			item.Content = append(item.Content, keyNode("between", 0), labelList(l.Between[:]))
			for _, key := range linkKeys {
				if p := l.override(key); !p.IsNil() {
					item.Content = append(item.Content, keyNode(key, 0), format(p.Elem()))
				}
			}
			list.Content = append(list.Content, item)
		}
		m.Content = append(m.Content, keyNode("links", 0), list)
	}
	if lb := n.Labels; len(lb.Replicas)+len(lb.Clients) > 0 {
		labels := &yaml.Node{Kind: yaml.MappingNode}
		if len(lb.Replicas) > 0 {
			labels.Content = append(labels.Content, keyNode("replicas", 0), labelList(lb.Replicas))
		}
		if len(lb.Clients) > 0 {
			labels.Content = append(labels.Content, keyNode("clients", 0), labelList(lb.Clients))
		}
		m.Content = append(m.Content, keyNode("labels", 0), labels)
	}
}

func labelList(labels []string) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, l := range labels {
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: l})
	}
	return list
}

// checkNetwork checks what network.labels asks of the rest of a point.
func checkNetwork(c *errs, s *Spec, blame func(...string) int, where string) {
	if n := len(s.Network.Labels.Replicas); n > 0 && n != s.Replicas {
		c.addLine(blame("network.labels.replicas", "replicas"), "network.labels.replicas",
			fmt.Sprintf("has %d labels for %d replicas; give one per replica%s", n, s.Replicas, where))
	}
}
