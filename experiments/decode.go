package experiments

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/protocols/registry"
)

// maxPoints bounds a sweep, so a slip such as a 10-axis cross product is
// reported instead of exhausting memory.
const maxPoints = 100_000

// decoder walks one spec document. It reports every problem it meets to c
// and keeps going, so that one parse shows all of them.
type decoder struct {
	c    *errs
	spec *Spec
	at   map[string]*yaml.Node // leaf path -> the node its value came from
	base bool                  // a spec file (sweep, zip, figures allowed), not a point
	// swept maps each swept leaf path to the line of its sweep key, to catch
	// a key swept twice.
	swept map[string]int
	doc   *yaml.Node // the top-level mapping without sweep, zip and figures
}

// decodeSpec decodes a document (or a bare mapping) into a Spec with every
// default applied. The returned map gives, for each key set in the document,
// the node of its value.
func decodeSpec(c *errs, n *yaml.Node, base bool) (*Spec, map[string]*yaml.Node) {
	d := &decoder{c: c, spec: &Spec{}, at: map[string]*yaml.Node{}, base: base, swept: map[string]int{}}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	d.doc = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	switch {
	case n.Kind == 0 || n.Kind == yaml.DocumentNode || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		// An empty file: every key takes its default.
	case n.Kind != yaml.MappingNode:
		c.add(n, "", "a spec is a mapping of keys, got %s", describe(n))
	default:
		d.mapping(n, "")
	}
	d.defaults()
	d.spec.doc = d.doc
	return d.spec, d.at
}

func (d *decoder) mapping(n *yaml.Node, prefix string) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.c.add(k, prefix, "keys must be plain names, got %s", describe(k))
			continue
		}
		key, path := k.Value, join(prefix, k.Value)
		if line, dup := seen[key]; dup {
			d.c.add(k, path, "set twice (first at line %d)", line)
			continue
		}
		seen[key] = k.Line
		if key == "<<" {
			d.c.add(k, prefix, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if v.Kind == yaml.AliasNode {
			d.c.add(v, path, "aliases (*%s) are not supported; write the value out", v.Value)
			continue
		}
		if prefix == "" && slices.Contains(special, key) {
			if !d.base {
				d.c.add(k, path, "not allowed in an expanded point")
				continue
			}
			switch key {
			case "sweep":
				d.sweep(v)
			case "zip":
				d.zip(v)
			case "figures":
				d.figures(v)
			}
			continue
		}
		if prefix == "" {
			d.doc.Content = append(d.doc.Content, k, v)
		}
		if f := fieldByPath[path]; f != nil {
			d.leaf(f, v, path)
			continue
		}
		if decode := structured[path]; decode != nil {
			decode(d, v)
			continue
		}
		if shorthand, ok := groups[path]; ok && prefix == "" {
			switch {
			case v.Kind == yaml.MappingNode:
				d.mapping(v, path)
			case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" && shorthand == "":
				// "load:" with nothing under it: all defaults.
			case v.Kind == yaml.ScalarNode && shorthand != "":
				d.leaf(fieldByPath[path+"."+shorthand], v, path)
			default:
				d.c.add(v, path, "wrong type: want a mapping of %s keys, got %s", path, describe(v))
			}
			continue
		}
		d.c.add(k, prefix, "%s", unknownKey(prefix, key))
	}
}

// unknownKey words the message for a key that is not in the schema, with a
// guess at what was meant: a sibling a typo away, or the same name elsewhere.
func unknownKey(prefix, key string) string {
	paths := slices.Concat(leafPaths, slices.Sorted(maps.Keys(structured)))
	siblings := topKeys
	if prefix != "" {
		siblings = nil
		for _, p := range paths {
			if rest, ok := strings.CutPrefix(p, prefix+"."); ok {
				siblings = append(siblings, rest)
			}
		}
	}
	if s := suggest(key, siblings); s != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, s)
	}
	for _, p := range paths {
		if p != join(prefix, key) && (p == key || strings.HasSuffix(p, "."+key)) {
			return fmt.Sprintf("unknown key %q (did you mean %s?)", key, p)
		}
	}
	return fmt.Sprintf("unknown key %q (known: %s)", key, strings.Join(siblings, ", "))
}

