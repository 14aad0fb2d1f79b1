package hosts

import (
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a hosts file, located by file and line.
type Error struct {
	File string
	Line int // 1-based; 0 when the problem has no line (ansible-inventory's output has none)
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ErrorList is every problem found in a hosts file, in line order, one per
// line of its message.
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
