package orchestrate

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestBinariesCrossCompile builds replbench-node for another architecture
// from this source tree, as runs on such hosts do, and checks the result is
// an executable for it.
func TestBinariesCrossCompile(t *testing.T) {
	if _, err := FindSource(); err != nil {
		t.Skip("no source tree to build from: " + err.Error())
	}
	arch, machine := "arm64", elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		arch, machine = "amd64", elf.EM_X86_64
	}
	b := &Binaries{CacheDir: t.TempDir()}
	bin, err := b.For(context.Background(), "linux", arch)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("built %v %v, want an executable for %v", f.Type, f.Machine, machine)
	}
	if len(bin.Hash) != 64 || bin.OS != "linux" || bin.Arch != arch {
		t.Errorf("binary %+v", bin)
	}
	again, err := b.For(context.Background(), "linux", arch)
	if err != nil || again != bin {
		t.Errorf("second For built again: %v %v", again, err)
	}
}

// TestBinariesGiven checks that a binary the user names serves this
// platform, hashed, without building.
func TestBinariesGiven(t *testing.T) {
	given := filepath.Join(t.TempDir(), "node")
	if err := os.WriteFile(given, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := &Binaries{CacheDir: t.TempDir(), Given: given, Source: "/nonexistent"}
	bin, err := b.For(context.Background(), runtime.GOOS, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("#!/bin/sh\n"))
	if bin.Path != given || bin.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("got %+v, want %s with hash %x", bin, given, sum)
	}
}

// TestRevision: a binary's commit comes from the go tool's VCS stamp, else
// from the pseudo-version go install module@commit gives it.
func TestRevision(t *testing.T) {
	for _, tc := range []struct {
		version  string
		settings []debug.BuildSetting
		rev      string
		dirty    bool
	}{
		{"(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "e66f002087b1"}, {Key: "vcs.modified", Value: "true"}}, "e66f002087b1", true},
		{"v0.0.0-20261204180712-e66f002087b1", nil, "e66f002087b1", false},
		{"v1.2.4-0.20261204180712-e66f002087b1", nil, "e66f002087b1", false},
		{"v1.2.3", nil, "", false},
		{"(devel)", nil, "", false},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Version: tc.version}, Settings: tc.settings}
		if rev, dirty := revision(bi); rev != tc.rev || dirty != tc.dirty {
			t.Errorf("%s %v: revision %q dirty %v, want %q %v", tc.version, tc.settings, rev, dirty, tc.rev, tc.dirty)
		}
	}
}
