package orchestrate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/replbench/replbench/keys"
)

// keysPrefix names the directories that hold a run's generated keys.
const keysPrefix = "replbench-keys-"

// NewKeysDir creates the directory that holds a run's generated keys,
// private ones included: tmp/replbench-keys-*, mode 0700 (tmp "" is the
// system's temporary directory). The process holds a lock (flock) on it
// until release, which removes it. A run that is killed (kill -9, a crash,
// a power cut) cannot remove its keys, but the kernel drops its lock, so
// NewKeysDir first removes every key directory of this user under tmp whose
// lock nobody holds, and says so on log; one it cannot remove is reported
// there and does not stop the run.
//
// The directory is locked under a name the sweep skips and renamed into
// place only then, so that two runs starting at once never take each
// other's for stale.
func NewKeysDir(tmp string, log io.Writer) (dir string, release func() error, err error) {
	if tmp == "" {
		tmp = os.TempDir()
	}
	stale, err := sweepKeys(tmp)
	for _, d := range stale {
		fmt.Fprintf(log, "removed %s: the keys of an earlier run that was killed before it could remove them\n", d)
	}
	if err != nil {
		fmt.Fprintf(log, "keys of earlier runs: %v\n", err)
	}
	fresh, err := os.MkdirTemp(tmp, "."+keysPrefix+"new-")
	if err != nil {
		return "", nil, fmt.Errorf("keys directory: %w", err)
	}
	lock, err := lockDir(fresh)
	if err != nil {
		os.Remove(fresh)
		return "", nil, err
	}
	dir = filepath.Join(tmp, keysPrefix+strings.TrimPrefix(filepath.Base(fresh), "."+keysPrefix+"new-"))
	if err := os.Rename(fresh, dir); err != nil {
		lock.Close()
		os.Remove(fresh)
		return "", nil, fmt.Errorf("keys directory: %w", err)
	}
	release = func() error {
		err := os.RemoveAll(dir)
		lock.Close()
		if err != nil {
			return fmt.Errorf("remove the run's keys: %w", err)
		}
		return nil
	}
	return dir, release, nil
}

// lockDir takes the lock on dir without waiting; the lock lasts as long as
// the returned file is open (and this process lives).
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("keys directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// sweepKeys removes the key directories of runs that died: this user's
// tmp/replbench-keys-* that no live process holds locked.
func sweepKeys(tmp string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(tmp, keysPrefix+"*"))
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, d := range matches {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
			continue // another user's run
		}
		lock, err := lockDir(d)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			continue // its run is alive
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = os.RemoveAll(d)
		lock.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("remove the keys of a run that died: %w", err))
			continue
		}
		removed = append(removed, d)
	}
	return removed, errors.Join(errs...)
}

// keyCache generates key sets once per scheme and cluster size.
type keyCache struct {
	mu   sync.Mutex
	made map[string]bool
}

// get returns a directory under root holding keys for scheme with n
// replicas and c clients, generating them on first use.
func (k *keyCache) get(root string, scheme keys.Scheme, n, c, rsaBits int) (string, error) {
	dir := filepath.Join(root, fmt.Sprintf("%s-r%d-c%d-b%d", scheme, n, c, rsaBits))
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.made == nil {
		k.made = make(map[string]bool)
	}
	if k.made[dir] {
		return dir, nil
	}
	if err := keys.Generate(scheme, dir, n, c, keys.GenOptions{RSABits: rsaBits, Force: true}); err != nil {
		return "", fmt.Errorf("generate %s keys: %w", scheme, err)
	}
	k.made[dir] = true
	return dir, nil
}
