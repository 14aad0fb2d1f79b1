package remote

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys checks one host's key against a known_hosts file during a
// handshake and keeps the verdict, so Dial can report it in its own words
// rather than as a handshake failure.
type hostKeys struct {
	path       string
	addr       string // host:port as dialled
	accept     bool
	db         ssh.HostKeyCallback // nil when the file does not exist yet
	known      []knownhosts.KnownKey
	algorithms []string                // host key algorithms of the known keys, nil when unknown
	err        error                   // why the key was refused
	recorded   func(key ssh.PublicKey) // called after a new key is recorded; may be nil
}

// probeKey is a key no host has (from an all-zero seed): checking it lists
// every known key of a host.
var probeKey = sync.OnceValues(func() (ssh.PublicKey, error) {
	return ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
})

func loadHostKeys(path, addr string, accept bool) (*hostKeys, error) {
	k := &hostKeys{path: path, addr: addr, accept: accept}
	db, err := knownhosts.New(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return k, nil
	case err != nil:
		return nil, fmt.Errorf("read known hosts: %w", err)
	}
	k.db = db
	// Offer only the algorithms of the keys on record: a host with several
	// keys would otherwise present its preferred one, which may not be the
	// one recorded, and fail as a mismatch.
	probe, err := probeKey()
	if err != nil {
		return nil, err
	}
	var ke *knownhosts.KeyError
	if err := db(addr, probeAddr, probe); errors.As(err, &ke) {
		k.known = ke.Want
		for _, w := range ke.Want {
			for _, a := range keyAlgorithms(w.Key.Type()) {
				if !slices.Contains(k.algorithms, a) {
					k.algorithms = append(k.algorithms, a)
				}
			}
		}
	}
	return k, nil
}

var probeAddr = &net.TCPAddr{IP: net.IPv4zero, Port: 22}

// keyAlgorithms lists the signature algorithms a key of this type can use
// as a host key, the strongest first.
func keyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// check is the ssh.HostKeyCallback.
func (k *hostKeys) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	var err error
	if k.db != nil {
		err = k.db(hostname, remote, key)
	} else {
		err = &knownhosts.KeyError{}
	}
	var ke *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ke) && len(ke.Want) == 0:
		if !k.accept {
			k.err = fmt.Errorf("host key not in %s (%s %s); verify it and rerun with --accept-new-host-keys to record it",
				k.path, key.Type(), ssh.FingerprintSHA256(key))
			return k.err
		}
		if err := recordHostKey(k.path, hostname, key); err != nil {
			k.err = fmt.Errorf("record host key: %w", err)
			return k.err
		}
		if k.recorded != nil {
			k.recorded(key)
		}
		return nil
	case errors.As(err, &ke):
		want := ke.Want[0]
		for _, w := range ke.Want {
			if w.Key.Type() == key.Type() {
				want = w
				break
			}
		}
		k.err = k.mismatch(want)
	case errors.As(err, &revoked):
		k.err = fmt.Errorf("host key %s is marked @revoked in %s:%d", ssh.FingerprintSHA256(key), revoked.Revoked.Filename, revoked.Revoked.Line)
	default:
		k.err = fmt.Errorf("check host key: %w", err)
	}
	return k.err
}

func (k *hostKeys) mismatch(w knownhosts.KnownKey) error {
	return fmt.Errorf("host key mismatch: %s:%d has a different key (possible man-in-the-middle); if the host was reinstalled, remove that line",
		w.Filename, w.Line)
}

// recordMu serialises appends from hosts dialled in parallel.
var recordMu sync.Mutex

// recordHostKey appends a host's key to a known_hosts file in OpenSSH's
// format, creating the file 0600 (and its directory 0700) if needed.
func recordHostKey(path, hostname string, key ssh.PublicKey) error {
	recordMu.Lock()
	defer recordMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	// A file whose last line lacks its newline would swallow the new entry.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil && err != io.EOF {
			f.Close()
			return err
		}
		if last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
