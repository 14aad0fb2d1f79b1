package hosts

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// An Ansible inventory as replbench reads it: groups with their hosts and
// child groups, and each host's variables after Ansible has merged them.
// The built-in readers (INI and YAML) build it and merge the variables as
// Ansible does; ansible-inventory --list reports it directly.
type inventory struct {
	groups   map[string]*invGroup
	hosts    map[string]*invHost
	hostvars map[string]map[string]invValue // merged; set by resolve or by ansible-inventory
}

// invValue is a variable's value and the line that set it (0: unknown).
// Values are string, int64, float64, bool, nil, []any or map[string]any.
type invValue struct {
	v    any
	line int
}

type invGroup struct {
	name     string
	hosts    []string
	hostSet  map[string]bool
	children []string
	parents  []string
	vars     map[string]invValue
	priority int64
	depth    int
	line     int // first declared, for messages; 0 when not known
}

type invHost struct {
	name   string
	line   int // first definition
	vars   map[string]invValue
	groups []string // direct
}

func newInventory() *inventory {
	inv := &inventory{groups: map[string]*invGroup{}, hosts: map[string]*invHost{}}
	inv.group("all")
	inv.group("ungrouped")
	return inv
}

// group returns the group, creating it.
func (inv *inventory) group(name string) *invGroup {
	g := inv.groups[name]
	if g == nil {
		g = &invGroup{name: name, vars: map[string]invValue{}, hostSet: map[string]bool{}, priority: 1}
		inv.groups[name] = g
	}
	return g
}

// addChild makes child a child group of parent, once.
func (inv *inventory) addChild(parent, child string) {
	p, c := inv.group(parent), inv.group(child)
	if !slices.Contains(p.children, child) {
		p.children = append(p.children, child)
	}
	if !slices.Contains(c.parents, parent) {
		c.parents = append(c.parents, parent)
	}
}

// addHost adds the host to group (once); port, when not 0, is the port of
// a "name:port" pattern, which counts only where the host first appears.
func (inv *inventory) addHost(group, name string, port int64, line int) *invHost {
	h := inv.hosts[name]
	if h == nil {
		h = &invHost{name: name, line: line, vars: map[string]invValue{}}
		inv.hosts[name] = h
		if port != 0 {
			h.vars["ansible_port"] = invValue{port, line}
		}
	}
	if group != "" {
		g := inv.group(group)
		if !g.hostSet[name] {
			g.hostSet[name] = true
			g.hosts = append(g.hosts, name)
			h.groups = append(h.groups, group)
		}
	}
	return h
}

