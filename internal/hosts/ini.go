package hosts

import (
	"fmt"
	"slices"
	"strings"
)

// The subset of an Ansible INI inventory that replbench reads: hosts of the
// groups [replicas] and [clients], and the variables below from host lines,
// [replicas:vars], [clients:vars] and [all:vars] (that order of precedence).
// Other groups and variables are left to Ansible.
var (
	groupRoles = map[string]Role{"replicas": RoleReplica, "clients": RoleClient}
	// Each setting with its variable names, the preferred one first.
	iniAddress  = []string{"ansible_host", "ansible_ssh_host"}
	iniPort     = []string{"ansible_port", "ansible_ssh_port"}
	iniUser     = []string{"ansible_user", "ansible_ssh_user"}
	iniIdentity = []string{"ansible_ssh_private_key_file", "ansible_private_key_file"}
	iniOwnVars  = []string{"replbench_labels", "replbench_dir", "replbench_known_hosts"}
)

// iniVar is a variable's value and the line it was set on.
type iniVar struct {
	value string
	line  int
}

type iniHost struct {
	name  string
	group string
	line  int
	vars  map[string]iniVar
}

func (p *parser) parseINI(data []byte) (*File, error) {
	groupVars := map[string]map[string]iniVar{"all": {}, "replicas": {}, "clients": {}}
	groupLine := map[string]int{}
	var list []iniHost
	seen := map[string]iniHost{}

	group, kind := "", "hosts" // lines before any header are ungrouped hosts: ignored
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		t := strings.TrimSpace(raw)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if t[0] == '[' {
			var err error
			if group, kind, err = p.section(line, t); err != nil {
				return nil, err
			}
			if _, ok := groupRoles[group]; ok && kind == "hosts" && groupLine[group] == 0 {
				groupLine[group] = line
			}
			continue
		}
		vars, isVars := groupVars[group]
		_, isHosts := groupRoles[group]
		switch {
		case kind == "vars" && isVars:
			key, value, ok := strings.Cut(t, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" {
				return nil, p.errorf(line, "[%s:vars]: want key=value, got %q", group, t)
			}
			if prev, dup := vars[key]; dup {
				return nil, p.errorf(line, "%s set twice in [%s:vars] (first at line %d)", key, group, prev.line)
			}
			if err := p.checkVar(line, key, group == "all"); err != nil {
				return nil, err
			}
			vars[key] = iniVar{unquote(strings.TrimSpace(value)), line}
		case kind == "hosts" && isHosts:
			h, err := p.hostLine(line, group, t)
			if err != nil {
				return nil, err
			}
			if prev, dup := seen[h.name]; dup {
				if prev.group != h.group {
					return nil, p.errorf(line, "host %q is in both [%s] and [%s] (first at line %d); a host has one role",
						h.name, prev.group, h.group, prev.line)
				}
				return nil, p.errorf(line, "duplicate host name %q (first at line %d)", h.name, prev.line)
			}
			seen[h.name] = h
			list = append(list, h)
		}
	}

	f := &File{}
	all := groupVars["all"]
	known, ok := all["replbench_known_hosts"]
	if !ok {
		// The inventory may already tell Ansible's ssh where the keys are.
		for _, name := range []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"} {
			if v, set := all[name]; set {
				if path := knownHostsArg(v.value); path != "" {
					known, ok = iniVar{path, v.line}, true
					break
				}
			}
		}
	}
	if ok && known.value != "" {
		var err error
		if f.KnownHosts, err = p.localPath(known.line, "known_hosts", known.value); err != nil {
			return nil, err
		}
	}

	hs := make([]hostLine, 0, len(list))
	for _, ih := range list {
		h, err := p.iniHost(ih, groupVars[ih.group], all)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	hosts, err := p.finish(hs, missingLine(hs, groupLine))
	if err != nil {
		return nil, err
	}
	f.Hosts = hosts
	return f, nil
}

// missingLine is where a "no replica/client hosts" error points: the header
// of the empty group when there is one.
func missingLine(hs []hostLine, groupLine map[string]int) int {
	has := map[Role]bool{}
	for _, h := range hs {
		has[h.Role] = true
	}
	if !has[RoleReplica] {
		return groupLine["replicas"]
	}
	return groupLine["clients"]
}

// section parses a header: [group], [group:vars] or [group:children].
func (p *parser) section(line int, t string) (group, kind string, err error) {
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", "", p.errorf(line, "section header %q has no closing ]", t)
	}
	if rest := strings.TrimSpace(t[end+1:]); rest != "" && rest[0] != '#' && rest[0] != ';' {
		return "", "", p.errorf(line, "unexpected %q after section header", rest)
	}
	group, suffix, _ := strings.Cut(t[1:end], ":")
	switch suffix {
	case "":
		kind = "hosts"
	case "vars", "children":
		kind = suffix
	default:
		return "", "", p.errorf(line, "section [%s]: want [group], [group:vars] or [group:children]", t[1:end])
	}
	if _, ok := groupRoles[group]; ok && kind == "children" {
		return "", "", p.errorf(line, "[%s:children] is not supported; list the hosts under [%s]", group, group)
	}
	return group, kind, nil
}

