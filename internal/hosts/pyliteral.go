package hosts

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pyValue is how Ansible's INI reader turns a value into data: Python's
// ast.literal_eval when the text is a literal (22 is a number, 'a' # note
// is the string a, [1, 2] a list), else the text as it is. Lists and tuples
// become []any, dicts map[string]any, numbers int64 or float64. Literals
// this reader does not evaluate (bytes, complex numbers, sets, \N{...}
// escapes, triple quotes) are kept as text, as are those Python rejects.
func pyValue(s string) any {
	p := &pyParser{s: strings.TrimLeft(s, " \t")}
	v, ok := p.top()
	if !ok {
		return s
	}
	return v
}

type pyParser struct {
	s   string
	pos int
}

func (p *pyParser) skip() {
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == ' ' || c == '\t' || c == '\f':
			p.pos++
		case c == '#':
			p.pos = len(p.s)
		default:
			return
		}
	}
}

func (p *pyParser) peek() byte {
	p.skip()
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// top parses a whole expression: one literal, or a tuple without
// parentheses ("'a', 'b'").
func (p *pyParser) top() (any, bool) {
	v, tuple, ok := p.list(0)
	if !ok || p.peek() != 0 {
		return nil, false
	}
	if tuple {
		return v, true
	}
	return v.([]any)[0], true
}

// list parses elements separated by commas until the closing byte (0 for
// the end of the text); tuple reports whether a comma made it a sequence.
func (p *pyParser) list(closing byte) (any, bool, bool) {
	var items []any
	tuple := false
	for {
		if c := p.peek(); c == closing && (closing != 0 || len(items) > 0) {
			break
		}
		v, ok := p.elem()
		if !ok {
			return nil, false, false
		}
		items = append(items, v)
		if p.peek() != ',' {
			break
		}
		p.pos++
		tuple = true
	}
	if items == nil {
		items = []any{}
	}
	return items, tuple, true
}

func (p *pyParser) elem() (any, bool) {
	c := p.peek()
	switch {
	case c == '[':
		p.pos++
		v, _, ok := p.list(']')
		if !ok || p.peek() != ']' {
			return nil, false
		}
		p.pos++
		return v, true
	case c == '(':
		p.pos++
		if p.peek() == ')' {
			p.pos++
			return []any{}, true
		}
		v, tuple, ok := p.list(')')
		if !ok || p.peek() != ')' {
			return nil, false
		}
		p.pos++
		if !tuple {
			return v.([]any)[0], true
		}
		return v, true
	case c == '{':
		return p.dict()
	case c == '\'' || c == '"':
		return p.strings()
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	}
	word := p.word()
	switch word {
	case "True":
		return true, true
	case "False":
		return false, true
	case "None":
		return nil, true
	}
	if len(word) == 1 && strings.ContainsAny(word, "rRuU") && p.pos < len(p.s) && (p.s[p.pos] == '\'' || p.s[p.pos] == '"') {
		p.pos -= len(word)
		return p.strings()
	}
	return nil, false
}

func (p *pyParser) word() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80 {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func (p *pyParser) dict() (any, bool) {
	p.pos++ // {
	m := map[string]any{}
	for p.peek() != '}' {
		k, ok := p.elem()
		if !ok || p.peek() != ':' {
			return nil, false // a set, or not a literal
		}
		p.pos++
		v, ok := p.elem()
		if !ok {
			return nil, false
		}
		ks, isStr := k.(string)
		if !isStr {
			return nil, false
		}
		m[ks] = v
		if p.peek() != ',' {
			break
		}
		p.pos++
	}
	if p.peek() != '}' {
		return nil, false
	}
	p.pos++
	return m, true
}

var (
	pyInt   = regexp.MustCompile(`^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?[0-9])*)`)
	pyFloat = regexp.MustCompile(`^(?:(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*|[0-9](?:_?[0-9])*\.?)(?:[eE][+-]?[0-9](?:_?[0-9])*)?`)
)

// number parses an int or float with at most one sign, which may stand
// before parentheses: -(1) is a literal, --1 is not.
func (p *pyParser) number() (any, bool) {
	neg := false
	if c := p.peek(); c == '-' || c == '+' {
		neg = c == '-'
		p.pos++
		if p.peek() == '(' {
			v, ok := p.elem()
			switch x := v.(type) {
			case int64:
				if neg {
					x = -x
				}
				return x, ok
			case float64:
				if neg {
					x = -x
				}
				return x, ok
			}
			return nil, false
		}
		if c := p.peek(); c == '-' || c == '+' {
			return nil, false
		}
	}
	p.skip()
	rest := p.s[p.pos:]
	f := pyFloat.FindString(rest)
	if !strings.ContainsAny(f, ".eE") {
		f = "" // digits alone are an int, or not a literal (022)
	}
	i := pyInt.FindString(rest)
	if f == "" && i == "" {
		return nil, false
	}
	var v any
	if len(f) > len(i) {
		x, err := strconv.ParseFloat(strings.ReplaceAll(f, "_", ""), 64)
		if err != nil && !math.IsInf(x, 0) {
			return nil, false
		}
		if neg {
			x = -x
		}
		v, p.pos = x, p.pos+len(f)
	} else {
		x, err := strconv.ParseInt(strings.ReplaceAll(i, "_", ""), 0, 64)
		if err != nil {
			if strings.HasPrefix(i, "0") && len(i) > 1 && !strings.ContainsAny(i[1:2], "xXoObB") {
				x, err = 0, nil // 00
			}
			if err != nil {
				return nil, false // beyond int64: not evaluated here
			}
		}
		if neg {
			x = -x
		}
		v, p.pos = x, p.pos+len(i)
	}
	if p.pos < len(p.s) {
		if c := p.s[p.pos]; c == '_' || c == 'j' || c == 'J' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' {
			return nil, false // 022, 1j, 1x, 1.2.3
		}
	}
	return v, true
}

// strings parses one or more adjacent string literals, which Python joins.
func (p *pyParser) strings() (any, bool) {
	var b strings.Builder
	n := 0
	for {
		c := p.peek()
		raw := false
		start := p.pos
		if c != '\'' && c != '"' {
			w := p.word()
			if w == "" || len(w) > 1 || !strings.ContainsAny(w, "rRuU") || p.pos >= len(p.s) || (p.s[p.pos] != '\'' && p.s[p.pos] != '"') {
				p.pos = start
				break
			}
			raw = w == "r" || w == "R"
		}
		s, ok := p.str(raw)
		if !ok {
			return nil, false
		}
		b.WriteString(s)
		n++
	}
	if n == 0 {
		return nil, false
	}
	return b.String(), true
}

// str parses one quoted string at p.pos with Python's escapes.
func (p *pyParser) str(raw bool) (string, bool) {
	q := p.s[p.pos]
	if strings.HasPrefix(p.s[p.pos:], strings.Repeat(string(q), 3)) {
		return "", false // triple quotes: not evaluated here
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), true
		case c == '\\' && p.pos+1 < len(p.s):
			e := p.s[p.pos+1]
			if raw {
				b.WriteByte('\\')
				b.WriteByte(e)
				p.pos += 2
				continue
			}
			n, ok := p.escape(&b)
			if !ok {
				return "", false
			}
			p.pos += n
		case c == '\\':
			return "", false
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", false
}

// escape writes the character of the escape at p.pos and returns its length.
func (p *pyParser) escape(b *strings.Builder) (int, bool) {
	e := p.s[p.pos+1]
	simple := map[byte]byte{'\\': '\\', '\'': '\'', '"': '"', 'a': 7, 'b': 8, 'f': 12, 'n': '\n', 'r': '\r', 't': '\t', 'v': 11}
	if c, ok := simple[e]; ok {
		b.WriteByte(c)
		return 2, true
	}
	hex := func(n int) (int, bool) {
		if p.pos+2+n > len(p.s) {
			return 0, false
		}
		r, err := strconv.ParseUint(p.s[p.pos+2:p.pos+2+n], 16, 32)
		if err != nil || r > utf8.MaxRune {
			return 0, false
		}
		b.WriteRune(rune(r))
		return 2 + n, true
	}
	switch {
	case e == 'x':
		return hex(2)
	case e == 'u':
		return hex(4)
	case e == 'U':
		return hex(8)
	case e >= '0' && e <= '7':
		n := 1
		for n < 3 && p.pos+1+n < len(p.s) && p.s[p.pos+1+n] >= '0' && p.s[p.pos+1+n] <= '7' {
			n++
		}
		r, _ := strconv.ParseUint(p.s[p.pos+1:p.pos+1+n], 8, 32)
		b.WriteRune(rune(r))
		return 1 + n, true
	case e == 'N':
		return 0, false // named characters: not evaluated here
	}
	b.WriteByte('\\') // Python keeps an unknown escape as it is
	return 1, true
}
