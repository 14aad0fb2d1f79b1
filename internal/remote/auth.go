package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth is the keys offered to one host: identity files first, in the order
// resolve found them, then the agent's. They travel as one public-key
// method because the SSH client tries each method name only once.
type auth struct {
	keys    []ssh.Signer
	files   []string // identity files offered
	agent   net.Conn // open until the handshake ends
	nAgent  int      // keys offered from the agent
	noAgent string   // why no agent was used; "" when one was
	locked  []string // passphrase-protected files, usable only through an agent
}

func newAuth(t target, opt Options) (*auth, error) {
	a := &auth{}
	seen := map[string]bool{}
	add := func(s ssh.Signer) bool {
		blob := string(s.PublicKey().Marshal())
		if seen[blob] {
			return false
		}
		seen[blob] = true
		a.keys = append(a.keys, s)
		return true
	}

	for _, id := range t.identities {
		data, err := os.ReadFile(id.path)
		if err != nil {
			// ssh(1) too passes over configured and default files that do
			// not exist; the hosts file's key is named for this host alone.
			if errors.Is(err, fs.ErrNotExist) && id.from != fromHostsFile {
				continue
			}
			return nil, fmt.Errorf("identity file: %w", err)
		}
		s, err := ssh.ParsePrivateKey(data)
		var locked *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &locked):
			a.locked = append(a.locked, id.path)
			continue
		case err != nil && id.from == fromDefault:
			continue
		case err != nil:
			return nil, fmt.Errorf("identity file %s (from the %s): %w", id.path, id.from, err)
		}
		if add(s) {
			a.files = append(a.files, id.path)
		}
	}

	if err := a.dialAgent(opt.Agent, add); err != nil {
		return nil, err
	}
	if len(a.keys) == 0 {
		a.close()
		if len(a.locked) > 0 {
			return nil, fmt.Errorf("identity file %s is passphrase-protected and %s; add it to an agent with ssh-add",
				a.locked[0], a.agentState())
		}
		return nil, fmt.Errorf("no key to authenticate with: no identity file (hosts file, ssh config or ~/.ssh/%s) and %s",
			strings.Join(defaultIdentities, ", ~/.ssh/"), a.agentState())
	}
	return a, nil
}

// dialAgent adds the agent's keys. An agent named in Options must work; one
// from $SSH_AUTH_SOCK that does not is noted and passed over, as ssh(1) does.
func (a *auth) dialAgent(sock string, add func(ssh.Signer) bool) error {
	explicit := sock != ""
	switch {
	case sock == "none":
		a.noAgent = "the ssh-agent is turned off"
		return nil
	case sock == "":
		sock = os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			a.noAgent = "no ssh-agent is available (SSH_AUTH_SOCK is not set)"
			return nil
		}
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		if explicit {
			return fmt.Errorf("ssh-agent: %w", err)
		}
		a.noAgent = fmt.Sprintf("the ssh-agent at %s cannot be reached (%s)", sock, dialReason(err, 0))
		return nil
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		if explicit {
			return fmt.Errorf("ssh-agent %s: %w", sock, err)
		}
		a.noAgent = fmt.Sprintf("the ssh-agent at %s fails: %v", sock, err)
		return nil
	}
	a.agent = conn
	for _, s := range signers {
		if add(s) {
			a.nAgent++
		}
	}
	return nil
}

// agentState completes "... is passphrase-protected and ".
func (a *auth) agentState() string {
	switch {
	case a.noAgent != "":
		return a.noAgent
	case a.nAgent == 0:
		return "the ssh-agent holds no keys"
	}
	return "the ssh-agent does not hold it"
}

func (a *auth) signers() ([]ssh.Signer, error) { return a.keys, nil }

// failure explains a refused authentication: what was offered, and a
// locked key that might have been the right one.
func (a *auth) failure(user string) string {
	offered := slices.Clone(a.files)
	switch {
	case a.nAgent == 1:
		offered = append(offered, "1 key from the ssh-agent")
	case a.nAgent > 1:
		offered = append(offered, fmt.Sprintf("%d keys from the ssh-agent", a.nAgent))
	}
	msg := fmt.Sprintf("authentication as %q failed; offered %s", user, strings.Join(offered, ", "))
	if len(a.locked) > 0 && a.agent == nil {
		msg += fmt.Sprintf("; identity file %s is passphrase-protected and %s", a.locked[0], a.agentState())
	}
	return msg
}

func (a *auth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}
