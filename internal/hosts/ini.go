package hosts

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The built-in reader of Ansible INI inventories, for machines without
// Ansible. It reads what Ansible's ini plugin reads (ansible-core 2.14):
// groups, [group:children], [group:vars], host ranges, "name:port", values
// evaluated as Python literals, "#" comments on host lines; the variables
// are then merged as Ansible merges them (inventory.resolve).
var (
	iniSection   = regexp.MustCompile(`^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$`)
	iniGroupName = regexp.MustCompile(`^([^:\]\s]+)\s*(?:#.*)?$`)
)

func (p *parser) parseINI(data []byte) (*File, error) {
	c := &errs{file: p.path}
	inv := p.readINI(data, c)
	inv.resolve(c)
	f := p.build(inv, c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// readINI reads the groups, hosts and variables of an INI inventory,
// reporting every line it cannot read.
func (p *parser) readINI(data []byte, c *errs) *inventory {
	inv := newInventory()
	declared := map[string]bool{"all": true, "ungrouped": true}
	varsAt := map[string]int{}  // group -> first [group:vars] line
	childAt := map[string]int{} // group -> first line naming it as a child
	order := []string{}         // groups in the order of those lines

	group, state := "ungrouped", "hosts"
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		t := strings.TrimSpace(raw)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if m := iniSection.FindStringSubmatch(t); m != nil {
			group, state = m[1], m[2]
			if state == "" {
				state = "hosts"
			}
			switch state {
			case "hosts", "children":
				declared[group] = true
			case "vars":
				if _, ok := varsAt[group]; !ok {
					varsAt[group] = line
					order = append(order, group)
				}
			default:
				c.add(line, "section [%s:%s] has unknown type %s (want [group], [group:vars] or [group:children])", group, state, state)
				state = "skip"
			}
			if g := inv.group(group); g.line == 0 && state != "vars" {
				g.line = line
			}
			continue
		}
		if t[0] == '[' && !strings.Contains(t, "]") {
			c.add(line, "section header %q has no closing ]", t)
			state = "skip"
			continue
		}
		if t[0] == '[' && t[len(t)-1] == ']' {
			c.add(line, "section header %q: want [group], [group:vars] or [group:children], with no spaces", t)
			state = "skip"
			continue
		}
		switch state {
		case "hosts":
			p.iniHostLine(inv, c, line, group, t)
		case "vars":
			key, value, ok := strings.Cut(t, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				c.add(line, "[%s:vars]: want key=value, got %q", group, t)
				continue
			}
			inv.setGroupVar(c, group, key, invValue{pyValue(strings.TrimSpace(value)), line})
		case "children":
			m := iniGroupName.FindStringSubmatch(t)
			if m == nil {
				c.add(line, "[%s:children]: want a group name, got %q", group, t)
				continue
			}
			if _, ok := childAt[m[1]]; !ok {
				childAt[m[1]] = line
				order = append(order, m[1])
			}
			inv.addChild(group, m[1])
		}
	}
	for _, g := range order {
		if declared[g] {
			continue
		}
		if l, ok := childAt[g]; ok {
			c.add(l, "group %s is a child group but is never declared (want a [%s] or [%s:children] section)", g, g, g)
		} else if l, ok := varsAt[g]; ok {
			c.add(l, "[%s:vars] for a group that is never declared (want a [%s] or [%s:children] section)", g, g, g)
		}
	}
	return inv
}

// iniHostLine reads "pattern key=value ..." into group.
func (p *parser) iniHostLine(inv *inventory, c *errs, line int, group, t string) {
	fields, err := splitWords(t)
	if err != nil {
		c.add(line, "%v", err)
		return
	}
	if len(fields) == 0 {
		return // only a comment
	}
	switch {
	case strings.HasSuffix(fields[0], ":"):
		// what Ansible says too; likely YAML in a file not named .yaml
		c.add(line, "host pattern %q ends in ':' (Ansible reads YAML inventories only from files named .yaml, .yml or .json)", fields[0])
		return
	case fields[0] == "---":
		c.add(line, "host pattern '---' is the start of a YAML document (Ansible reads YAML inventories only from files named .yaml, .yml or .json)")
		return
	}
	names, port, err := expandHostPattern(fields[0])
	if err != nil {
		c.add(line, "%v", err)
		return
	}
	if len(inv.hosts)+len(names) > maxHosts {
		c.add(line, "more than %d hosts", maxHosts)
		return
	}
	vars := map[string]invValue{}
	var keys []string
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(f, "=")
		if !ok || key == "" {
			c.add(line, "host %s: want key=value, got %q", fields[0], f)
			continue
		}
		if _, dup := vars[key]; !dup {
			keys = append(keys, key)
		}
		vars[key] = invValue{pyValue(value), line}
	}
	for _, name := range names {
		h := inv.addHost(group, name, port, line)
		for _, k := range keys {
			h.vars[k] = vars[k]
		}
	}
}