// setGroupVar sets a group variable; ansible_group_priority sets the
// group's priority instead, as in Ansible.
func (inv *inventory) setGroupVar(c *errs, group, key string, v invValue) {
	g := inv.group(group)
	if key != "ansible_group_priority" {
		g.vars[key] = v
		return
	}
	var n int64
	var err error
	switch x := v.v.(type) {
	case int64:
		n = x
	case string:
		n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil {
		c.add(v.line, "ansible_group_priority of group %s: want an integer, got %s", group, describeValue(v.v))
		return
	}
	g.priority = n
}

// resolve completes the inventory as Ansible does after reading a source:
// groups without a parent become children of all, hosts without a group
// join ungrouped, and each host's variables are merged: all, then its
// groups by depth, ansible_group_priority and name, then its own.
func (inv *inventory) resolve(c *errs) {
	names := make([]string, 0, len(inv.groups))
	for name := range inv.groups {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if g := inv.groups[name]; name != "all" && len(g.parents) == 0 {
			inv.addChild("all", name)
		}
	}
	for _, h := range inv.hosts {
		if len(h.groups) == 0 {
			inv.addHost("ungrouped", h.name, 0, h.line)
		}
	}
	// depth: the longest path from all, as Ansible keeps it
	state := map[string]int{} // 1 visiting, 2 done
	var depth func(name string) int
	depth = func(name string) int {
		g := inv.groups[name]
		switch state[name] {
		case 1:
			c.add(0, "group %s is its own ancestor (a loop of [group:children])", name)
			return 0
		case 2:
			return g.depth
		}
		state[name] = 1
		d := 0
		for _, p := range g.parents {
			d = max(d, depth(p)+1)
		}
		g.depth, state[name] = d, 2
		return d
	}
	for _, name := range names {
		depth(name)
	}
	inv.hostvars = map[string]map[string]invValue{}
	for name, h := range inv.hosts {
		seen := map[string]bool{}
		var groups []*invGroup
		var walk func(string)
		walk = func(g string) {
			if seen[g] {
				return
			}
			seen[g] = true
			groups = append(groups, inv.groups[g])
			for _, p := range inv.groups[g].parents {
				walk(p)
			}
		}
		for _, g := range h.groups {
			walk(g)
		}
		slices.SortFunc(groups, func(a, b *invGroup) int {
			return cmp.Or(cmp.Compare(a.depth, b.depth), cmp.Compare(a.priority, b.priority), strings.Compare(a.name, b.name))
		})
		vars := map[string]invValue{}
		for _, g := range groups {
			for k, v := range g.vars {
				vars[k] = v
			}
		}
		for k, v := range h.vars {
			vars[k] = v
		}
		inv.hostvars[name] = vars
	}
}

// members lists the hosts of a group and its descendants: its own hosts,
// then those of its children, level by level (Ansible's order, which
// Ansible leaves unspecified below the children).
func (inv *inventory) members(group string) []string {
	var out []string
	seenHost := map[string]bool{}
	seenGroup := map[string]bool{group: true}
	queue := []string{group}
	for len(queue) > 0 {
		g := inv.groups[queue[0]]
		queue = queue[1:]
		if g == nil {
			continue
		}
		for _, h := range g.hosts {
			if !seenHost[h] {
				seenHost[h] = true
				out = append(out, h)
			}
		}
		for _, ch := range g.children {
			if !seenGroup[ch] {
				seenGroup[ch] = true
				queue = append(queue, ch)
			}
		}
	}
	return out
}

// The variables replbench reads, each setting's names in the order Ansible
// prefers them when both are set (ansible_ssh_host wins over ansible_host).
var (
	varAddress  = []string{"ansible_ssh_host", "ansible_host"}
	varPort     = []string{"ansible_ssh_port", "ansible_port"}
	varUser     = []string{"ansible_ssh_user", "ansible_user"}
	varIdentity = []string{"ansible_ssh_private_key_file", "ansible_private_key_file"}
	ownVars     = []string{"replbench_labels", "replbench_dir", "replbench_known_hosts"}
)

// inlineComment matches what is most likely a comment that Ansible kept in
// a [group:vars] value: it does not strip "; note" or "# note" there.
var inlineComment = regexp.MustCompile(`\s[#;]`)

// hostProblems gathers the problems of settings shared by several hosts
// under one message.
type hostProblems struct {
	order []string
	hosts map[string][]string
	lines map[string]int
	msgs  map[string]string
}

func (hp *hostProblems) add(host string, line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := strconv.Itoa(line) + "\x00" + msg
	if hp.hosts == nil {
		hp.hosts, hp.lines, hp.msgs = map[string][]string{}, map[string]int{}, map[string]string{}
	}
	if _, ok := hp.hosts[key]; !ok {
		hp.order = append(hp.order, key)
		hp.lines[key], hp.msgs[key] = line, msg
	}
	hp.hosts[key] = append(hp.hosts[key], host)
}

// report adds one error per problem: at its line when known, else naming
// the hosts it concerns.
func (hp *hostProblems) report(c *errs) {
	for _, key := range hp.order {
		line, msg, hs := hp.lines[key], hp.msgs[key], hp.hosts[key]
		if line > 0 {
			c.add(line, "%s", msg)
			continue
		}
		who := "host " + hs[0]
		if len(hs) > 1 {
			who = "hosts " + strings.Join(hs, ", ")
		}
		c.add(0, "%s: %s", who, msg)
	}
}

// build turns an inventory into the hosts of groups replicas and clients,
// in Ansible's order of each group's hosts (replicas first). Source is the
// line of a host's first definition where the reader knows it.
func (p *parser) build(inv *inventory, c *errs) *File {
	replicas, clients := inv.members("replicas"), inv.members("clients")
	inClients, inReplicas := map[string]bool{}, map[string]bool{}
	for _, h := range clients {
		inClients[h] = true
	}
	for _, h := range replicas {
		inReplicas[h] = true
	}
	line := func(h string) int {
		if ih := inv.hosts[h]; ih != nil {
			return ih.line
		}
		return 0
	}
	var hp hostProblems
	f := &File{}
	for _, name := range replicas {
		if inClients[name] {
			c.add(line(name), "host %s is in both groups replicas and clients; a host has one role", name)
		}
	}
	type known struct {
		path, host string
		line       int
	}
	var kh *known
	for _, list := range []struct {
		names []string
		role  Role
	}{{replicas, RoleReplica}, {clients, RoleClient}} {
		for _, name := range list.names {
			if list.role == RoleClient && inReplicas[name] {
				continue
			}
			vars := inv.hostvars[name]
			h := p.invHost(name, vars, &hp)
			h.Role = list.role
			h.Source = p.path
			if l := line(name); l > 0 {
				h.Source = fmt.Sprintf("%s:%d", p.path, l)
			}
			if msg := checkName(name); msg != "" {
				c.add(line(name), "host name %q %s", name, msg)
			}
			path, pline := p.knownHosts(name, vars, &hp)
			switch {
			case kh == nil:
				kh = &known{path, name, pline}
			case kh.path != path:
				hp.add(name, 0, "known_hosts %s differs from host %s's %s; one known_hosts file serves every host (set replbench_known_hosts in [all:vars])",
					orDefault(path), kh.host, orDefault(kh.path))
			}
			f.Hosts = append(f.Hosts, h)
		}
	}
	hp.report(c)
	if kh != nil && kh.path != "" {
		var err error
		if f.KnownHosts, err = p.localPath("known_hosts", kh.path); err != nil {
			c.add(kh.line, "%v", err)
		}
	}
	switch {
	case len(c.list) > 0:
		// a group may be missing because of a line already reported
	case len(replicas) == 0:
		c.add(groupLineOf(inv, "replicas"), "no replica hosts (list them in group replicas, or in a child group of it)")
	case len(clients) == 0:
		c.add(groupLineOf(inv, "clients"), "no client hosts (list them in group clients, or in a child group of it)")
	}
	return f
}

// groupLineOf is where the group is first declared, 0 when not known.
func groupLineOf(inv *inventory, name string) int {
	if g := inv.groups[name]; g != nil {
		return g.line
	}
	return 0
}

func orDefault(path string) string {
	if path == "" {
		return "(none: ~/.ssh/known_hosts)"
	}
	return path
}

// pick returns the first of names that the host sets to a value that is
// not null, and its name.
func pick(vars map[string]invValue, names []string) (string, invValue, bool) {
	for _, n := range names {
		if v, ok := vars[n]; ok && v.v != nil {
			return n, v, true
		}
	}
	return "", invValue{}, false
}

// str reads a setting that must be text.
func str(host, name string, v invValue, hp *hostProblems) (string, bool) {
	s, ok := v.v.(string)
	if !ok {
		hp.add(host, v.line, "%s: want text, got %s", name, describeValue(v.v))
		return "", false
	}
	if inlineComment.MatchString(s) {
		hp.add(host, v.line, "%s: %q holds an inline comment, which Ansible keeps in a [group:vars] value; put the comment on a line of its own", name, s)
		return "", false
	}
	if strings.Contains(s, "{{") || strings.Contains(s, "{%") {
		hp.add(host, v.line, "%s: %q is a Jinja template, which neither ansible-inventory --list nor replbench evaluates; give the value itself", name, s)
		return "", false
	}
	return s, true
}

// invHost reads replbench's settings from a host's merged variables.
func (p *parser) invHost(name string, vars map[string]invValue, hp *hostProblems) Host {
	h := Host{Name: name, Address: name}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "replbench_") && !slices.Contains(ownVars, k) {
			hp.add(name, vars[k].line, "unknown variable %s (want %s)", k, strings.Join(ownVars, ", "))
		}
	}
	if key, v, ok := pick(vars, varAddress); ok {
		if s, ok := str(name, key, v, hp); ok {
			msg := checkAddress(s)
			if s == "" {
				msg = "is empty"
			}
			if msg != "" {
				hp.add(name, v.line, "%s %q %s", key, s, msg)
			} else {
				h.Address = s
			}
		}
	} else if msg := checkAddress(name); msg != "" {
		hp.add(name, 0, "host name %q %s; give the address as ansible_host", name, msg)
	}
	if key, v, ok := pick(vars, varPort); ok {
		port, ok := 0, false
		switch x := v.v.(type) {
		case int64:
			port, ok = int(x), x >= 1 && x <= 65535
		case string:
			port, ok = parsePort(x)
		}
		if !ok {
			hint := ""
			if s, isStr := v.v.(string); isStr && strings.ContainsAny(s, "#;") {
				hint = " (Ansible keeps a comment after a [group:vars] value, and one after ; on a host line, in the value)"
			}
			hp.add(name, v.line, "%s: want a number from 1 to 65535, got %s%s", key, describeValue(v.v), hint)
		}
		if ok {
			h.Port = port
		}
	}
	if key, v, ok := pick(vars, varUser); ok {
		if s, ok := str(name, key, v, hp); ok {
			if strings.IndexFunc(s, isSpace) >= 0 {
				hp.add(name, v.line, "%s %q must not contain spaces", key, s)
			} else {
				h.User = s
			}
		}
	}
	if key, v, ok := pick(vars, varIdentity); ok {
		if s, ok := str(name, key, v, hp); ok && s != "" {
			path, err := p.localPath(key, s)
			if err != nil {
				hp.add(name, v.line, "%v", err)
			}
			h.IdentityFile = path
		}
	}
	if v, ok := vars["replbench_labels"]; ok && v.v != nil {
		h.Labels = labelsOf(name, v, hp)
	}
	if v, ok := vars["replbench_dir"]; ok && v.v != nil {
		if s, ok := str(name, "replbench_dir", v, hp); ok {
			h.Dir = remoteDir(s)
		}
	}
	return h
}