// hostLine parses "name key=value ..." in a [replicas] or [clients] group.
func (p *parser) hostLine(line int, group, t string) (iniHost, error) {
	fields, err := splitWords(t)
	if err != nil {
		return iniHost{}, p.errorf(line, "%v", err)
	}
	h := iniHost{group: group, line: line, vars: map[string]iniVar{}}
	if len(fields) == 0 {
		return h, p.errorf(line, "want a host name")
	}
	h.name = fields[0]
	if h.name == "" {
		return h, p.errorf(line, "empty host name")
	}
	if strings.ContainsAny(h.name, "[]") {
		return h, p.errorf(line, "host patterns such as %q are not supported; list the hosts one per line", h.name)
	}
	if strings.Contains(h.name, "=") {
		return h, p.errorf(line, "want a host name before the variables, got %q", h.name)
	}
	if msg := checkName(h.name); msg != "" {
		return h, p.errorf(line, "host name %q %s", h.name, msg)
	}
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(f, "=")
		if !ok || key == "" {
			return h, p.errorf(line, "host %s: want key=value, got %q", h.name, f)
		}
		if _, dup := h.vars[key]; dup {
			return h, p.errorf(line, "host %s: %s set twice", h.name, key)
		}
		if err := p.checkVar(line, key, false); err != nil {
			return h, err
		}
		h.vars[key] = iniVar{value, line}
	}
	return h, nil
}

// checkVar refuses misspelt replbench_ variables, which Ansible would
// silently keep, and a known_hosts file given per host or group.
func (p *parser) checkVar(line int, key string, inAll bool) error {
	if !strings.HasPrefix(key, "replbench_") {
		return nil
	}
	if !slices.Contains(iniOwnVars, key) {
		return p.errorf(line, "unknown variable %s (want %s)", key, strings.Join(iniOwnVars, ", "))
	}
	if key == "replbench_known_hosts" && !inAll {
		return p.errorf(line, "replbench_known_hosts is read only from [all:vars]: one known_hosts file serves every host")
	}
	return nil
}

// iniHost resolves one host's variables: host line, then its group's vars,
// then [all:vars].
func (p *parser) iniHost(ih iniHost, group, all map[string]iniVar) (hostLine, error) {
	get := func(names ...string) (string, iniVar, bool) {
		for _, scope := range []map[string]iniVar{ih.vars, group, all} {
			for _, name := range names {
				if v, ok := scope[name]; ok {
					return name, v, true
				}
			}
		}
		return "", iniVar{}, false
	}
	h := hostLine{Host: Host{Name: ih.name, Address: ih.name, Role: groupRoles[ih.group]}, line: ih.line}
	if name, v, ok := get(iniAddress...); ok {
		if msg := checkAddress(v.value); msg != "" || v.value == "" {
			if msg == "" {
				msg = "is empty"
			}
			return h, p.errorf(v.line, "%s %q %s", name, v.value, msg)
		}
		h.Address = v.value
	} else if msg := checkAddress(h.Address); msg != "" {
		return h, p.errorf(ih.line, "host %q %s; give the address as ansible_host", ih.name, msg)
	}
	if name, v, ok := get(iniPort...); ok {
		port, ok := parsePort(v.value)
		if !ok {
			return h, p.errorf(v.line, "%s: want a number from 1 to 65535, got %q", name, v.value)
		}
		h.Port = port
	}
	if _, v, ok := get(iniUser...); ok {
		h.User = v.value
	}
	if name, v, ok := get(iniIdentity...); ok && v.value != "" {
		var err error
		if h.IdentityFile, err = p.localPath(v.line, name, v.value); err != nil {
			return h, err
		}
	}
	if _, v, ok := get("replbench_labels"); ok && v.value != "" {
		for l := range strings.SplitSeq(v.value, ",") {
			l = strings.TrimSpace(l)
			if msg := checkLabel(l); msg != "" {
				return h, p.errorf(v.line, "replbench_labels: %s", msg)
			}
			h.Labels = append(h.Labels, l)
		}
	}
	if _, v, ok := get("replbench_dir"); ok {
		h.Dir = remoteDir(v.value)
	}
	return h, nil
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
// group them, and a word starting with '#' begins a comment.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
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
		case c == '\\' && i+1 < len(s):
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

// unquote strips one pair of matching quotes around a [group:vars] value.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
