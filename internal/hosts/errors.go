package hosts

import (
	"fmt"
	"slices"

	"github.com/replbench/replbench/experiments"
)

// Error is one problem in a hosts file, located by file and line (0 when
// it has none: ansible-inventory's output has no lines). It is the spec
// parser's error, so hosts files and specs report mistakes alike.
type Error = experiments.Error

// ErrorList is every problem found in a hosts file, in line order, one per
// line of its message.
type ErrorList = experiments.ErrorList

// errs collects problems so that one read reports all of them.
type errs struct {
	file string
	list ErrorList
	seen map[string]bool
}

func (c *errs) add(line int, format string, args ...any) {
	e := &Error{File: c.file, Line: line, Msg: fmt.Sprintf(format, args...)}
	key := e.Error()
	if c.seen[key] {
		return // the same mistake reached through several hosts
	}
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[key] = true
	c.list = append(c.list, e)
}

// err returns the problems sorted by line (those without a line last, in
// the order found), or nil.
func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	slices.SortStableFunc(c.list, func(a, b *Error) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return a.Line - b.Line
	})
	return c.list
}
