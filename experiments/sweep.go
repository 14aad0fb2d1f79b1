package experiments

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/protocols/registry"
)

// Axis is one dimension of a sweep. A sweep key gives an axis with one path;
// a zip group gives one axis whose paths advance together.
type Axis struct {
	Paths []string // key paths as written, e.g. "load.clients"
	// Values[j] lists the values of Paths[j] as written; all lists have the
	// same length, the length of the axis.
	Values [][]string

	nodes [][]*yaml.Node // parallel to Values; nil for an axis built in Go
	line  int
}

func newAxis(paths []string, lists [][]*yaml.Node, line int) Axis {
	a := Axis{Paths: paths, nodes: lists, line: line}
	for _, l := range lists {
		vs := make([]string, len(l))
		for i, n := range l {
			vs[i] = n.Value
		}
		a.Values = append(a.Values, vs)
	}
	return a
}

// Len is the number of steps along the axis.
func (a Axis) Len() int {
	if len(a.Values) == 0 {
		return 0
	}
	return len(a.Values[0])
}

// node returns the YAML node of value i of path j, making one for axes built
// in Go.
func (a Axis) node(j, i int) *yaml.Node {
	if a.nodes != nil {
		return a.nodes[j][i]
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: a.Values[j][i]}
}

// KV is one swept key and its value at a point, as written in the spec.
type KV struct {
	Key   string
	Value string
}

// Point is one fully resolved configuration of a sweep.
type Point struct {
	Index  int  // position in Points, from 0
	Values []KV // the swept keys and their values here, in axis order
	Config Spec // the resolved configuration; Config.Sweep is empty
}

// Label names the point by its swept values, e.g.
// "load.clients=4,load.payload=1KiB"; it is "" when nothing is swept.
func (p Point) Label() string {
	parts := make([]string, len(p.Values))
	for i, kv := range p.Values {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, ",")
}

// maxDirLen keeps point directory names well below file system limits.
const maxDirLen = 120

