package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/replbench/replbench/internal/hosts"
)

// target is where and as whom to connect, after ~/.ssh/config.
type target struct {
	addr       string // host:port to dial, and the name host keys are recorded under
	user       string
	identities []identity
}

// identity is a private key file to offer, with where it was named.
type identity struct {
	path string
	from string // fromHostsFile, fromSSHConfig or fromDefault
}

const (
	fromHostsFile = "hosts file"
	fromSSHConfig = "ssh config"
	fromDefault   = "default"
)

// defaultIdentities are tried, when they exist, after the named ones.
var defaultIdentities = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// resolve applies the hosts file first, then the ssh config entry for the
// host's address (used as a Host alias), then the defaults, as ssh(1) does
// with its command line and config.
func resolve(h hosts.Host, opt Options, home string) (target, error) {
	cfg, err := loadSSHConfig(opt.SSHConfig, home)
	if err != nil {
		return target{}, err
	}
	get := func(key string) string {
		if cfg == nil {
			return ""
		}
		v, _ := cfg.Get(h.Address, key)
		return v
	}

	// Hops through other hosts are not implemented: dialling the host
	// directly instead would fail later, or reach the wrong machine.
	for _, key := range []string{"ProxyJump", "ProxyCommand"} {
		if v := get(key); v != "" && !strings.EqualFold(v, "none") {
			return target{}, fmt.Errorf("ssh config sets %s %s for %s, which replbench does not support; give the host's own address and port in the hosts file", key, v, h.Address)
		}
	}
	hostname := h.Address
	if v := get("HostName"); v != "" {
		hostname = expandTokens(v, map[byte]string{'h': h.Address})
	}
	port := h.Port
	if port == 0 {
		port = 22
		if v := get("Port"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return target{}, fmt.Errorf("ssh config: Port %q for %s is not a port number", v, h.Address)
			}
			port = n
		}
	}
	local := localUser()
	login := h.User
	if login == "" {
		login = get("User")
	}
	if login == "" {
		login = local
	}
	t := target{addr: net.JoinHostPort(hostname, strconv.Itoa(port)), user: login}

	seen := map[string]bool{}
	add := func(path, from string) {
		if path != "" && !seen[path] {
			seen[path] = true
			t.identities = append(t.identities, identity{path, from})
		}
	}
	add(h.IdentityFile, fromHostsFile)
	if cfg != nil {
		files, _ := cfg.GetAll(h.Address, "IdentityFile")
		tokens := map[byte]string{'d': home, 'h': hostname, 'n': h.Address, 'p': strconv.Itoa(port), 'r': login, 'u': local}
		for _, f := range files {
			f = expandTokens(f, tokens)
			if rest, ok := strings.CutPrefix(f, "~/"); ok && home != "" {
				f = filepath.Join(home, rest)
			}
			add(f, fromSSHConfig)
		}
	}
	if home != "" {
		for _, name := range defaultIdentities {
			add(filepath.Join(home, ".ssh", name), fromDefault)
		}
	}
	return t, nil
}

// loadSSHConfig reads an OpenSSH client config; nil when there is none.
func loadSSHConfig(path, home string) (*ssh_config.Config, error) {
	switch {
	case path == "none":
		return nil, nil
	case path == "" && home == "":
		return nil, nil
	case path == "":
		path = filepath.Join(home, ".ssh", "config")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config: %w", err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return cfg, nil
}

// expandTokens replaces ssh_config(5) percent tokens ("%h") that are in
// tokens and "%%"; others are left as written.
func expandTokens(s string, tokens map[byte]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
		} else if v, ok := tokens[s[i]]; ok {
			b.WriteString(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// localUser is the login name ssh(1) would use by default.
func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}
