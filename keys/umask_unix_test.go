//go:build unix

package keys

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestGenerateModesIgnoreUmask: key files get exactly 0600 and 0644 whatever
// the umask. Umask is process-wide, so this test must not run in parallel.
func TestGenerateModesIgnoreUmask(t *testing.T) {
	for _, mask := range []int{0o000, 0o077} {
		old := syscall.Umask(mask)
		dir := t.TempDir()
		err := Generate(Ed25519, dir, 1, 0, GenOptions{})
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join(dir, "replica-0.key"))
		checkFile(t, filepath.Join(dir, "replica-0.pub"))
	}
}