// Dir names the point's results directory: its index, then its label with
// every character outside [A-Za-z0-9._=+-] replaced by '_', e.g.
// "p003-load.clients=4-load.payload=1KiB". The index keeps names unique and
// in order even when long labels are cut.
func (p Point) Dir() string {
	var b strings.Builder
	fmt.Fprintf(&b, "p%03d", p.Index)
	for _, kv := range p.Values {
		b.WriteByte('-')
		for _, r := range kv.Key + "=" + kv.Value {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._=+-", r) {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
	}
	if b.Len() > maxDirLen {
		return b.String()[:maxDirLen]
	}
	return b.String()
}

// NumPoints counts the points of the sweep without resolving any: the
// product of the axes' lengths, 1 when nothing is swept.
func (s *Spec) NumPoints() (int, error) {
	e, err := s.expansion()
	if err != nil {
		return 0, err
	}
	return e.total, nil
}

// Point resolves point i (from 0 to NumPoints()-1) alone. Its step along
// each axis is i written in the mixed radix of the axes' lengths, the last
// axis the fastest digit, so no other point is expanded to reach it.
func (s *Spec) Point(i int) (Point, error) {
	e, err := s.expansion()
	if err != nil {
		return Point{}, err
	}
	if i < 0 || i >= e.total {
		return Point{}, fmt.Errorf("point %d out of range: the sweep has %d points", i, e.total)
	}
	c := &errs{file: e.file}
	p := e.point(c, i)
	return p, c.err()
}

// All yields the points in run order, each resolved only when it is
// reached, so a large sweep is never held in memory at once. A point with a
// problem ends the sequence with its error; a spec Parse accepted has none.
func (s *Spec) All() iter.Seq2[Point, error] {
	return func(yield func(Point, error) bool) {
		e, err := s.expansion()
		if err != nil {
			yield(Point{}, err)
			return
		}
		for i := range e.total {
			c := &errs{file: e.file}
			p := e.point(c, i)
			if err := c.err(); err != nil {
				yield(Point{}, err)
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}

// Points expands the sweep into all its points at once: the cross product
// of the axes, the first axis varying slowest, in the order axes are
// written in the spec (sweep keys and zip groups alike). Each point is
// checked as a whole, so errors that depend on several keys (replicas for a
// protocol, open-loop rate, duration against warm-up) point at the value
// that broke it. The expansion starts from the parsed document; a Spec
// built in Go expands from its fields. Repeats are not points: each point
// runs Repeat times. Large sweeps are better walked with All or Point.
func (s *Spec) Points() ([]Point, error) {
	e, err := s.expansion()
	if err != nil {
		return nil, err
	}
	c := &errs{file: e.file}
	points := make([]Point, 0, e.total)
	for i := range e.total {
		points = append(points, e.point(c, i))
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return points, nil
}

// Check resolves and checks every point, keeping none, and reports every
// problem found, as Points would. It returns ctx's error, wrapped, as soon
// as ctx ends, so a large sweep can be abandoned at once.
func (s *Spec) Check(ctx context.Context) error {
	e, err := s.expansion()
	if err != nil {
		return err
	}
	c := &errs{file: e.file}
	for i := range e.total {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("check the sweep's %d points: %w", e.total, err)
			}
		}
		e.point(c, i)
	}
	return c.err()
}

// expansion is what resolving points needs: the document every point
// starts from and the number of points.
type expansion struct {
	s     *Spec
	file  string
	doc   *yaml.Node
	total int
}

func (s *Spec) expansion() (*expansion, error) {
	e := &expansion{s: s, file: s.file, doc: s.doc, total: 1}
	if e.file == "" {
		e.file = "spec"
	}
	for _, a := range s.Sweep {
		if a.Len() == 0 || len(a.Values) != len(a.Paths) {
			return nil, ErrorList{{File: e.file, Line: a.line, Path: "sweep", Msg: fmt.Sprintf("axis %v has no values", a.Paths)}}
		}
		if e.total *= a.Len(); e.total > maxPoints {
			return nil, ErrorList{{File: e.file, Path: "sweep", Msg: fmt.Sprintf("more than %d points", maxPoints)}}
		}
	}
	if e.doc == nil {
		e.doc = encodeSpec(s, true)
	}
	return e, nil
}

// point resolves point i, reporting its problems to c.
func (e *expansion) point(c *errs, i int) Point {
	s := e.s
	tree := cloneNode(e.doc)
	var values []KV
	swept := map[string]bool{}
	rest := i
	steps := make([]int, len(s.Sweep))
	for a := len(s.Sweep) - 1; a >= 0; a-- {
		n := s.Sweep[a].Len()
		steps[a], rest = rest%n, rest/n
	}
	for a, ax := range s.Sweep {
		for j, path := range ax.Paths {
			n := ax.node(j, steps[a])
			f, msg := sweepField(path)
			if msg != "" {
				c.addLine(ax.line, "sweep", path+": "+msg)
				continue
			}
			setPath(tree, f.path, n)
			values = append(values, KV{Key: path, Value: n.Value})
			swept[f.path] = true
		}
	}
	cfg, at := decodeSpec(c, tree, false)
	cfg.Name, cfg.file = s.Name, s.file
	p := Point{Index: i, Values: values, Config: *cfg}
	where := ""
	if len(s.Sweep) > 0 {
		where = " (at point " + p.Label() + ")"
	}
	checkPoint(c, cfg, at, swept, where)
	return p
}

// Validate checks s as one point, by the rules Parse applies, ignoring its
// Sweep. It is for configurations changed in Go, such as a point's Config
// after command-line overrides; its errors name keys but no lines.
func (s *Spec) Validate() error {
	file := s.file
	if file == "" {
		file = "spec"
	}
	c := &errs{file: file}
	cfg, at := decodeSpec(c, encodeSpec(s, false), false)
	checkPoint(c, cfg, at, nil, "")
	return c.err()
}

// checkPoint checks what depends on several keys. A problem is reported at
// the line of a swept value among the keys involved when there is one, since
// that value made this point invalid, and otherwise at the first key set.
func checkPoint(c *errs, s *Spec, at map[string]*yaml.Node, swept map[string]bool, where string) {
	blame := func(paths ...string) int {
		for _, p := range paths {
			if swept[p] {
				return at[p].Line
			}
		}
		for _, p := range paths {
			if at[p] != nil {
				return at[p].Line
			}
		}
		return 0
	}
	if p, err := registry.Lookup(string(s.Protocol)); err == nil {
		if err := p.CheckReplicas(s.Replicas); err != nil {
			c.addLine(blame("replicas", "protocol"), "replicas", fmt.Sprintf("%s %v%s", p.Name, err, where))
		}
	}
	switch {
	case s.Load.Mode == Open && s.Load.Rate == 0:
		c.addLine(blame("load.rate", "load.mode"), "load.rate",
			"the open loop needs a rate > 0 (requests/s over all clients)"+where)
	case s.Load.Mode == Closed && s.Load.Rate != 0:
		c.addLine(blame("load.rate", "load.mode"), "load.rate",
			fmt.Sprintf("only the open loop uses a rate (set load.mode: open), got %g%s", s.Load.Rate, where))
	}
	if s.Load.Kind == WorkloadYCSB && s.App.Name != AppKV {
		c.addLine(blame("load.workload", "app.name"), "load.workload",
			fmt.Sprintf("ycsb sends key-value operations and needs app: kv, got app: %s%s", s.App.Name, where))
	}
	checkNetwork(c, s, blame, where)
	checkRequestSize(c, s, blame, where)
	if s.Measured() <= 0 {
		c.addLine(blame("duration", "warmup", "cooldown"), "duration",
			fmt.Sprintf("must be longer than warmup + cooldown (%v + %v), got %v%s", s.Warmup, s.Cooldown, s.Duration, where))
	}
}

func cloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, ch := range n.Content {
			c.Content[i] = cloneNode(ch)
		}
	}
	return &c
}

// setPath sets the value of a leaf key path in a mapping, adding the keys
// that are missing. A group written as a scalar ("app: echo") becomes the
// mapping it stands for, so that sweeping app.reply keeps the app name.
func setPath(m *yaml.Node, path string, v *yaml.Node) {
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		j := -1
		for k := 0; k+1 < len(m.Content); k += 2 {
			if m.Content[k].Value == seg {
				j = k + 1
			}
		}
		if i == len(segs)-1 {
			if j >= 0 {
				m.Content[j] = v
			} else {
				m.Content = append(m.Content, keyNode(seg, v.Line), v)
			}
			return
		}
		if j < 0 {
			child := &yaml.Node{Kind: yaml.MappingNode, Line: v.Line}
			m.Content = append(m.Content, keyNode(seg, v.Line), child)
			m = child
			continue
		}
		if child := m.Content[j]; child.Kind != yaml.MappingNode {
			repl := &yaml.Node{Kind: yaml.MappingNode, Line: child.Line}
			if shorthand := groups[seg]; shorthand != "" && child.Kind == yaml.ScalarNode {
				repl.Content = []*yaml.Node{keyNode(shorthand, child.Line), child}
			}
			m.Content[j] = repl
		}
		m = m.Content[j]
	}
}

