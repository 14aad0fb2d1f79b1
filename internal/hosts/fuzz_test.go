package hosts

import (
	"testing"
)

// FuzzParse feeds every built-in reader the same bytes: none may panic, and
// what any accepts must hold the invariants the orchestrator relies on.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"known_hosts: kh\ndefaults: {user: root, port: 22, labels: [a]}\nhosts:\n- {name: h1, address: a, role: replica}\n- {address: b, role: client, dir: ~/x}\n",
		"hosts:\n  - address: a\n    role: replica\n    labels: [eu, us]\n  - address: b\n    role: client\n",
		"x: &a [1]\ny: *a\nhosts: *a\n",
		"[all:vars]\nansible_user=root\nansible_ssh_common_args='-o UserKnownHostsFile=kh'\n[replicas]\nh1 ansible_host=10.0.0.1 replbench_labels=a,b\n[clients]\nc1 ansible_port=2222\n",
		"[replicas]\nh1 replbench_dir=\"/srv/a b\" # comment\n[clients:vars]\nansible_user=\"x\"\n[clients]\nc\n",
		"[bench:children]\nreplicas\nclients\n[bench:vars]\nreplbench_labels='eu' # c\nansible_port=0x16\n[replicas]\nr[01:10:3]:2200 x=\"['a', (1, 2.5e3), {'k': None}]\"\n[clients]\n[a:c]-z\n",
		"all:\n  vars: {ansible_user: root}\n  children:\n    replicas:\n      hosts:\n        r[1:3]: {ansible_port: \"22\"}\n    clients:\n      hosts: c1\n",
		"[replicas\n",
		"\"\n'",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &parser{path: "fuzz", dir: "/fuzz"}
		readers := []func([]byte) (*File, error){
			p.parseYAML, p.parseINI,
			func(b []byte) (*File, error) { return parse("fuzz.yml", b) },
		}
		for _, read := range readers {
			file, err := read(data)
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
		_ = pyValue(string(data))
	})
}
