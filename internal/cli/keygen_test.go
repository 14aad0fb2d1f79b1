package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replbench/replbench/keys"
)

// runKeygen executes the keygen command with args and returns what it printed.
func runKeygen(args ...string) (string, error) {
	cmd := newKeygenCmd()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err := cmd.Execute()
	return out.String(), err
}

func TestKeygenWrites(t *testing.T) {
	for _, tc := range []struct {
		scheme  string
		args    []string
		files   []string // with their modes
		modes   []os.FileMode
		printed string
	}{
		{"ed25519", []string{"--clients", "1"},
			[]string{"replica-0.key", "replica-0.pub", "replica-1.key", "replica-1.pub", "client-0.key", "client-0.pub"},
			[]os.FileMode{0o600, 0o644, 0o600, 0o644, 0o600, 0o644},
			"wrote ed25519 keys for 2 replicas and 1 client to "},
		{"rsa", []string{"--clients", "0", "--rsa-bits", "1024"},
			[]string{"replica-0.key", "replica-0.pub", "replica-1.key", "replica-1.pub"},
			[]os.FileMode{0o600, 0o644, 0o600, 0o644},
			"wrote rsa keys for 2 replicas and 0 clients to "},
		{"hmac", []string{"--clients", "2"},
			[]string{"replica-0.key", "replica-1.key", "client-0.key", "client-1.key"},
			[]os.FileMode{0o600, 0o600, 0o600, 0o600},
			"(shared secrets, 0600)"},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			out, err := runKeygen(append([]string{tc.scheme, "2", "--out", dir}, tc.args...)...)
			if err != nil {
				t.Fatalf("keygen: %v", err)
			}
			if !strings.Contains(out, tc.printed) {
				t.Errorf("output %q lacks %q", out, tc.printed)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(tc.files) {
				t.Errorf("wrote %d files, want %d", len(entries), len(tc.files))
			}
			for i, name := range tc.files {
				path := filepath.Join(dir, name)
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != tc.modes[i] {
					t.Errorf("%s: mode %04o, want %04o", name, got, tc.modes[i])
				}
				if !strings.Contains(out, path) {
					t.Errorf("output does not list %s:\n%s", path, out)
				}
			}
			scheme, _ := keys.ParseScheme(tc.scheme)
			if _, err := keys.Load(scheme, dir, keys.Replica(1), 2, 0); err != nil {
				t.Errorf("written keys do not load: %v", err)
			}
		})
	}
}

func TestKeygenNone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	out, err := runKeygen("none", "4", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "nothing written") {
		t.Errorf("output %q does not say nothing was written", out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("keygen none created %s", dir)
	}
}

func TestKeygenForce(t *testing.T) {
	dir := t.TempDir()
	if _, err := runKeygen("ecdsa", "1", "--clients", "0", "--out", dir); err != nil {
		t.Fatal(err)
	}
	_, err := runKeygen("ecdsa", "1", "--clients", "0", "--out", dir)
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "replica-0.key") {
		t.Fatalf("second keygen: got %v, want a refusal naming replica-0.key and --force", err)
	}
	if _, err := runKeygen("ecdsa", "1", "--clients", "0", "--out", dir, "--force"); err != nil {
		t.Fatalf("keygen --force: %v", err)
	}
}

func TestKeygenBadArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "keygen takes SCHEME and N"},
		{[]string{"ed25519"}, "got 1 argument(s)"},
		{[]string{"ed25519", "4", "5"}, "got 3 argument(s)"},
		{[]string{"dsa", "4"}, `unknown scheme "dsa" (want one of [rsa ecdsa ed25519 hmac none])`},
		{[]string{"ed25519", "four"}, `must be a positive integer, got "four"`},
		{[]string{"ed25519", "0"}, `must be a positive integer, got "0"`},
		{[]string{"ed25519", "4", "--clients", "-2"}, "--clients must not be negative"},
		{[]string{"rsa", "4", "--rsa-bits", "512"}, "use at least 1024"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			_, err := runKeygen(append(tc.args, "--out", dir)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a refused keygen created %s", dir)
			}
		})
	}
}

func TestKeygenHelpListsSchemes(t *testing.T) {
	long := newKeygenCmd().Long
	for _, s := range keys.SchemeNames() {
		if !strings.Contains(long, "\n  "+s+" ") {
			t.Errorf("keygen help does not list scheme %s", s)
		}
	}
}
