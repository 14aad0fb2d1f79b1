package hosts

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// abs is a path relative to the test's working directory, where parse
// resolves the relative paths of "hosts.yaml".
func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParseYAML(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	const doc = `# a testbed
known_hosts: keys/known_hosts
defaults:
  user: root
  port: 2222
  identity_file: ~/.ssh/testbed
  labels: [zone-a]
hosts:
  - name: h1
    address: 10.77.0.1
    role: replica
    dir: ~/work/h1
  - address: 10.77.0.2
    port: 22
    user: alice
    identity_file: /keys/id_h2
    role: replica
    labels: [zone-b, gpu]
  - name: c1
    address: client.example
    role: client
    labels: []
    dir: /var/lib/replbench
`
	f, err := parse("hosts.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Path:       "hosts.yaml",
		Reader:     ReaderYAML,
		KnownHosts: abs(t, "keys/known_hosts"),
		Hosts: []Host{
			{Name: "h1", Address: "10.77.0.1", Port: 2222, User: "root", IdentityFile: filepath.Join(home, ".ssh/testbed"),
				Role: RoleReplica, Labels: []string{"zone-a"}, Dir: "work/h1", Source: "hosts.yaml:9"},
			{Name: "10.77.0.2", Address: "10.77.0.2", Port: 22, User: "alice", IdentityFile: "/keys/id_h2",
				Role: RoleReplica, Labels: []string{"zone-b", "gpu"}, Source: "hosts.yaml:13"},
			{Name: "c1", Address: "client.example", Port: 2222, User: "root", IdentityFile: filepath.Join(home, ".ssh/testbed"),
				Role: RoleClient, Labels: []string{}, Dir: "/var/lib/replbench", Source: "hosts.yaml:19"},
		},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("parse:\n got %+v\nwant %+v", f, want)
	}
	if got := f.ByRole(RoleReplica); len(got) != 2 || got[0].Name != "h1" || got[1].Name != "10.77.0.2" {
		t.Errorf("ByRole(replica) = %+v", got)
	}
	if got := f.ByRole(RoleClient); len(got) != 1 || got[0].Name != "c1" {
		t.Errorf("ByRole(client) = %+v", got)
	}
	if got := f.Hosts[1].WorkDir(); got != DefaultDir {
		t.Errorf("WorkDir without dir = %q, want %q", got, DefaultDir)
	}
	if got := f.Hosts[2].WorkDir(); got != "/var/lib/replbench" {
		t.Errorf("WorkDir = %q", got)
	}
}

