package hosts

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/ansible/*.want from ansible-inventory's reading")

// needAnsible returns ansible-inventory's path, or skips the test.
func needAnsible(t *testing.T) string {
	t.Helper()
	exe, err := exec.LookPath("ansible-inventory")
	if err != nil {
		if os.Getenv("REPLBENCH_REQUIRE_ANSIBLE") == "1" {
			t.Fatalf("ansible-inventory not on PATH, and REPLBENCH_REQUIRE_ANSIBLE=1: %v", err)
		}
		t.Skip("ansible-inventory not on PATH (apt-get install ansible-core), so the built-in readers are compared only with the recorded readings (set REPLBENCH_REQUIRE_ANSIBLE=1 to fail instead)")
	}
	return exe
}

// wantHost is what replbench uses of a host, with paths relative to the
// inventory's directory so that the recorded readings hold anywhere.
type wantHost struct {
	Name, Address string
	Port          int
	User          string
	IdentityFile  string `json:",omitempty"`
	Role          Role
	Labels        []string
	Dir           string
}

type wantFile struct {
	KnownHosts string `json:",omitempty"`
	Hosts      []wantHost
}

func used(t *testing.T, f *File, dir string) wantFile {
	t.Helper()
	rel := func(p string) string {
		if p == "" {
			return ""
		}
		r, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	w := wantFile{KnownHosts: rel(f.KnownHosts)}
	for _, h := range f.Hosts {
		labels := h.Labels
		if labels == nil {
			labels = []string{}
		}
		w.Hosts = append(w.Hosts, wantHost{h.Name, h.Address, h.Port, h.User, rel(h.IdentityFile), h.Role, labels, h.Dir})
	}
	return w
}

// inventories are the Ansible inventories of testdata/ansible that both
// readers must read alike; bad-* ones both must refuse.
func inventories(t *testing.T) (good, bad []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "ansible", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		switch base := filepath.Base(p); {
		case strings.HasSuffix(base, ".want"):
		case strings.HasPrefix(base, "bad-"):
			bad = append(bad, p)
		default:
			good = append(good, p)
		}
	}
	if len(good) < 5 || len(bad) < 1 {
		t.Fatalf("testdata/ansible: %d inventories and %d bad ones, want the whole set", len(good), len(bad))
	}
	return good, bad
}

// TestBuiltinReadersMatchRecorded checks the built-in readers against what
// ansible-inventory read from the same inventories (recorded in *.want by
// TestBuiltinReadersMatchAnsible -update), so machines without Ansible
// check them too.
func TestBuiltinReadersMatchRecorded(t *testing.T) {
	good, _ := inventories(t)
	for _, path := range good {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := LoadReader(context.Background(), path, "builtin")
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path + ".want")
			if err != nil {
				t.Fatal(err)
			}
			var want wantFile
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			dir, _ := filepath.Abs(filepath.Dir(path))
			if got := used(t, f, dir); !reflect.DeepEqual(got, want) {
				t.Errorf("built-in reader (%s):\n got %+v\nwant %+v", f.Reader, got, want)
			}
		})
	}
}

// TestBuiltinReadersMatchAnsible reads every inventory with
// ansible-inventory and with the built-in readers: what replbench uses of
// each host (address, port, user, identity file, role, labels, dir, and the
// order of hosts) must be exactly equal, and an inventory one refuses the
// other must refuse too.
func TestBuiltinReadersMatchAnsible(t *testing.T) {
	needAnsible(t)
	good, bad := inventories(t)
	for _, path := range good {
		t.Run(filepath.Base(path), func(t *testing.T) {
			dir, _ := filepath.Abs(filepath.Dir(path))
			viaAnsible, err := LoadReader(context.Background(), path, "ansible")
			if err != nil {
				t.Fatal(err)
			}
			if viaAnsible.Reader != ReaderAnsible {
				t.Fatalf("reader %q, want %q", viaAnsible.Reader, ReaderAnsible)
			}
			builtin, err := LoadReader(context.Background(), path, "builtin")
			if err != nil {
				t.Fatalf("the built-in reader refuses what ansible-inventory reads: %v", err)
			}
			a, b := used(t, viaAnsible, dir), used(t, builtin, dir)
			if !reflect.DeepEqual(a, b) {
				t.Errorf("built-in reader (%s) and ansible-inventory differ:\nbuilt-in %+v\n ansible %+v", builtin.Reader, b, a)
			}
			if *update {
				data, _ := json.MarshalIndent(a, "", "  ")
				if err := os.WriteFile(path+".want", append(data, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	for _, path := range bad {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, reader := range []string{"ansible", "builtin"} {
				f, err := LoadReader(context.Background(), path, reader)
				var list ErrorList
				if err == nil || !errors.As(err, &list) {
					t.Errorf("%s: read %+v, %v; want an error list", reader, f, err)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadChoosesReader checks which reader Load uses for each kind of
// hosts file and each REPLBENCH_INVENTORY_READER.
func TestLoadChoosesReader(t *testing.T) {
	dir := t.TempDir()
	ini := writeFile(t, filepath.Join(dir, "inventory"), "[replicas]\nr1\n[clients]\nc1\n", 0o644)
	yml := writeFile(t, filepath.Join(dir, "inventory.yml"), "all:\n  children:\n    replicas: {hosts: {r1: }}\n    clients: {hosts: {c1: }}\n", 0o644)
	own := writeFile(t, filepath.Join(dir, "hosts.yaml"), "hosts:\n- {address: r1, role: replica}\n- {address: c1, role: client}\n", 0o644)
	for _, tt := range []struct {
		path, reader, want string
	}{
		{ini, "builtin", ReaderINI},
		{yml, "builtin", ReaderAnsibleYAML},
		{own, "builtin", ReaderYAML},
		{own, "ansible", ReaderYAML}, // replbench's own format is never Ansible's
	} {
		f, err := LoadReader(context.Background(), tt.path, tt.reader)
		if err != nil {
			t.Fatalf("%s with %s: %v", tt.path, tt.reader, err)
		}
		if f.Reader != tt.want || len(f.Hosts) != 2 {
			t.Errorf("%s with %s: reader %q and %d hosts, want %q and 2", tt.path, tt.reader, f.Reader, len(f.Hosts), tt.want)
		}
	}
	t.Setenv(ReaderEnv, "builtin")
	if f, err := Load(ini); err != nil || f.Reader != ReaderINI {
		t.Errorf("Load with %s=builtin: %+v, %v", ReaderEnv, f, err)
	}
	t.Setenv(ReaderEnv, "ansibel")
	if _, err := Load(ini); err == nil || !strings.Contains(err.Error(), `REPLBENCH_INVENTORY_READER="ansibel": want ansible, builtin or auto`) {
		t.Errorf("Load with a misspelt reader: %v", err)
	}
	t.Setenv(ReaderEnv, "")

	t.Run("without ansible-inventory", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		if f, err := Load(ini); err != nil || f.Reader != ReaderINI {
			t.Errorf("Load without Ansible: %+v, %v; want the built-in reader", f, err)
		}
		_, err := LoadReader(context.Background(), ini, "ansible")
		if err == nil || !strings.Contains(err.Error(), "ansible-inventory is not on PATH") {
			t.Errorf("reader ansible without Ansible: %v", err)
		}
		_, err = Load(dir)
		if err == nil || !strings.Contains(err.Error(), "a directory or inventory script is read only by Ansible") {
			t.Errorf("a directory without Ansible: %v", err)
		}
		gv := filepath.Join(t.TempDir(), "inv.ini")
		writeFile(t, gv, "[replicas]\nr1\n[clients]\nc1\n", 0o644)
		writeFile(t, filepath.Join(filepath.Dir(gv), "group_vars", "all.yml"), "ansible_user: x\n", 0o644)
		_, err = Load(gv)
		if err == nil || !strings.Contains(err.Error(), "group_vars/ next to it are read only by Ansible") {
			t.Errorf("group_vars/ without Ansible: %v", err)
		}
	})

	t.Run("with ansible-inventory", func(t *testing.T) {
		needAnsible(t)
		if f, err := Load(ini); err != nil || f.Reader != ReaderAnsible {
			t.Errorf("Load with Ansible on PATH: %+v, %v; want ansible-inventory", f, err)
		}
		// What only Ansible reads: group_vars/, a directory, a script.
		inv := t.TempDir()
		writeFile(t, filepath.Join(inv, "hosts"), "[replicas]\nr1\n[clients]\nc1\n", 0o644)
		writeFile(t, filepath.Join(inv, "group_vars", "replicas.yml"), "ansible_user: bench\nreplbench_labels: [eu]\n", 0o644)
		f, err := Load(filepath.Join(inv, "hosts"))
		if err != nil || f.Hosts[0].User != "bench" || !reflect.DeepEqual(f.Hosts[0].Labels, []string{"eu"}) {
			t.Errorf("group_vars/ through ansible-inventory: %+v, %v", f, err)
		}
		if f, err := Load(inv); err != nil || len(f.Hosts) != 2 || f.Hosts[0].User != "bench" {
			t.Errorf("a directory through ansible-inventory: %+v, %v", f, err)
		}
		script := writeFile(t, filepath.Join(t.TempDir(), "dynamic.sh"), `#!/bin/sh
echo '{"replicas": {"hosts": ["r1", "r2"], "vars": {"ansible_port": 2200}},
 "clients": {"hosts": ["c1"]}, "_meta": {"hostvars": {"r2": {"ansible_host": "10.0.0.2"}}}}'
`, 0o755)
		f, err = Load(script)
		if err != nil {
			t.Fatal(err)
		}
		if got := used(t, f, ""); !reflect.DeepEqual(got.Hosts, []wantHost{
			{Name: "r1", Address: "r1", Port: 2200, Role: RoleReplica, Labels: []string{}},
			{Name: "r2", Address: "10.0.0.2", Port: 2200, Role: RoleReplica, Labels: []string{}},
			{Name: "c1", Address: "c1", Role: RoleClient, Labels: []string{}},
		}) {
			t.Errorf("dynamic inventory: %+v", got.Hosts)
		}
		bad := writeFile(t, filepath.Join(t.TempDir(), "bad.ini"), "[replicas\nr1\n", 0o644)
		_, err = Load(bad)
		if err == nil || !strings.HasPrefix(err.Error(), bad+": ansible-inventory: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("an inventory Ansible cannot parse: %v; want one line from ansible-inventory", err)
		}
	})
}

// readmeBlock returns the first fenced block of kind lang after marker in
// the README.
func readmeBlock(t *testing.T, marker, lang string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("README has no %q", marker)
	}
	_, rest, ok := strings.Cut(text[i:], "```"+lang+"\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("README has no ```%s block after %q", lang, marker)
	}
	return block
}

// TestREADMEHostsFiles reads the README's hosts file and inventory: the
// same five hosts with the same labels, users and keys, by every reader
// there is.
func TestREADMEHostsFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	own := writeFile(t, filepath.Join(dir, "hosts.yaml"), readmeBlock(t, "### The hosts file", "yaml"), 0o644)
	inv := writeFile(t, filepath.Join(dir, "inventory"), readmeBlock(t, "An Ansible inventory works as it is", "ini"), 0o644)
	readers := []string{"builtin"}
	if _, err := exec.LookPath("ansible-inventory"); err == nil || os.Getenv("REPLBENCH_REQUIRE_ANSIBLE") == "1" {
		readers = append(readers, "ansible")
	}
	want := map[string]string{"r1": "eu", "r2": "eu", "r3": "us", "r4": "us", "load": "eu"}
	for _, path := range []string{own, inv} {
		for _, reader := range readers {
			f, err := LoadReader(context.Background(), path, reader)
			if err != nil {
				t.Fatalf("%s (%s): %v", path, reader, err)
			}
			got := map[string]string{}
			for _, h := range f.Hosts {
				got[h.Name] = strings.Join(h.Labels, ",")
				if h.Name == "r1" && h.Address != "10.0.0.11" {
					t.Errorf("%s (%s): r1 at %q, want 10.0.0.11", path, f.Reader, h.Address)
				}
				if h.User != "bench" || h.IdentityFile != filepath.Join(dir, ".ssh", "id_ed25519") {
					t.Errorf("%s (%s): host %s user %q identity %q, want bench and ~/.ssh/id_ed25519", path, f.Reader, h.Name, h.User, h.IdentityFile)
				}
			}
			if !reflect.DeepEqual(got, want) || f.Hosts[4].Port != 2222 || f.Hosts[4].Dir != "/scratch/replbench" || f.Hosts[4].Address != "bench-client" {
				t.Errorf("%s (%s): labels %v and client %+v, want %v and the client on bench-client:2222", path, f.Reader, got, f.Hosts[4], want)
			}
		}
	}
}