func (d *decoder) leaf(f *field, v *yaml.Node, path string) {
	val, msg := f.parse(v)
	if msg == "" && f.path == "name" && !validName(val.String()) {
		msg = fmt.Sprintf("%q cannot name the results directory (use letters, digits, '.', '_', '-')", val.String())
	}
	if msg != "" {
		d.c.add(v, path, "%s", msg)
		return
	}
	reflect.ValueOf(d.spec).Elem().FieldByIndex(f.index).Set(val)
	d.at[f.path] = v
}

// defaults fills every key the document left out.
func (d *decoder) defaults() {
	sv := reflect.ValueOf(d.spec).Elem()
	for _, f := range fields {
		if d.at[f.path] != nil || f.def == "" {
			continue
		}
		sv.FieldByIndex(f.index).Set(f.defVal)
	}
	if d.at["replicas"] == nil {
		d.spec.Replicas = 4
		if p, err := registry.Lookup(string(d.spec.Protocol)); err == nil {
			d.spec.Replicas = p.DefaultReplicas
		}
	}
}

// sweepField resolves a swept key path to its field; "app" stands for
// "app.name" as it does in the document. It returns a message when the path
// cannot be swept.
func sweepField(path string) (*field, string) {
	if shorthand := groups[path]; shorthand != "" {
		path += "." + shorthand
	}
	if f := fieldByPath[path]; f != nil {
		if f.path == "name" {
			return nil, "cannot be swept: it names the results directory"
		}
		return f, ""
	}
	if structured[path] != nil {
		return nil, "cannot be swept: it is not a single value"
	}
	if _, ok := groups[path]; ok {
		var keys []string
		for _, p := range leafPaths {
			if strings.HasPrefix(p, path+".") {
				keys = append(keys, p)
			}
		}
		return nil, fmt.Sprintf("not a single key; sweep one of %s", strings.Join(keys, ", "))
	}
	if s := suggest(path, leafPaths); s != "" {
		return nil, fmt.Sprintf("unknown key path (did you mean %s?)", s)
	}
	return nil, "unknown key path"
}

// axisValues checks one swept key and its list of values. where is "sweep"
// or "zip" for messages. It returns the value nodes and their canonical
// text (so that 1024 and 1KiB compare equal), or nil when the key or list
// is bad.
func (d *decoder) axisValues(where string, k, v *yaml.Node) ([]*yaml.Node, []string) {
	path := k.Value
	f, msg := sweepField(path)
	if msg != "" {
		d.c.add(k, where, "%s: %s", path, msg)
		return nil, nil
	}
	if line, dup := d.swept[f.path]; dup {
		d.c.add(k, where, "%s: already swept at line %d", path, line)
		return nil, nil
	}
	d.swept[f.path] = k.Line
	if v.Kind != yaml.SequenceNode {
		d.c.add(v, where, "%s: want a list of values, got %s (write [x] for one value)", path, describe(v))
		return nil, nil
	}
	if len(v.Content) == 0 {
		d.c.add(v, where, "%s: empty list of values", path)
		return nil, nil
	}
	canon := make([]string, len(v.Content))
	for i, item := range v.Content {
		val, msg := f.parse(item)
		if msg != "" {
			d.c.add(item, where, "%s: %s", path, msg)
			canon = nil
			continue
		}
		if canon != nil {
			canon[i] = format(val).Value
		}
	}
	if canon == nil {
		return nil, nil
	}
	return v.Content, canon
}

// distinct reports a step of an axis that repeats an earlier one: it would
// run the same point twice under two names.
func (d *decoder) distinct(where string, paths []string, lists [][]*yaml.Node, canon [][]string) bool {
	seen := map[string]int{}
	for i := range lists[0] {
		var key, shown []string
		for j := range paths {
			key = append(key, canon[j][i])
			shown = append(shown, paths[j]+"="+lists[j][i].Value)
		}
		k := strings.Join(key, "\x00")
		if line, dup := seen[k]; dup {
			d.c.add(lists[0][i], where, "%s listed twice (first at line %d)", strings.Join(shown, ","), line)
			return false
		}
		seen[k] = lists[0][i].Line
	}
	return true
}