// labelsOf reads replbench_labels: "eu,us" or a list.
func labelsOf(host string, v invValue, hp *hostProblems) []string {
	var parts []string
	switch x := v.v.(type) {
	case string:
		if inlineComment.MatchString(x) {
			hp.add(host, v.line, "replbench_labels: %q holds an inline comment, which Ansible keeps in a [group:vars] value; put the comment on a line of its own", x)
			return nil
		}
		if strings.TrimSpace(x) == "" {
			return nil
		}
		for l := range strings.SplitSeq(x, ",") {
			parts = append(parts, strings.TrimSpace(l))
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				hp.add(host, v.line, "replbench_labels: want a list of names, got %s in it", describeValue(e))
				return nil
			}
			parts = append(parts, s)
		}
	default:
		hp.add(host, v.line, "replbench_labels: want names such as eu,us or a list, got %s", describeValue(v.v))
		return nil
	}
	labels := []string{}
	for _, l := range parts {
		if msg := checkLabel(l); msg != "" {
			hp.add(host, v.line, "replbench_labels: %s", msg)
			return nil
		}
		labels = append(labels, l)
	}
	return labels
}

// knownHosts is the known_hosts file a host's variables name:
// replbench_known_hosts, else -o UserKnownHostsFile= in Ansible's ssh
// arguments, else "".
func (p *parser) knownHosts(host string, vars map[string]invValue, hp *hostProblems) (string, int) {
	if v, ok := vars["replbench_known_hosts"]; ok && v.v != nil {
		if s, ok := str(host, "replbench_known_hosts", v, hp); ok {
			return s, v.line
		}
		return "", 0
	}
	for _, name := range []string{"ansible_ssh_common_args", "ansible_ssh_extra_args"} {
		if v, ok := vars[name]; ok {
			if s, isStr := v.v.(string); isStr {
				if path := knownHostsArg(s); path != "" {
					return path, v.line
				}
			}
		}
	}
	return "", 0
}

// describeValue names a value for "want X, got Y" messages.
func describeValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "an empty value"
	case string:
		return fmt.Sprintf("%q", x)
	case int64:
		return "the number " + strconv.FormatInt(x, 10)
	case float64:
		return "the number " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}
