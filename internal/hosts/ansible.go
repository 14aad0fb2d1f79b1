package hosts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ansibleTimeout bounds ansible-inventory, which may run a dynamic
// inventory script or a cloud plugin.
const ansibleTimeout = 2 * time.Minute

// readAnsibleInventory asks Ansible itself for the inventory:
// ansible-inventory -i PATH --list, whose JSON holds each group's hosts and
// child groups and, in _meta.hostvars, each host's variables as Ansible
// merged them (group_vars/ and host_vars/ next to the inventory included).
func (p *parser) readAnsibleInventory(ctx context.Context, exe string) (*File, error) {
	ctx, cancel := context.WithTimeout(ctx, ansibleTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-i", p.path, "--list")
	// An inventory Ansible cannot parse is an error, not an empty inventory.
	cmd.Env = append(os.Environ(), "ANSIBLE_INVENTORY_UNPARSED_FAILED=True", "ANSIBLE_NOCOLOR=True")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := ansibleMessage(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, ErrorList{{File: p.path, Msg: "ansible-inventory: " + msg}}
	}
	inv, err := decodeAnsibleList(stdout.Bytes())
	if err != nil {
		return nil, ErrorList{{File: p.path, Msg: fmt.Sprintf("ansible-inventory --list: %v", err)}}
	}
	c := &errs{file: p.path}
	f := p.build(inv, c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// ansibleMessage joins Ansible's error and warning lines into one line.
func ansibleMessage(stderr string) string {
	var parts []string
	var cur string
	flush := func() {
		if cur = strings.TrimSpace(cur); cur != "" {
			parts = append(parts, cur)
		}
		cur = ""
	}
	for line := range strings.SplitSeq(stderr, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "[WARNING]:"), strings.HasPrefix(t, "ERROR!"):
			flush()
			t = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(t, "[WARNING]:"), "ERROR!"))
			cur = strings.TrimPrefix(t, "* ")
		case strings.HasSuffix(cur, "-"):
			cur += t // Ansible wraps at 79 columns, also after hyphens
		case t != "":
			cur += " " + t
		}
	}
	flush()
	return strings.Join(parts, "; ")
}

// decodeAnsibleList reads ansible-inventory --list's JSON.
func decodeAnsibleList(data []byte) (*inventory, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	inv := newInventory()
	for name, raw := range top {
		if name == "_meta" {
			continue
		}
		var g struct {
			Hosts    []string `json:"hosts"`
			Children []string `json:"children"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, fmt.Errorf("group %s: %w", name, err)
		}
		inv.group(name)
		for _, h := range g.Hosts {
			inv.addHost(name, h, 0, 0)
		}
		for _, ch := range g.Children {
			inv.addChild(name, ch)
		}
	}
	var meta struct {
		Hostvars map[string]map[string]json.RawMessage `json:"hostvars"`
	}
	if raw, ok := top["_meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("_meta: %w", err)
		}
	}
	inv.hostvars = map[string]map[string]invValue{}
	for name := range inv.hosts {
		vars := map[string]invValue{}
		for k, raw := range meta.Hostvars[name] {
			v, err := jsonValue(raw)
			if err != nil {
				return nil, fmt.Errorf("host %s: %s: %w", name, k, err)
			}
			vars[k] = invValue{v, 0}
		}
		inv.hostvars[name] = vars
	}
	return inv, nil
}

// jsonValue decodes a value keeping integers apart from other numbers.
func jsonValue(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return normalizeJSON(v), nil
}

func normalizeJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return math.NaN()
	case []any:
		for i := range x {
			x[i] = normalizeJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalizeJSON(x[k])
		}
	}
	return v
}

// errNoAnsible says that a reader needs ansible-inventory.
var errNoAnsible = errors.New("ansible-inventory is not on PATH")
