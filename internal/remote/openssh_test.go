package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/replbench/replbench/internal/hosts"
)

// The in-process server stands in for sshd everywhere else; this test checks
// the same behaviour against OpenSSH's sshd, run in inetd mode (-i) on
// connections the test accepts, so no port is shared and no readiness is
// polled.

const sshdPath = "/usr/sbin/sshd"

// startSSHD serves connections on a local listener with sshd -i, letting the
// current user in with authorizedKey (an authorized_keys line), and returns
// the host to dial.
func startSSHD(t *testing.T, authorizedKey string) hosts.Host {
	t.Helper()
	skip := func(why string) {
		t.Helper()
		if os.Getenv("REPLBENCH_REQUIRE_SSHD") == "1" {
			t.Fatalf("REPLBENCH_REQUIRE_SSHD=1 but %s", why)
		}
		t.Skip("OpenSSH interoperability is untested: " + why + " (scripts/install-test-deps.sh installs it; set REPLBENCH_REQUIRE_SSHD=1 to fail instead)")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		skip(sshdPath + " is not installed")
	}
	me, err := user.Current()
	if err != nil {
		skip("no current user: " + err.Error())
	}
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	writeKey(t, hostKey, newKey(t), "")
	authorized := filepath.Join(dir, "authorized_keys")
	writeFile(t, authorized, authorizedKey)
	cfg := filepath.Join(dir, "sshd_config")
	writeFile(t, cfg, fmt.Sprintf(`HostKey %s
AuthorizedKeysFile %s
PidFile none
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel ERROR
`, hostKey, authorized))
	if out, err := exec.Command(sshdPath, "-t", "-f", cfg).CombinedOutput(); err != nil {
		skip(fmt.Sprintf("sshd -t refuses the test's config: %s", bytes.TrimSpace(out)))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	logPath := filepath.Join(dir, "sshd.log")
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f, err := conn.(*net.TCPConn).File()
			conn.Close()
			if err != nil {
				continue
			}
			cmd := exec.Command(sshdPath, "-i", "-f", cfg, "-E", logPath)
			cmd.Stdin, cmd.Stdout = f, f
			if err := cmd.Start(); err == nil {
				go func() { _ = cmd.Wait() }()
			}
			f.Close()
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("sshd log:\n%s", log)
		}
	})
	return hosts.Host{Name: "sshd", Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, User: me.Username}
}

func TestOpenSSH(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	key := newKey(t)
	h := startSSHD(t, string(ssh.MarshalAuthorizedKey(publicKey(t, key))))
	h.IdentityFile = writeKey(t, filepath.Join(t.TempDir(), "id"), key, "")
	opt := Options{KnownHosts: filepath.Join(t.TempDir(), "known_hosts"), SSHConfig: "none", Agent: "none", Timeout: 10 * time.Second}
	ctx := context.Background()
	work := t.TempDir()

	if _, err := Dial(ctx, h, opt); err == nil || !strings.Contains(err.Error(), "host key not in "+opt.KnownHosts) {
		t.Fatalf("dial of an unknown host: %v", err)
	}
	opt.AcceptNewHostKeys = true
	c, err := Dial(ctx, h, opt)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	opt.AcceptNewHostKeys = false
	c, err = Dial(ctx, h, opt)
	if err != nil {
		t.Fatalf("dial with the recorded key: %v", err)
	}
	defer c.Close()

	t.Run("Output", func(t *testing.T) {
		out, err := c.Output(ctx, "echo out; echo err >&2; exit 4")
		var exit *ExitError
		if string(out) != "out\n" || !errors.As(err, &exit) || exit.Status != 4 || exit.Stderr != "err\n" {
			t.Errorf("Output = %q, %v", out, err)
		}
	})

	t.Run("Upload and Download", func(t *testing.T) {
		path := filepath.Join(work, "keys", "id")
		if err := c.Upload(ctx, strings.NewReader("private"), path, 0o600); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path, "private", 0o600)
		var b bytes.Buffer
		if err := c.Download(ctx, path, &b); err != nil || b.String() != "private" {
			t.Errorf("Download = %q, %v", b.String(), err)
		}
	})

	t.Run("pid is the command's own", func(t *testing.T) { checkOwnPid(t, c) })

	t.Run("TERM ends the command and its children", func(t *testing.T) {
		childFile := filepath.Join(work, "child.pid")
		p, err := c.Start(fmt.Sprintf("sleep 30 & echo $! >%s; wait", childFile), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The child's pid is written before the shell waits.
		if _, err := c.Output(ctx, fmt.Sprintf("while [ ! -s %s ]; do sleep 0.01; done", childFile)); err != nil {
			t.Fatal(err)
		}
		if err := p.Signal(ctx, "TERM"); err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		var exit *ExitError
		if !errors.As(p.Err(), &exit) || exit.Signal != "TERM" {
			t.Errorf("Err = %v, want killed by TERM", p.Err())
		}
		// Done closes once the output is closed, which the child held.
		child, err := strconv.Atoi(strings.TrimSpace(readFile(t, childFile)))
		if err != nil {
			t.Fatal(err)
		}
		// Its output closes as it exits, a moment before it turns zombie.
		deadline := time.Now().Add(5 * time.Second)
		for alive(child) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // polls a condition, with a deadline
		}
		if alive(child) {
			t.Errorf("child %d of the signalled command still runs 5 s after TERM", child)
		}
	})

	t.Run("Close ends commands reading stdin", func(t *testing.T) {
		c2, err := Dial(ctx, h, opt)
		if err != nil {
			t.Fatal(err)
		}
		ended := filepath.Join(work, "ended")
		p, err := c2.Start(fmt.Sprintf("cat; echo >%s", ended), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c2.Close()
		waitDone(t, p)
		if !errors.Is(p.Err(), ErrConnectionLost) {
			t.Errorf("Err = %v, want connection lost", p.Err())
		}
		// sshd closes the command's stdin as the connection goes.
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := c.Output(wait, fmt.Sprintf("while [ ! -e %s ]; do sleep 0.05; done", ended)); err != nil {
			t.Errorf("the command did not see its stdin end: %v", err)
		}
	})
}

// alive reports whether pid runs (a zombie waiting for its parent does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