func keyNode(key string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line}
}

// encodeSpec writes every key of s as a spec mapping, in schema order. With
// base set, a zero Replicas is left out so that it defaults by protocol.
func encodeSpec(s *Spec, base bool) *yaml.Node {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sv := reflect.ValueOf(s).Elem()
	groupNodes := map[string]*yaml.Node{}
	for _, f := range fields {
		if base && f.path == "replicas" && s.Replicas == 0 {
			continue
		}
		m, key := root, f.path
		if g, rest, ok := strings.Cut(f.path, "."); ok {
			if groupNodes[g] == nil {
				groupNodes[g] = &yaml.Node{Kind: yaml.MappingNode}
				root.Content = append(root.Content, keyNode(g, 0), groupNodes[g])
			}
			m, key = groupNodes[g], rest
		}
		m.Content = append(m.Content, keyNode(key, 0), format(sv.FieldByIndex(f.index)))
	}
	encodeNetwork(groupNodes["network"], &s.Network)
	return root
}

// Expanded writes the points as YAML (results/expanded.yaml): a list whose
// items hold index, label, dir, values (swept key -> value as written) and
// config, a complete spec for the point. ParseExpanded reads it back.
func (s *Spec) Expanded() ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteExpanded(context.Background(), &buf, s.Name, s.All()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteExpanded writes points to w in Expanded's format, streaming: points
// are resolved one at a time and encoded in batches on every core, and at
// most a few batches are in memory at once, however large the sweep; the
// runner passes points with its command-line overrides applied. It stops
// with ctx's error as soon as ctx ends.
func WriteExpanded(ctx context.Context, w io.Writer, spec string, points iter.Seq2[Point, error]) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	fmt.Fprintf(bw, "# Points of spec %s in run order; each config is a complete spec.\n", spec)

	// Batches are encoded concurrently and written in order: pending holds
	// each batch's result channel in run order, and its capacity bounds the
	// batches in flight.
	type encoded struct {
		buf []byte
		err error
	}
	pending := make(chan chan encoded, runtime.GOMAXPROCS(0)+1)
	var failed atomic.Bool
	written := make(chan error, 1)
	go func() {
		var err error
		for rc := range pending {
			e := <-rc
			if err == nil {
				err = e.err
			}
			if err == nil {
				_, err = bw.Write(e.buf)
			}
			if err != nil {
				failed.Store(true)
			}
		}
		written <- err
	}()
	var batch []Point
	send := func() {
		rc := make(chan encoded, 1)
		pending <- rc
		go func(ps []Point) {
			var buf bytes.Buffer
			for _, p := range ps {
				if err := encodeItem(&buf, p); err != nil {
					rc <- encoded{err: err}
					return
				}
			}
			rc <- encoded{buf: buf.Bytes()}
		}(batch)
		batch = nil
	}
	n := 0
	var err error
	for p, perr := range points {
		if err = perr; err != nil {
			break
		}
		if err = ctx.Err(); err != nil {
			err = fmt.Errorf("write expanded points: %w", err)
			break
		}
		if failed.Load() {
			break
		}
		batch = append(batch, p)
		n++
		if len(batch) == 256 {
			send()
		}
	}
	if err == nil && len(batch) > 0 {
		send()
	}
	close(pending)
	if werr := <-written; err == nil && werr != nil {
		err = fmt.Errorf("write expanded points: %w", werr)
	}
	if err != nil {
		return err
	}
	if n == 0 {
		bw.WriteString("[]\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write expanded points: %w", err)
	}
	return nil
}

