package hosts

import (
	"testing"
)

// FuzzParse feeds both parsers the same bytes: neither may panic, and what
// either accepts must hold the invariants the orchestrator relies on.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"known_hosts: kh\ndefaults: {user: root, port: 22, labels: [a]}\nhosts:\n- {name: h1, address: a, role: replica}\n- {address: b, role: client, dir: ~/x}\n",
		"hosts:\n  - address: a\n    role: replica\n    labels: [eu, us]\n  - address: b\n    role: client\n",
		"x: &a [1]\ny: *a\nhosts: *a\n",
		"[all:vars]\nansible_user=root\nansible_ssh_common_args='-o UserKnownHostsFile=kh'\n[replicas]\nh1 ansible_host=10.0.0.1 replbench_labels=a,b\n[clients]\nc1 ansible_port=2222\n",
		"[replicas]\nh1 replbench_dir=\"/srv/a b\" # comment\n[clients:vars]\nansible_user=\"x\"\n[clients]\nc\n",
		"[replicas\n",
		"\"\n'",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &parser{path: "fuzz", dir: "/fuzz"}
		for _, parseFn := range []func([]byte) (*File, error){p.parseYAML, p.parseINI} {
			file, err := parseFn(data)
			if err != nil {
				continue
			}
			names := map[string]bool{}
			roles := map[Role]int{}
			for _, h := range file.Hosts {
				if h.Name == "" || h.Address == "" || names[h.Name] || h.Port < 0 || h.Port > 65535 {
					t.Fatalf("accepted an invalid host %+v", h)
				}
				names[h.Name] = true
				roles[h.Role]++
			}
			if roles[RoleReplica] == 0 || roles[RoleClient] == 0 || len(roles) != 2 {
				t.Fatalf("accepted hosts with roles %v", roles)
			}
		}
	})
}
