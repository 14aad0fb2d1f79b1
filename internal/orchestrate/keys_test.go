package orchestrate

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keysChildEnv makes the test binary a run that creates its keys directory
// under the directory the variable names, prints it and waits to be killed.
const keysChildEnv = "REPLBENCH_TEST_KEYS_CHILD"

func TestMain(m *testing.M) {
	if tmp := os.Getenv(keysChildEnv); tmp != "" {
		dir, _, err := NewKeysDir(tmp, io.Discard)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(dir, "replica-0.key"), []byte("secret\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(dir)
		io.Copy(io.Discard, os.Stdin) // until killed
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startKeysChild starts a run (this binary, see TestMain) that holds a keys
// directory under tmp, and returns it with the directory.
func startKeysChild(t *testing.T, tmp string) (*exec.Cmd, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), keysChildEnv+"="+tmp)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the run with keys said nothing: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

// TestKeysDirOfKilledRunIsRemoved: the keys directory of a run killed with
// SIGKILL stays behind, and the next run's NewKeysDir removes it and says
// so, while it leaves alone the directories of runs that are alive.
func TestKeysDirOfKilledRunIsRemoved(t *testing.T) {
	tmp := t.TempDir()
	killed, killedDir := startKeysChild(t, tmp)
	_, aliveDir := startKeysChild(t, tmp)
	for _, d := range []string{killedDir, aliveDir} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(d), keysPrefix) || fi.Mode().Perm() != 0o700 {
			t.Errorf("keys directory %s, mode %v; want %s* with mode 0700", d, fi.Mode().Perm(), keysPrefix)
		}
	}
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	if _, err := os.Stat(filepath.Join(killedDir, "replica-0.key")); err != nil {
		t.Fatalf("the killed run's key should still be there before the next run: %v", err)
	}

	var log strings.Builder
	dir, release, err := NewKeysDir(tmp, &log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(killedDir); !os.IsNotExist(err) {
		t.Errorf("the killed run's keys are still there: %v", err)
	}
	if want := "removed " + killedDir + ": the keys of an earlier run"; !strings.Contains(log.String(), want) {
		t.Errorf("log %q lacks %q", log.String(), want)
	}
	if _, err := os.Stat(filepath.Join(aliveDir, "replica-0.key")); err != nil {
		t.Errorf("the live run's keys were touched: %v", err)
	}

	// A second run starting now leaves this one's directory alone too.
	other, releaseOther, err := NewKeysDir(tmp, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a live run's keys directory was removed: %v", err)
	}
	for _, r := range []func() error{release, releaseOther} {
		if err := r(); err != nil {
			t.Error(err)
		}
	}
	for _, d := range []string{dir, other} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left after release: %v", d, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) != 1 || left[0] != aliveDir {
		t.Errorf("left under %s: %v; want only the live run's %s", tmp, left, aliveDir)
	}
}
