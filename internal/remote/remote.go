// Package remote runs commands on the hosts of a hosts file over SSH: it dials
// with verified host keys, ~/.ssh/config, identity files and ssh-agent, runs
// commands, copies files and starts long-running processes it can signal.
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/replbench/replbench/internal/hosts"
)

// Options says how to reach hosts. The zero value uses the user's OpenSSH
// files, as ssh(1) would.
type Options struct {
	// KnownHosts is the known_hosts file host keys are checked against;
	// "" = ~/.ssh/known_hosts. A hosts file may name another (hosts.File.KnownHosts).
	KnownHosts string
	// AcceptNewHostKeys records the key of a host KnownHosts does not know
	// (appending to it; created 0600 in a 0700 directory). A key that differs
	// from a recorded one is refused regardless.
	AcceptNewHostKeys bool
	// SSHConfig is the OpenSSH client config whose HostName, Port, User and
	// IdentityFile apply to a host's address; "" = ~/.ssh/config, "none" = none.
	// A missing file is fine.
	SSHConfig string
	// Timeout bounds the TCP dial and the SSH handshake; 0 = 10s.
	Timeout time.Duration
	// Agent is the ssh-agent socket; "" = $SSH_AUTH_SOCK (no agent when
	// unset), "none" = no agent.
	Agent string
	// Log, if set, is told when AcceptNewHostKeys records a key, so that the
	// user sees which fingerprint was trusted.
	Log io.Writer
}

const defaultTimeout = 10 * time.Second

// ErrConnectionLost is wrapped by the errors of commands and processes whose
// SSH connection ended before they did.
var ErrConnectionLost = errors.New("connection lost")

// Client is an SSH connection to one host. Its methods may be called from
// several goroutines; each command runs in a session of its own.
type Client struct {
	host  hosts.Host
	name  string // host name or IP dialled
	label string // "h1 (10.77.0.1:22)", the prefix of every error
	conn  *ssh.Client
	gone  chan struct{} // closed when the connection has ended
}

// Dial connects to h and authenticates. Errors name the host and the address
// dialled: "h2 (10.77.0.2:22): dial: connection refused".
func Dial(ctx context.Context, h hosts.Host, opt Options) (*Client, error) {
	home, homeErr := os.UserHomeDir()
	if opt.Timeout <= 0 {
		opt.Timeout = defaultTimeout
	}
	name := h.Name
	if name == "" {
		name = h.Address
	}
	t, err := resolve(h, opt, home)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	label := fmt.Sprintf("%s (%s)", name, t.addr)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{label}, args...)...)
	}
	if opt.KnownHosts == "" {
		if homeErr != nil {
			return nil, fail("no known_hosts file: %w", homeErr)
		}
		opt.KnownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}

	keys, err := loadHostKeys(opt.KnownHosts, t.addr, opt.AcceptNewHostKeys)
	if err != nil {
		return nil, fail("%w", err)
	}
	if opt.Log != nil {
		keys.recorded = func(key ssh.PublicKey) {
			fmt.Fprintf(opt.Log, "%s: recorded new host key %s %s in %s\n", label, key.Type(), ssh.FingerprintSHA256(key), opt.KnownHosts)
		}
	}
	auth, err := newAuth(t, opt)
	if err != nil {
		return nil, fail("%w", err)
	}
	defer auth.close()

	d := net.Dialer{Timeout: opt.Timeout}
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail("dial: %w", ctx.Err())
		}
		return nil, fail("dial: %s", dialReason(err, opt.Timeout))
	}
	// The handshake has no context of its own: a deadline bounds it, and
	// closing the connection ends it when ctx does.
	_ = nc.SetDeadline(time.Now().Add(opt.Timeout))
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	cfg := &ssh.ClientConfig{
		User:              t.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeysCallback(auth.signers)},
		HostKeyCallback:   keys.check,
		HostKeyAlgorithms: keys.algorithms,
	}
	sc, chans, reqs, err := ssh.NewClientConn(nc, t.addr, cfg)
	cancelled := !stop()
	if err != nil {
		nc.Close()
		var negotiation *ssh.AlgorithmNegotiationError
		switch {
		case keys.err != nil:
			return nil, fail("%w", keys.err)
		case cancelled:
			return nil, fail("%w", ctx.Err())
		case errors.As(err, &negotiation) && negotiation.What == "host key" && len(keys.known) > 0:
			return nil, fail("%w", keys.mismatch(keys.known[0]))
		case isTimeout(err):
			return nil, fail("ssh handshake: timed out after %v", opt.Timeout)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fail("%s", auth.failure(t.user))
		}
		return nil, fail("ssh handshake: %s", strings.TrimPrefix(err.Error(), "ssh: handshake failed: "))
	}
	if cancelled {
		sc.Close()
		return nil, fail("%w", ctx.Err())
	}
	_ = nc.SetDeadline(time.Time{})

	hostname, _, _ := net.SplitHostPort(t.addr)
	c := &Client{host: h, name: hostname, label: label, conn: ssh.NewClient(sc, chans, reqs), gone: make(chan struct{})}
	go func() {
		_ = c.conn.Wait()
		close(c.gone)
	}()
	return c, nil
}

// Host is the host as given to Dial.
func (c *Client) Host() hosts.Host { return c.host }

// HostName is the name or IP dialled: the host's address, or the HostName
// ~/.ssh/config gives for it. Other hosts can reach this one there, where an
// alias would mean nothing to them.
func (c *Client) HostName() string { return c.name }

// Close ends the connection. Processes still running see their stdin close,
// which is how replbench's remote processes know to exit.
func (c *Client) Close() error {
	err := c.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// lost reports whether the connection has ended.
func (c *Client) lost() bool {
	select {
	case <-c.gone:
		return true
	default:
		return false
	}
}

// dialReason is the useful end of a dial error: "connection refused" rather
// than "dial tcp 10.77.0.2:22: connect: connection refused".
func dialReason(err error, timeout time.Duration) string {
	if isTimeout(err) {
		return fmt.Sprintf("timed out after %v", timeout)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Quote quotes s for a POSIX shell. Words made only of characters no shell
// treats specially are left as they are, so commands stay readable in
// messages.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shell runs a script with /bin/sh whatever the remote user's login shell.
// The login shell execs sh, so the script's $$ is the session's first
// process (the leader of its process group under sshd).
func shell(script string) string { return "exec sh -c " + Quote(script) }

// short is a command as messages show it.
func short(cmd string) string {
	const limit = 80
	if len(cmd) > limit {
		cmd = cmd[:limit] + "..."
	}
	return strconv.Quote(cmd)
}
