package experiments

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a spec, located by file, line and key path.
type Error struct {
	File string
	Line int    // 1-based; 0 when the problem has no line (a default, the file name)
	Path string // key path such as "load.clients" or "sweep: load.payload"; may be empty
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in a spec, in line order, one per line
// of its message.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// errs collects problems while a document is walked, so that one parse
// reports all of them rather than the first.
type errs struct {
	file string
	list ErrorList
	seen map[string]bool
}

func (c *errs) add(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	c.addLine(line, path, fmt.Sprintf(format, args...))
}

func (c *errs) addLine(line int, path, msg string) {
	e := &Error{File: c.file, Line: line, Path: path, Msg: msg}
	key := e.Error()
	if c.seen[key] {
		return // the same mistake seen through several sweep points
	}
	if c.seen == nil {
		c.seen = make(map[string]bool)
	}
	c.seen[key] = true
	c.list = append(c.list, e)
}

// err returns the collected problems sorted by line, or nil.
func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	slices.SortStableFunc(c.list, func(a, b *Error) int { return a.Line - b.Line })
	return c.list
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: ...") into an Error
// at that line.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, scanErr := fmt.Sscanf(rest[:i], "%d", &line); scanErr == nil {
				msg = rest[i+2:]
			}
		}
	}
	return ErrorList{{File: file, Line: line, Msg: msg}}
}

// DescribeNode names what a YAML node holds, for "want X, got Y"
// messages; other strict YAML readers (hosts files) use it too.
func DescribeNode(n *yaml.Node) string { return describe(n) }

// describe names what a node holds, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "an empty value"
	case "!!int":
		return "an integer " + n.Value
	case "!!float":
		return "a number " + n.Value
	case "!!bool":
		return "a boolean " + n.Value
	case "!!str":
		return fmt.Sprintf("a string %q", n.Value)
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely typo (one edit per four letters, at most three), or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", min(3, max(1, len(s)/4))+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// neighbours that turn a into b (optimal string alignment distance), so that
// "protcol" is one edit from "protocol".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
