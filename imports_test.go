package replbench_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules checks the layering of docs/architecture.md: protocol
// cores stay deterministic and free of I/O (standard library without net,
// os, time or math/rand, plus internal/wire, keys and protocols), and
// nothing but the main package imports internal/cli.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/replbench/replbench/"
	forbidden := map[string]bool{"net": true, "os": true, "os/exec": true, "syscall": true, "time": true,
		"math/rand": true, "math/rand/v2": true, "net/http": true, "unsafe": true}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for _, imp := range imports {
			if strings.HasSuffix(imp, "/internal/cli") && pkg != mod+"cmd/replbench" {
				t.Errorf("%s imports internal/cli; only cmd/replbench may", pkg)
			}
		}
		if !strings.HasPrefix(pkg, mod+"protocols") {
			continue
		}
		checked++
		for _, imp := range imports {
			switch {
			case forbidden[imp]:
				t.Errorf("protocol core %s imports %s: cores get time as ticks and do no I/O", pkg, imp)
			case strings.HasPrefix(imp, mod) && imp != mod+"internal/wire" && imp != mod+"keys" &&
				!strings.HasPrefix(imp, mod+"protocols"):
				t.Errorf("protocol core %s imports %s; cores may import only internal/wire, keys and protocols", pkg, imp)
			case !strings.HasPrefix(imp, mod) && strings.Contains(strings.Split(imp, "/")[0], "."):
				t.Errorf("protocol core %s imports third-party %s", pkg, imp)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no protocol packages found: the rule checked nothing")
	}
}

// TestBinaryLeavesOutHeavyPackages: a package that builds large tables at
// init costs every process that links it that memory at start-up. Replicas
// and load generators run as replbench-node, which must link no plotting or
// analysis code (its replicas' RSS is a headline figure; run falls back to
// the whole replbench only when replbench-node is missing, and warns); and
// neither binary may link gopacket's layers, which build 6.5 MB of tables.
func TestBinaryLeavesOutHeavyPackages(t *testing.T) {
	for _, tc := range []struct {
		main  string
		heavy []string
	}{
		{"./cmd/replbench", []string{"github.com/google/gopacket/layers"}},
		{"./cmd/replbench-node", []string{"github.com/google/gopacket/layers", "gonum.org/v1/plot",
			"github.com/replbench/replbench/analysis", "github.com/replbench/replbench/internal/cli"}},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.main).Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		deps := strings.Fields(string(out))
		for _, heavy := range tc.heavy {
			for _, dep := range deps {
				if dep == heavy {
					t.Errorf("%s links %s, which costs every process memory at start-up", tc.main, heavy)
				}
			}
		}
	}
}