// encodeItem appends one point to buf as an item of expanded.yaml. Each
// item is encoded as a list of one: concatenated, they are the list, and
// the encoder's cost stays that of one point (yaml.v3 slows down on one
// large document).
func encodeItem(buf *bytes.Buffer, p Point) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{expandedItem(p)}}); err != nil {
		return fmt.Errorf("encode expanded point %d: %w", p.Index, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode expanded point %d: %w", p.Index, err)
	}
	return nil
}

// expandedItem is one point as an item of expanded.yaml.
func expandedItem(p Point) *yaml.Node {
	values := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for _, kv := range p.Values {
		values.Content = append(values.Content, keyNode(kv.Key, 0), &yaml.Node{Kind: yaml.ScalarNode, Value: kv.Value})
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		keyNode("index", 0), {Kind: yaml.ScalarNode, Value: fmt.Sprint(p.Index)},
		keyNode("label", 0), str(p.Label()),
		keyNode("dir", 0), str(p.Dir()),
		keyNode("values", 0), values,
		keyNode("config", 0), encodeSpec(&p.Config, false),
	}}
}

// ParseExpanded reads what Expanded wrote. name is the file name for
// messages. Each config is validated like a spec without a sweep.
func ParseExpanded(name string, data []byte) ([]Point, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	c := &errs{file: name}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.SequenceNode {
		c.add(root, "", "want a list of points, got %s", describe(root))
		return nil, c.err()
	}
	points := make([]Point, 0, len(root.Content))
	for i, item := range root.Content {
		path := fmt.Sprintf("[%d]", i)
		if item.Kind != yaml.MappingNode {
			c.add(item, path, "want a point mapping, got %s", describe(item))
			continue
		}
		p := Point{Index: i}
		var cfg *Spec
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "index":
				if err := v.Decode(&p.Index); err != nil || v.ShortTag() != "!!int" {
					c.add(v, path+".index", "want an integer, got %s", describe(v))
				}
			case "label", "dir":
				// Derived from values; written for people and scripts.
			case "values":
				if v.Kind != yaml.MappingNode {
					c.add(v, path+".values", "want a mapping, got %s", describe(v))
					continue
				}
				for m := 0; m+1 < len(v.Content); m += 2 {
					p.Values = append(p.Values, KV{Key: v.Content[m].Value, Value: v.Content[m+1].Value})
				}
			case "config":
				var at map[string]*yaml.Node
				cfg, at = decodeSpec(c, v, false)
				checkPoint(c, cfg, at, nil, "")
			default:
				c.add(k, path, "unknown key %q (want index, label, dir, values, config)", k.Value)
			}
		}
		if cfg == nil {
			c.add(item, path, "no config")
			continue
		}
		cfg.file = name
		p.Config = *cfg
		points = append(points, p)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return points, nil
}