func (d *decoder) sweep(v *yaml.Node) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.MappingNode {
		d.c.add(v, "sweep", "wrong type: want a mapping of key path to list of values, got %s", describe(v))
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, list := v.Content[i], v.Content[i+1]
		values, canon := d.axisValues("sweep", k, list)
		if values == nil {
			continue
		}
		paths, lists := []string{k.Value}, [][]*yaml.Node{values}
		if d.distinct("sweep", paths, lists, [][]string{canon}) {
			d.spec.Sweep = append(d.spec.Sweep, newAxis(paths, lists, k.Line))
		}
	}
	d.checkSize(v)
}

func (d *decoder) zip(v *yaml.Node) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		d.c.add(v, "zip", "wrong type: want a list of groups like {batch.size: [1, 10], batch.timeout: [0ms, 5ms]}, got %s", describe(v))
		return
	}
	for _, g := range v.Content {
		if g.Kind != yaml.MappingNode || len(g.Content) == 0 {
			d.c.add(g, "zip", "wrong type: want a group like {batch.size: [1, 10], batch.timeout: [0ms, 5ms]}, got %s", describe(g))
			continue
		}
		var paths []string
		var lists [][]*yaml.Node
		var canons [][]string
		ok := true
		for i := 0; i+1 < len(g.Content); i += 2 {
			k := g.Content[i]
			values, canon := d.axisValues("zip", k, g.Content[i+1])
			if values == nil {
				ok = false
				continue
			}
			if len(lists) > 0 && len(values) != len(lists[0]) {
				d.c.add(k, "zip", "%s has %d values but %s has %d; lists in a group advance together, so they need equal lengths",
					k.Value, len(values), paths[0], len(lists[0]))
				ok = false
				continue
			}
			paths = append(paths, k.Value)
			lists = append(lists, values)
			canons = append(canons, canon)
		}
		if ok && d.distinct("zip", paths, lists, canons) {
			d.spec.Sweep = append(d.spec.Sweep, newAxis(paths, lists, g.Line))
		}
	}
	d.checkSize(v)
}

// checkSize refuses sweeps too large to expand; n is where to point.
func (d *decoder) checkSize(n *yaml.Node) {
	total := 1
	for _, a := range d.spec.Sweep {
		total *= a.Len()
		if total > maxPoints {
			d.c.add(n, "", "the sweep has more than %d points; split it into several specs", maxPoints)
			return
		}
	}
}

func (d *decoder) figures(v *yaml.Node) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.SequenceNode {
		d.c.add(v, "figures", "wrong type: want a list like [{x: load.clients, y: throughput}], got %s", describe(v))
		return
	}
	for i, item := range v.Content {
		path := fmt.Sprintf("figures[%d]", i)
		if item.Kind != yaml.MappingNode {
			d.c.add(item, path, "wrong type: want a mapping with x, y and series, got %s", describe(item))
			continue
		}
		var fig Figure
		dst := map[string]*string{"x": &fig.X, "y": &fig.Y, "series": &fig.Series}
		ok := true
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, val := item.Content[j], item.Content[j+1]
			p, known := dst[k.Value]
			switch {
			case !known:
				d.c.add(k, path, "unknown key %q (want x, y, series)", k.Value)
				ok = false
			case val.Kind != yaml.ScalarNode || val.ShortTag() != "!!str":
				d.c.add(val, path+"."+k.Value, "wrong type: want a string, got %s", describe(val))
				ok = false
			default:
				*p = val.Value
			}
		}
		if ok && (fig.X == "" || fig.Y == "") {
			d.c.add(item, path, "needs both x and y")
			ok = false
		}
		if ok {
			d.spec.Figures = append(d.spec.Figures, fig)
		}
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