var (
	bracketedHostPort = regexp.MustCompile(`^\[(.+)\]:([0-9]+)$`)
	hostPort          = regexp.MustCompile(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)
	hostRange         = `\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	hostLabel         = `(?:[\pL\pN_]|` + hostRange + `)(?:[\pL\pN_-]|` + hostRange + `)*`
	validHostname     = regexp.MustCompile(`(?i)^` + hostLabel + `(?:\.` + hostLabel + `)*$`)
	hexRange          = `\[[0-9a-f]+:[0-9a-f]+(?::[0-9]+)?\]`
	numRange          = `\[[0-9]+:[0-9]+(?::[0-9]+)?\]`
	validIPv4         = regexp.MustCompile(`^(?:(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numRange + `)\.){3}(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numRange + `)$`)
	validIPv6ish      = regexp.MustCompile(`(?i)^(?:[0-9a-f]{1,4}|` + hexRange + `|:|\.)*:(?:[0-9a-f]{1,4}|` + hexRange + `|:|\.)*$`)
)

// expandHostPattern splits "name:port" and expands ranges such as
// r[1:4], r[01:10:2] and [a:c], as Ansible's inventory plugins do.
func expandHostPattern(pattern string) ([]string, int64, error) {
	host, port := pattern, int64(0)
	if m := bracketedHostPort.FindStringSubmatch(pattern); m != nil {
		host, port = m[1], parseInt(m[2])
	} else if m := hostPort.FindStringSubmatch(pattern); m != nil {
		host, port = m[1], parseInt(m[2])
	}
	if !validIPv4.MatchString(host) && !validIPv6ish.MatchString(host) && !validHostname.MatchString(host) {
		host, port = pattern, 0 // not an address: the whole pattern is the name
	}
	if host == "" {
		return nil, 0, fmt.Errorf("empty host name")
	}
	if !strings.Contains(host, "[") {
		return []string{host}, port, nil
	}
	names, err := expandRange(host)
	if err != nil {
		return nil, 0, fmt.Errorf("host range %q: %w", pattern, err)
	}
	return names, port, nil
}

func parseInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// maxHosts bounds what ranges may expand to.
const maxHosts = 10000

const asciiLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// expandRange expands the first [begin:end(:step)] of name, then the rest.
func expandRange(name string) ([]string, error) {
	open := strings.IndexByte(name, '[')
	end := strings.IndexByte(name, ']')
	if open < 0 || end < 0 || end < open {
		return nil, fmt.Errorf("want [begin:end] or [begin:end:step]")
	}
	head, spec, tail := name[:open], name[open+1:end], name[end+1:]
	bounds := strings.Split(spec, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return nil, fmt.Errorf("want [begin:end] or [begin:end:step], got [%s]", spec)
	}
	beg, last, step := bounds[0], bounds[1], int64(1)
	if beg == "" {
		beg = "0"
	}
	if last == "" {
		return nil, fmt.Errorf("[%s] has no end", spec)
	}
	if len(bounds) == 3 {
		n, err := strconv.ParseInt(bounds[2], 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("step %q: want a positive number", bounds[2])
		}
		step = n
	}
	var seq []string
	bi, ei := strings.Index(asciiLetters, beg), strings.Index(asciiLetters, last)
	if len(beg) == 1 && len(last) == 1 && bi >= 0 && ei >= 0 {
		if bi > ei {
			return nil, fmt.Errorf("[%s]: begin must not come after end", spec)
		}
		for i := int64(bi); i <= int64(ei); i += step {
			seq = append(seq, asciiLetters[i:i+1])
		}
	} else {
		b, err1 := strconv.ParseInt(beg, 10, 64)
		e, err2 := strconv.ParseInt(last, 10, 64)
		if err1 != nil || err2 != nil || b < 0 || e < 0 {
			return nil, fmt.Errorf("[%s]: want numbers or single letters", spec)
		}
		width := 0
		if beg[0] == '0' && len(beg) > 1 {
			if len(beg) != len(last) {
				return nil, fmt.Errorf("[%s]: a zero-padded begin and its end must have the same width", spec)
			}
			width = len(beg)
		}
		if (e-b)/step > maxHosts {
			return nil, fmt.Errorf("[%s]: more than %d hosts", spec, maxHosts)
		}
		for i := b; i <= e; i += step {
			seq = append(seq, fmt.Sprintf("%0*d", width, i))
		}
	}
	var out []string
	for _, s := range seq {
		n := head + s + tail
		if !strings.Contains(n, "[") {
			out = append(out, n)
			continue
		}
		more, err := expandRange(n)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if len(out) > maxHosts {
			return nil, fmt.Errorf("more than %d hosts", maxHosts)
		}
	}
	return out, nil
}

// knownHostsArg finds "-o UserKnownHostsFile=PATH" in ssh arguments.
func knownHostsArg(args string) string {
	words, err := splitWords(args)
	if err != nil {
		return ""
	}
	for i, w := range words {
		var opt string
		switch {
		case w == "-o" && i+1 < len(words):
			opt = words[i+1]
		case strings.HasPrefix(w, "-o"):
			opt = w[2:]
		default:
			continue
		}
		key, value, ok := strings.Cut(opt, "=")
		if !ok {
			key, value, _ = strings.Cut(opt, " ")
		}
		if strings.EqualFold(strings.TrimSpace(key), "UserKnownHostsFile") {
			if f := strings.Fields(value); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}

// splitWords splits a line as Python's shlex.split(comments=True) does,
// which is how Ansible reads host lines: whitespace separates words, quotes
// group them, and '#' outside quotes begins a comment, even inside a word.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#':
			if inWord {
				words = append(words, w.String())
			}
			return words, nil
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' quote")
			}
			w.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf(`unterminated " quote`)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("no character after the escape \\")
			}
			i++
			w.WriteByte(s[i])
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
