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