// TestParseYAMLMinimal checks that what the file leaves out stays zero, for
// ~/.ssh/config and the SSH defaults to fill at dial time.
func TestParseYAMLMinimal(t *testing.T) {
	f, err := parse("hosts.yaml", []byte("hosts:\n- {address: a, role: replica}\n- {address: b, role: client}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Host{
		{Name: "a", Address: "a", Role: RoleReplica, Source: "hosts.yaml:2"},
		{Name: "b", Address: "b", Role: RoleClient, Source: "hosts.yaml:3"},
	}
	if f.KnownHosts != "" || !reflect.DeepEqual(f.Hosts, want) {
		t.Errorf("parse = %+v, want hosts %+v and no known_hosts", f, want)
	}
}

func TestParseYAMLErrors(t *testing.T) {
	const tail = "  - {name: c, address: 10.0.0.9, role: client}\n"
	tests := []struct {
		name, doc, want string
	}{
		{"empty file", "# nothing\n", "hosts.yaml:1: empty hosts file: want a mapping with hosts: (a list of hosts)"},
		{"not a mapping", "- a\n- b\n", `hosts.yaml:1: want a mapping with hosts: (a list of hosts), got a list`},
		{"syntax", "hosts:\n  - address: a\n    role: [\n", "hosts.yaml:3: did not find expected node content"},
		{"unknown top-level key", "host:\n  - address: a\n",
			`hosts.yaml:1: unknown key "host" (want known_hosts, defaults, hosts)`},
		{"missing hosts", "known_hosts: k\n", "hosts.yaml:1: missing hosts: (a list of hosts)"},
		{"hosts not a list", "hosts: h1\n", `hosts.yaml:1: hosts: want a list of hosts, got a string "h1"`},
		{"host not a mapping", "hosts:\n  - 10.0.0.1\n", `hosts.yaml:2: hosts: want a mapping with address: and role:, got a string "10.0.0.1"`},
		{"unknown host key", "hosts:\n  - adress: 10.0.0.1\n    role: replica\n",
			`hosts.yaml:2: unknown key "adress" in host (want name, address, port, user, identity_file, role, labels, dir)`},
		{"unknown defaults key", "defaults:\n  users: root\nhosts: []\n",
			`hosts.yaml:2: unknown key "users" in defaults (want name, address, port, user, identity_file, role, labels, dir)`},
		{"address as a default", "defaults:\n  address: a\nhosts: []\n",
			"hosts.yaml:2: defaults: address is per host and cannot be a default"},
		{"defaults not a mapping", "defaults: [a]\nhosts: []\n", "hosts.yaml:1: defaults: want a mapping of host keys, got a list"},
		{"key twice", "hosts:\n  - address: a\n    role: replica\n    role: client\n",
			"hosts.yaml:4: role set twice (first at line 3)"},
		{"merge key", "hosts:\n  - <<: {role: replica}\n    address: a\n",
			"hosts.yaml:2: merge keys (<<) are not supported; use defaults: or write the keys out"},
		{"alias value", "defaults: {role: &r replica}\nhosts:\n  - {address: a, role: *r}\n",
			"hosts.yaml:3: role: aliases (*r) are not supported; write the value out"},
		{"missing address", "hosts:\n  - name: h1\n    role: replica\n" + tail, `hosts.yaml:2: host "h1" has no address`},
		{"empty address", "hosts:\n  - address:\n    role: replica\n" + tail, "hosts.yaml:2: host has no address"},
		{"address with port", "hosts:\n  - address: 10.0.0.1:2222\n    role: replica\n",
			`hosts.yaml:2: address "10.0.0.1:2222" must not include a port; give host "10.0.0.1" and port 2222`},
		{"missing role", "hosts:\n  - name: h1\n    address: a\n" + tail, `hosts.yaml:2: host "h1" has no role (want replica or client)`},
		{"bad role", "hosts:\n  - address: a\n    role: server\n", `hosts.yaml:3: role: want replica or client, got "server"`},
		{"port not a number", "hosts:\n  - address: a\n    port: ssh\n    role: replica\n",
			`hosts.yaml:3: port: want a number from 1 to 65535, got a string "ssh"`},
		{"port zero", "hosts:\n  - {address: a, port: 0, role: replica}\n", "hosts.yaml:2: port: want a number from 1 to 65535, got an integer 0"},
		{"port too big", "defaults: {port: 65536}\nhosts: []\n", "hosts.yaml:1: port: want a number from 1 to 65535, got an integer 65536"},
		{"port a list", "hosts:\n  - {address: a, port: [22], role: replica}\n", "hosts.yaml:2: port: want a single value, got a list"},
		{"bad name", "hosts:\n  - {name: a b, address: a, role: replica}\n", `hosts.yaml:2: name "a b" must not contain spaces or slashes`},
		{"labels not a list", "hosts:\n  - {address: a, role: replica, labels: eu}\n",
			`hosts.yaml:2: labels: want a list such as [eu], got a string "eu"`},
		{"label with comma", "hosts:\n  - address: a\n    role: replica\n    labels: [\"eu,us\"]\n",
			`hosts.yaml:4: labels: label "eu,us" must not contain spaces or commas`},
		{"duplicate name", "hosts:\n  - {name: h1, address: a, role: replica}\n  - {name: h1, address: b, role: replica}\n" + tail,
			`hosts.yaml:3: duplicate host name "h1" (first at line 2)`},
		{"duplicate default name", "hosts:\n  - {address: a, role: replica}\n  - {address: a, role: client}\n",
			`hosts.yaml:3: duplicate host name "a" (first at line 2)`},
		{"no replica hosts", "hosts:\n" + tail, "hosts.yaml:1: no replica hosts (no host has role: replica)"},
		{"no client hosts", "\nhosts:\n  - {address: a, role: replica}\n", "hosts.yaml:2: no client hosts (no host has role: client)"},
		{"no hosts", "hosts: []\n", "hosts.yaml:1: no replica hosts (no host has role: replica)"},
		{"several mistakes", "known_hosts: [a]\nhosts:\n  - {address: a, role: replica, port: 0}\n  - {address: b, role: server}\n  - {adress: c, role: client}\n  - {address: d, role: client, labels: [\"x y\"]}\n",
			"hosts.yaml:1: known_hosts: want a single value, got a list\n" +
				"hosts.yaml:3: port: want a number from 1 to 65535, got an integer 0\n" +
				`hosts.yaml:4: role: want replica or client, got "server"` + "\n" +
				`hosts.yaml:5: unknown key "adress" in host (want name, address, port, user, identity_file, role, labels, dir)` + "\n" +
				`hosts.yaml:6: labels: label "x y" must not contain spaces or commas`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parse("hosts.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("parse succeeded with %+v, want error %q", f, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

func TestParseINI(t *testing.T) {
	const inv = `# testbed inventory
; the same hosts for Ansible
[all:vars]
ansible_user=root
ansible_port=22
ansible_ssh_private_key_file=keys/id_ed25519
ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o UserKnownHostsFile=keys/known_hosts'

[replicas]
h1 ansible_host=10.77.0.1 replbench_labels=zone-a replbench_dir=/srv/h1   # first
h2 ansible_host=10.77.0.2 replbench_labels="zone-b, gpu" ansible_port=2222

[replicas:vars]
ansible_user="ops"

[clients]
c1.example ansible_ssh_user=bob ansible_private_key_file=/keys/c1

[monitoring]
h1 replbench_labels=zone-m
[monitoring:vars]
ansible_user=nobody
[all:children]
replicas
`
	f, err := parse("inventory.ini", []byte(inv))
	if err != nil {
		t.Fatal(err)
	}
	key := abs(t, "keys/id_ed25519")
	want := &File{
		Path:       "inventory.ini",
		Reader:     ReaderINI,
		KnownHosts: abs(t, "keys/known_hosts"),
		Hosts: []Host{
			// h1's line in [monitoring] sets its labels again; [replicas:vars]
			// wins over [monitoring:vars], same depth, by name.
			{Name: "h1", Address: "10.77.0.1", Port: 22, User: "ops", IdentityFile: key, Role: RoleReplica,
				Labels: []string{"zone-m"}, Dir: "/srv/h1", Source: "inventory.ini:10"},
			{Name: "h2", Address: "10.77.0.2", Port: 2222, User: "ops", IdentityFile: key, Role: RoleReplica,
				Labels: []string{"zone-b", "gpu"}, Source: "inventory.ini:11"},
			// ansible_ssh_private_key_file in [all:vars] beats the host's
			// ansible_private_key_file, as in Ansible (checked with ansible -vvv).
			{Name: "c1.example", Address: "c1.example", Port: 22, User: "bob", IdentityFile: key, Role: RoleClient,
				Source: "inventory.ini:17"},
		},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("parse:\n got %+v\nwant %+v", f, want)
	}
}

func TestParseINIKnownHosts(t *testing.T) {
	const inv = "[all:vars]\nreplbench_known_hosts=/etc/kh\nansible_ssh_extra_args=-oUserKnownHostsFile=/other\n" +
		"[replicas]\nr\n[clients]\nc\n"
	f, err := parse("inventory.ini", []byte(inv))
	if err != nil {
		t.Fatal(err)
	}
	if f.KnownHosts != "/etc/kh" {
		t.Errorf("KnownHosts = %q, want replbench_known_hosts to win over the ssh arguments", f.KnownHosts)
	}
}

func TestParseINIErrors(t *testing.T) {
	const ok = "[replicas]\nr1\n[clients]\nc1\n"
	tests := []struct {
		name, doc, want string
	}{
		{"host in both groups", "[replicas]\nh1\n[clients]\nh1\n",
			"inventory.ini:2: host h1 is in both groups replicas and clients; a host has one role"},
		{"host in both through children", "[eu]\nh1\n[replicas:children]\neu\n[clients]\nh1\n",
			"inventory.ini:2: host h1 is in both groups replicas and clients; a host has one role"},
		{"bad port on host line", "[replicas]\nh1 ansible_port=ssh\n[clients]\nc\n",
			`inventory.ini:2: ansible_port: want a number from 1 to 65535, got "ssh"`},
		{"bad port in all:vars", "[all:vars]\nansible_ssh_port = 0\n" + ok,
			"inventory.ini:2: ansible_ssh_port: want a number from 1 to 65535, got the number 0"},
		{"port with a comment after ;", "[replicas]\nh1 ansible_port=22;x\n[clients]\nc\n",
			`inventory.ini:2: ansible_port: want a number from 1 to 65535, got "22;x" (Ansible keeps a comment after a [group:vars] value, and one after ; on a host line, in the value)`},
		{"comment kept in a vars value", "[all:vars]\nreplbench_labels=eu # zone\n" + ok,
			`inventory.ini:2: replbench_labels: "eu # zone" holds an inline comment, which Ansible keeps in a [group:vars] value; put the comment on a line of its own`},
		{"user with a comment", "[replicas:vars]\nansible_user=bench ; ops\n" + ok,
			`inventory.ini:2: ansible_user: "bench ; ops" holds an inline comment, which Ansible keeps in a [group:vars] value; put the comment on a line of its own`},
		{"not key=value", "[replicas]\nh1 10.0.0.1\n[clients]\nc\n", `inventory.ini:2: host h1: want key=value, got "10.0.0.1"`},
		{"vars line without =", "[clients:vars]\nansible_user\n" + ok, `inventory.ini:2: [clients:vars]: want key=value, got "ansible_user"`},
		{"unknown replbench var", "[replicas]\nh1 replbench_label=eu\n[clients]\nc\n",
			"inventory.ini:2: unknown variable replbench_label (want replbench_labels, replbench_dir, replbench_known_hosts)"},
		{"unknown replbench var in another group", "[bench:children]\nreplicas\n[bench:vars]\nreplbench_lables=eu\n" + ok,
			"inventory.ini:4: unknown variable replbench_lables (want replbench_labels, replbench_dir, replbench_known_hosts)"},
		{"known_hosts differ", "[replicas:vars]\nreplbench_known_hosts=k\n" + ok,
			"inventory.ini: host c1: known_hosts (none: ~/.ssh/known_hosts) differs from host r1's k; one known_hosts file serves every host (set replbench_known_hosts in [all:vars])"},
		{"undeclared child", "[replicas:children]\neu\n" + ok,
			"inventory.ini:2: group eu is a child group but is never declared (want a [eu] or [eu:children] section)"},
		{"vars of an undeclared group", "[eu:vars]\nreplbench_labels=eu\n" + ok,
			"inventory.ini:1: [eu:vars] for a group that is never declared (want a [eu] or [eu:children] section)"},
		{"children loop", "[a:children]\nb\n[b:children]\na\n" + ok, "inventory.ini: group a is its own ancestor (a loop of [group:children])"},
		{"bad range", "[replicas]\nh[3:1:0]\n[clients]\nc\n", `inventory.ini:2: host range "h[3:1:0]": step "0": want a positive number`},
		{"padded range of two widths", "[replicas]\nh[01:100]\n[clients]\nc\n",
			`inventory.ini:2: host range "h[01:100]": [01:100]: a zero-padded begin and its end must have the same width`},
		{"empty host name", "[replicas]\n\"\" ansible_port=22\n[clients]\nc\n", "inventory.ini:2: empty host name"},
		{"unclosed header", "[replicas\nh1\n", `inventory.ini:1: section header "[replicas" has no closing ]`},
		{"bad section kind", "[replicas:host]\nh1\n" + ok, "inventory.ini:1: section [replicas:host] has unknown type host (want [group], [group:vars] or [group:children])"},
		{"space in header", "[replicas x]\nh1\n", `inventory.ini:1: section header "[replicas x]": want [group], [group:vars] or [group:children], with no spaces`},
		{"unterminated quote", "[replicas]\nh1 replbench_dir='/srv\n[clients]\nc\n", "inventory.ini:2: unterminated ' quote"},
		{"address with port", "[replicas]\nh1 ansible_host=10.0.0.1:22\n[clients]\nc\n",
			`inventory.ini:2: ansible_host "10.0.0.1:22" must not include a port; give host "10.0.0.1" and port 22`},
		{"address a number", "[replicas]\nh1 ansible_host=10.5\n[clients]\nc\n", "inventory.ini:2: ansible_host: want text, got the number 10.5"},
		{"empty label", "[replicas]\nh1 replbench_labels=eu,,us\n[clients]\nc\n", "inventory.ini:2: replbench_labels: empty label"},
		{"bad priority", "[eu]\nr1\n[eu:vars]\nansible_group_priority=high\n" + ok,
			`inventory.ini:4: ansible_group_priority of group eu: want an integer, got "high"`},
		{"no replicas", "[replicas]\n[clients]\nc1\n", "inventory.ini:1: no replica hosts (list them in group replicas, or in a child group of it)"},
		{"no replicas group", "[clients]\nc1\n[others]\nr1\n", "inventory.ini: no replica hosts (list them in group replicas, or in a child group of it)"},
		{"no clients", "[replicas]\nr1\n\n[clients]\n", "inventory.ini:4: no client hosts (list them in group clients, or in a child group of it)"},
		{"YAML in a file not named .yaml", "all:\n  children:\n    replicas:\n",
			"inventory.ini:1: host pattern \"all:\" ends in ':' (Ansible reads YAML inventories only from files named .yaml, .yml or .json)\n" +
				"inventory.ini:2: host pattern \"children:\" ends in ':' (Ansible reads YAML inventories only from files named .yaml, .yml or .json)\n" +
				"inventory.ini:3: host pattern \"replicas:\" ends in ':' (Ansible reads YAML inventories only from files named .yaml, .yml or .json)"},
		{"Jinja template", "[replicas]\nr1 ansible_host='{{ inventory_hostname }}.example'\n[clients]\nc1\n",
			`inventory.ini:2: ansible_host: "{{ inventory_hostname }}.example" is a Jinja template, which neither ansible-inventory --list nor replbench evaluates; give the value itself`},
		{"several mistakes", "[replicas]\nh1 ansible_port=0\nh2 replbench_dir\n[clients]\nc1 ansible_user='a b'\n[x:y]\n",
			"inventory.ini:2: ansible_port: want a number from 1 to 65535, got the number 0\n" +
				`inventory.ini:3: host h2: want key=value, got "replbench_dir"` + "\n" +
				`inventory.ini:5: ansible_user "a b" must not contain spaces` + "\n" +
				"inventory.ini:6: section [x:y] has unknown type y (want [group], [group:vars] or [group:children])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parse("inventory.ini", []byte(tt.doc))
			if err == nil {
				t.Fatalf("parse succeeded with %+v, want error %q", f, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

func TestIsINI(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{"[replicas]\nh1\n", true},
		{"# comment\n; another\n\n  [all:vars]\n", true},
		{"hosts:\n  - [a]\n", false},
		{"# [replicas]\nhosts: []\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isINI([]byte(tt.doc)); got != tt.want {
			t.Errorf("isINI(%q) = %v, want %v", tt.doc, got, tt.want)
		}
	}
}

// TestLoad reads real files, so relative paths resolve against the file's
// directory rather than the working directory.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	yamlPath := write("hosts.yaml", "known_hosts: kh\nhosts:\n- {address: a, role: replica, identity_file: id}\n- {address: b, role: client}\n")
	iniPath := write("inventory.ini", "[replicas]\na ansible_ssh_private_key_file=id\n[clients]\nb\n")
	for _, path := range []string{yamlPath, iniPath} {
		f, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Hosts[0].IdentityFile; got != filepath.Join(dir, "id") {
			t.Errorf("%s: identity file = %q, want it next to the hosts file", path, got)
		}
		if f.Path != path {
			t.Errorf("Path = %q, want %q", f.Path, path)
		}
	}
	if f, _ := Load(yamlPath); f.KnownHosts != filepath.Join(dir, "kh") {
		t.Errorf("known_hosts = %q, want it next to the hosts file", f.KnownHosts)
	}
	_, err := Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.HasPrefix(err.Error(), "load hosts file: open ") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}
