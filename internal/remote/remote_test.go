package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/replbench/replbench/internal/hosts"
)

// fixture is a server that knows one client key, a known_hosts file that
// knows the server, and options that use nothing of the user's own ~/.ssh.
type fixture struct {
	srv   *testServer
	key   ed25519.PrivateKey // authorised on srv
	keyAt string             // key's identity file
	known string             // known_hosts with srv's key
	host  hosts.Host
	opt   Options
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", "")
	f := &fixture{key: newKey(t)}
	f.keyAt = writeKey(t, filepath.Join(t.TempDir(), "id_test"), f.key, "")
	f.srv = newTestServer(t, nil, publicKey(t, f.key))
	f.known = filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, f.known, knownLine(f.srv.addr, f.srv.hostKeys[0].PublicKey()))
	f.host = hosts.Host{Name: "h1", Address: "127.0.0.1", Port: f.srv.port, User: "tester", IdentityFile: f.keyAt}
	f.opt = Options{KnownHosts: f.known, SSHConfig: "none", Agent: "none", Timeout: 5 * time.Second}
	return f
}

func (f *fixture) dial(t *testing.T) *Client {
	t.Helper()
	c, err := Dial(context.Background(), f.host, f.opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func knownLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func TestHostKeys(t *testing.T) {
	other := newSigner(t, "ed25519").PublicKey()
	tests := []struct {
		name       string
		serverKeys []string // key kinds the server has; one ed25519 when empty
		// known returns known_hosts' content and the error wanted (with
		// KNOWN for the file's path), "" for success.
		known func(addr string, keys []ssh.PublicKey) (string, string)
		// accept runs the case with AcceptNewHostKeys too; a refusal must
		// stand either way.
		accept bool
	}{
		{name: "[host]:port entry", known: func(addr string, keys []ssh.PublicKey) (string, string) {
			return knownLine(addr, keys[0]), ""
		}},
		{name: "hashed entry", known: func(addr string, keys []ssh.PublicKey) (string, string) {
			return knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(addr))}, keys[0]) + "\n", ""
		}},
		{name: "several host keys, the RSA one recorded", serverKeys: []string{"ed25519", "rsa"},
			known: func(addr string, keys []ssh.PublicKey) (string, string) {
				return "# only the RSA key\n" + knownLine(addr, keys[1]), ""
			}},
		{name: "several host keys, the ed25519 one recorded", serverKeys: []string{"rsa", "ed25519"},
			known: func(addr string, keys []ssh.PublicKey) (string, string) {
				return knownLine(addr, keys[1]), ""
			}},
		{name: "unknown host", known: func(addr string, keys []ssh.PublicKey) (string, string) {
			return knownLine("127.0.0.1:1", other), fmt.Sprintf(
				"h1 (%s): host key not in KNOWN (ssh-ed25519 %s); verify it and rerun with --accept-new-host-keys to record it",
				addr, ssh.FingerprintSHA256(keys[0]))
		}},
		{name: "entry without a port is for port 22", known: func(addr string, keys []ssh.PublicKey) (string, string) {
			return "127.0.0.1 " + string(ssh.MarshalAuthorizedKey(keys[0])), fmt.Sprintf(
				"h1 (%s): host key not in KNOWN (ssh-ed25519 %s); verify it and rerun with --accept-new-host-keys to record it",
				addr, ssh.FingerprintSHA256(keys[0]))
		}},
		{name: "different key", accept: true, known: func(addr string, keys []ssh.PublicKey) (string, string) {
			return "# recorded before\n" + knownLine(addr, other), fmt.Sprintf(
				"h1 (%s): host key mismatch: KNOWN:2 has a different key (possible man-in-the-middle); if the host was reinstalled, remove that line", addr)
		}},
		{name: "recorded key of a type the host lacks", accept: true, known: func(addr string, keys []ssh.PublicKey) (string, string) {
			rsaKey := newSigner(t, "rsa").PublicKey()
			return knownLine(addr, rsaKey), fmt.Sprintf(
				"h1 (%s): host key mismatch: KNOWN:1 has a different key (possible man-in-the-middle); if the host was reinstalled, remove that line", addr)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var signers []ssh.Signer
			var keys []ssh.PublicKey
			for _, kind := range tt.serverKeys {
				s := newSigner(t, kind)
				signers = append(signers, s)
				keys = append(keys, s.PublicKey())
			}
			if len(signers) > 0 {
				f.srv = newTestServer(t, signers, publicKey(t, f.key))
				f.host.Port = f.srv.port
			} else {
				keys = []ssh.PublicKey{f.srv.hostKeys[0].PublicKey()}
			}
			content, wantErr := tt.known(f.srv.addr, keys)
			writeFile(t, f.known, content)
			wantErr = strings.ReplaceAll(wantErr, "KNOWN", f.known)

			for _, accept := range []bool{false, tt.accept} {
				f.opt.AcceptNewHostKeys = accept
				c, err := Dial(context.Background(), f.host, f.opt)
				switch {
				case wantErr == "" && err != nil:
					t.Fatalf("accept=%v: %v", accept, err)
				case wantErr == "":
					c.Close()
				case err == nil:
					c.Close()
					t.Fatalf("accept=%v: dial succeeded, want %q", accept, wantErr)
				case err.Error() != wantErr:
					t.Fatalf("accept=%v: error\n got %q\nwant %q", accept, err, wantErr)
				}
				if got := readFile(t, f.known); got != content {
					t.Errorf("accept=%v: known_hosts changed to %q", accept, got)
				}
			}
		})
	}
}

func TestAcceptNewHostKeys(t *testing.T) {
	tests := []struct {
		name, before string
	}{
		{name: "new file"},
		{name: "file without a final newline", before: "# kept"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			dir := filepath.Join(t.TempDir(), "new", "dir")
			f.opt.KnownHosts = filepath.Join(dir, "known_hosts")
			if tt.before != "" {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, f.opt.KnownHosts, tt.before)
			}
			f.opt.AcceptNewHostKeys = true
			var log bytes.Buffer
			f.opt.Log = &log
			f.dial(t).Close()
			if fp := ssh.FingerprintSHA256(f.srv.hostKeys[0].PublicKey()); !strings.Contains(log.String(), "recorded new host key") || !strings.Contains(log.String(), fp) {
				t.Errorf("the recorded key was not reported with its fingerprint %s: %q", fp, log.String())
			}

			want := knownLine(f.srv.addr, f.srv.hostKeys[0].PublicKey())
			if tt.before != "" {
				want = tt.before + "\n" + want
			}
			if got := readFile(t, f.opt.KnownHosts); got != want {
				t.Errorf("known_hosts = %q, want %q", got, want)
			}
			for path, mode := range map[string]os.FileMode{f.opt.KnownHosts: 0o600, dir: 0o700} {
				if st, err := os.Stat(path); err != nil || st.Mode().Perm() != mode {
					t.Errorf("%s: mode %v (%v), want %v", path, st.Mode().Perm(), err, mode)
				}
			}

			// Recorded: a later run needs no --accept-new-host-keys.
			f.opt.AcceptNewHostKeys = false
			f.dial(t).Close()
			if got := readFile(t, f.opt.KnownHosts); got != want {
				t.Errorf("known_hosts changed on the second dial: %q", got)
			}
		})
	}
}

// serveAgent runs an ssh-agent holding keys on a unix socket.
func serveAgent(t *testing.T, keys ...ed25519.PrivateKey) string {
	t.Helper()
	keyring := agent.NewKeyring()
	for _, k := range keys {
		if err := keyring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	return sock
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name string
		// setup adjusts the fixture and returns the error wanted, "" for
		// success; ADDR stands for the address dialled.
		setup func(t *testing.T, f *fixture) string
	}{
		{"identity file from the hosts file", func(t *testing.T, f *fixture) string { return "" }},
		{"default ~/.ssh/id_ed25519", func(t *testing.T, f *fixture) string {
			writeKey(t, filepath.Join(os.Getenv("HOME"), ".ssh", "id_ed25519"), f.key, "")
			f.host.IdentityFile = ""
			return ""
		}},
		{"ssh-agent", func(t *testing.T, f *fixture) string {
			f.opt.Agent = serveAgent(t, newKey(t), f.key)
			f.host.IdentityFile = ""
			return ""
		}},
		{"ssh-agent from SSH_AUTH_SOCK", func(t *testing.T, f *fixture) string {
			t.Setenv("SSH_AUTH_SOCK", serveAgent(t, f.key))
			f.opt.Agent = ""
			f.host.IdentityFile = ""
			return ""
		}},
		{"passphrase-protected key held by the agent", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = writeKey(t, filepath.Join(t.TempDir(), "locked"), f.key, "secret")
			f.opt.Agent = serveAgent(t, f.key)
			return ""
		}},
		{"wrong key", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = writeKey(t, filepath.Join(t.TempDir(), "wrong"), newKey(t), "")
			return fmt.Sprintf(`h1 (ADDR): authentication as "tester" failed; offered %s`, f.host.IdentityFile)
		}},
		{"wrong keys in file and agent", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = writeKey(t, filepath.Join(t.TempDir(), "wrong"), newKey(t), "")
			f.opt.Agent = serveAgent(t, newKey(t), newKey(t))
			return fmt.Sprintf(`h1 (ADDR): authentication as "tester" failed; offered %s, 2 keys from the ssh-agent`, f.host.IdentityFile)
		}},
		{"wrong key and a locked one", func(t *testing.T, f *fixture) string {
			locked := writeKey(t, filepath.Join(os.Getenv("HOME"), ".ssh", "id_ed25519"), f.key, "secret")
			f.host.IdentityFile = writeKey(t, filepath.Join(t.TempDir(), "wrong"), newKey(t), "")
			return fmt.Sprintf(`h1 (ADDR): authentication as "tester" failed; offered %s; identity file %s is passphrase-protected `+
				"and the ssh-agent is turned off", f.host.IdentityFile, locked)
		}},
		{"passphrase-protected key without an agent", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = writeKey(t, filepath.Join(t.TempDir(), "locked"), f.key, "secret")
			f.opt.Agent = ""
			return fmt.Sprintf("h1 (ADDR): identity file %s is passphrase-protected and no ssh-agent is available "+
				"(SSH_AUTH_SOCK is not set); add it to an agent with ssh-add", f.host.IdentityFile)
		}},
		{"no key at all", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = ""
			return "h1 (ADDR): no key to authenticate with: no identity file (hosts file, ssh config or " +
				"~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa) and the ssh-agent is turned off"
		}},
		{"missing identity file", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = filepath.Join(t.TempDir(), "missing")
			return fmt.Sprintf("h1 (ADDR): identity file: open %s: no such file or directory", f.host.IdentityFile)
		}},
		{"not a key", func(t *testing.T, f *fixture) string {
			f.host.IdentityFile = filepath.Join(t.TempDir(), "id.pub")
			writeFile(t, f.host.IdentityFile, string(ssh.MarshalAuthorizedKey(publicKey(t, f.key))))
			return fmt.Sprintf("h1 (ADDR): identity file %s (from the hosts file): ssh: no key found", f.host.IdentityFile)
		}},
		{"agent named but not running", func(t *testing.T, f *fixture) string {
			f.opt.Agent = filepath.Join(t.TempDir(), "agent.sock")
			return fmt.Sprintf("h1 (ADDR): ssh-agent: dial unix %s: connect: no such file or directory", f.opt.Agent)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			wantErr := strings.ReplaceAll(tt.setup(t, f), "ADDR", f.srv.addr)
			c, err := Dial(context.Background(), f.host, f.opt)
			if wantErr != "" {
				if err == nil {
					c.Close()
					t.Fatalf("dial succeeded, want %q", wantErr)
				}
				if err.Error() != wantErr {
					t.Fatalf("error\n got %q\nwant %q", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			out, err := c.Output(context.Background(), "echo ok")
			if err != nil || string(out) != "ok\n" {
				t.Fatalf("Output = %q, %v", out, err)
			}
			if got := f.srv.loggedIn(); len(got) != 1 || got[0] != "tester" {
				t.Errorf("logged in as %q, want tester once", got)
			}
		})
	}
}

func TestSSHConfig(t *testing.T) {
	f := newFixture(t)
	home := os.Getenv("HOME")
	writeKey(t, filepath.Join(home, "keys", "id_alias"), f.key, "")
	closed := closedPort(t)
	f.opt.SSHConfig = filepath.Join(t.TempDir(), "config")
	writeFile(t, f.opt.SSHConfig, fmt.Sprintf(`Host bench-alias
  HostName 127.0.0.1
  Port %d
  User alice
  IdentityFile ~/keys/id_alias

Host other-port
  HostName %%h.invalid
  Port %d

Host behind-bastion
  ProxyJump bastion.example

Host *
  User nobody
`, f.srv.port, closed))

	tests := []struct {
		name     string
		host     hosts.Host
		wantUser string
	}{
		{"alias gives HostName, Port, User and IdentityFile", hosts.Host{Name: "h1", Address: "bench-alias"}, "alice"},
		{"hosts file wins over the config", hosts.Host{Name: "h1", Address: "bench-alias", User: "bob", Port: f.srv.port,
			IdentityFile: f.keyAt}, "bob"},
		{"Host * for an address without an entry", hosts.Host{Name: "h1", Address: "127.0.0.1", Port: f.srv.port,
			IdentityFile: f.keyAt}, "nobody"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(f.srv.loggedIn())
			c, err := Dial(context.Background(), tt.host, f.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := f.srv.loggedIn()[n:]; len(got) != 1 || got[0] != tt.wantUser {
				t.Errorf("logged in as %q, want %q", got, tt.wantUser)
			}
			if !reflect.DeepEqual(c.Host(), tt.host) {
				t.Errorf("Host() = %+v, want the host as given", c.Host())
			}
			if c.HostName() != "127.0.0.1" {
				t.Errorf("HostName() = %q, want the address dialled", c.HostName())
			}
		})
	}

	// The Port of an entry applies, and the dialled address shows in errors.
	_, err := Dial(context.Background(), hosts.Host{Name: "h2", Address: "other-port", IdentityFile: f.keyAt}, f.opt)
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("h2 (other-port.invalid:%d): dial: ", closed)) {
		t.Errorf("dial through an entry with HostName %%h.invalid: %v", err)
	}
	// A jump host is refused by name rather than bypassed.
	_, err = Dial(context.Background(), hosts.Host{Name: "h3", Address: "behind-bastion", IdentityFile: f.keyAt}, f.opt)
	if err == nil || err.Error() != "h3: ssh config sets ProxyJump bastion.example for behind-bastion, which replbench does not support; give the host's own address and port in the hosts file" {
		t.Errorf("dial through a ProxyJump entry: %v", err)
	}
}

// closedPort is a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestDialErrors(t *testing.T) {
	f := newFixture(t)
	// A listener that accepts and never speaks: the handshake stalls.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	silentPort := silent.Addr().(*net.TCPAddr).Port
	closed := closedPort(t)
	badConfig := filepath.Join(t.TempDir(), "config")
	writeFile(t, badConfig, "Host *\n  Port ssh\n")

	tests := []struct {
		name    string
		port    int
		ctx     time.Duration // a deadline on the context; 0 = none
		timeout time.Duration
		config  string
		want    string
		is      error
	}{
		{name: "connection refused", port: closed, want: fmt.Sprintf("h2 (127.0.0.1:%d): dial: connection refused", closed)},
		{name: "handshake timeout", port: silentPort, timeout: 100 * time.Millisecond,
			want: fmt.Sprintf("h2 (127.0.0.1:%d): ssh handshake: timed out after 100ms", silentPort)},
		{name: "context ends in the handshake", port: silentPort, ctx: 100 * time.Millisecond,
			want: fmt.Sprintf("h2 (127.0.0.1:%d): context deadline exceeded", silentPort), is: context.DeadlineExceeded},
		{name: "bad ssh config", config: badConfig, want: `h2: ssh config: Port "ssh" for 127.0.0.1 is not a port number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}
			opt := f.opt
			if tt.timeout > 0 {
				opt.Timeout = tt.timeout
			}
			if tt.config != "" {
				opt.SSHConfig = tt.config
			}
			h := hosts.Host{Name: "h2", Address: "127.0.0.1", Port: tt.port, IdentityFile: f.keyAt}
			start := time.Now()
			c, err := Dial(ctx, h, opt)
			if err == nil {
				c.Close()
				t.Fatalf("dial succeeded, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestOutput(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	ctx := context.Background()

	out, err := c.Output(ctx, `printf '%s' "$PWD"`)
	if err != nil || string(out) != f.srv.home {
		t.Errorf("Output(pwd) = %q, %v; want the remote home %q", out, err, f.srv.home)
	}

	cmd := "echo out; echo one >&2; echo two >&2; exit 3"
	out, err = c.Output(ctx, cmd)
	if string(out) != "out\n" {
		t.Errorf("stdout = %q, want it even when the command fails", out)
	}
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Status != 3 || exit.Signal != "" || exit.Stderr != "one\ntwo\n" {
		t.Fatalf("error = %#v, want exit status 3 with stderr", err)
	}
	want := fmt.Sprintf(`h1 (%s): run %q: exit status 3: one; two`, f.srv.addr, cmd)
	if err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}

	// A cancelled command is killed rather than waited for.
	ctx2, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Output(ctx2, "sleep 30")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("Output(sleep 30) with a 200ms context: %v after %v", err, time.Since(start))
	}
	// The connection still serves.
	if out, err := c.Output(ctx, "echo again"); err != nil || string(out) != "again\n" {
		t.Errorf("Output after a cancelled one = %q, %v", out, err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk read error") }

func TestUploadDownload(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	ctx := context.Background()
	key := readFile(t, f.keyAt)

	// A private key into directories that do not exist yet, relative to the
	// remote home.
	if err := c.Upload(ctx, strings.NewReader(key), "run/keys/id_ed25519", 0o600); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(f.srv.home, "run", "keys", "id_ed25519")
	checkFile(t, local, key, 0o600)

	var got bytes.Buffer
	if err := c.Download(ctx, "run/keys/id_ed25519", &got); err != nil || got.String() != key {
		t.Errorf("Download = %d bytes, %v; want the uploaded key", got.Len(), err)
	}

	// Replacing a file, with a mode that forbids writing, by absolute path.
	if err := c.Upload(ctx, strings.NewReader("v2"), local, 0o400); err != nil {
		t.Fatal(err)
	}
	checkFile(t, local, "v2", 0o400)

	// A reader that fails leaves the old file as it was.
	err := c.Upload(ctx, io.MultiReader(strings.NewReader("partial"), failingReader{}), local, 0o600)
	if err == nil || !strings.Contains(err.Error(), "disk read error") {
		t.Errorf("Upload from a failing reader: %v", err)
	}
	checkFile(t, local, "v2", 0o400)

	// An empty file is a file too.
	if err := c.Upload(ctx, strings.NewReader(""), "run/empty", 0o644); err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(f.srv.home, "run", "empty"), "", 0o644)

	var exit *ExitError
	err = c.Upload(ctx, strings.NewReader("x"), "run/empty/sub/file", 0o644)
	if !errors.As(err, &exit) || !strings.HasPrefix(err.Error(), fmt.Sprintf("h1 (%s): upload run/empty/sub/file: exit status 1: mkdir: ", f.srv.addr)) {
		t.Errorf("Upload below a file: %v", err)
	}
	err = c.Download(ctx, "run/missing", &got)
	if !errors.As(err, &exit) || exit.Status != 1 || !strings.Contains(exit.Stderr, "No such file") {
		t.Errorf("Download of a missing file: %v", err)
	}

	// No temporary files are left behind.
	for _, dir := range []string{"run", "run/keys"} {
		entries, err := os.ReadDir(filepath.Join(f.srv.home, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("left behind: %s/%s", dir, e.Name())
			}
		}
	}
}

func checkFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
	}
	if got := readFile(t, path); got != content {
		t.Errorf("%s: content %q, want %q", path, got, content)
	}
}

// waitDone waits for p to end; the bound only turns a hang into a failure.
// checkOwnPid checks that Pid is the pid of the command itself, not of a
// shell around it: the command execs a shell that prints its own pid.
func checkOwnPid(t *testing.T, c *Client) {
	t.Helper()
	var out bytes.Buffer
	p, err := c.Start(`cd / && exec sh -c 'echo $$; exec cat'`, &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p)
	if want := fmt.Sprintf("%d\n", p.Pid()); out.String() != want || p.Err() != nil {
		t.Errorf("the command says its pid is %q (%v), Pid() = %d", out.String(), p.Err(), p.Pid())
	}
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("process did not end")
	}
}

func TestStart(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	ctx := context.Background()

	t.Run("pid and TERM", func(t *testing.T) {
		p, err := c.Start("exec sleep 30", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(p.Pid(), 0); err != nil {
			t.Fatalf("pid %d: %v", p.Pid(), err)
		}
		if err := p.Signal(ctx, "TERM"); err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		var exit *ExitError
		if !errors.As(p.Err(), &exit) || exit.Signal != "TERM" || exit.Status != -1 {
			t.Fatalf("Err = %v, want killed by TERM", p.Err())
		}
		want := fmt.Sprintf(`h1 (%s): start "exec sleep 30": killed by signal TERM`, f.srv.addr)
		if p.Err().Error() != want {
			t.Errorf("Err\n got %q\nwant %q", p.Err(), want)
		}
		if err := p.Signal(ctx, "KILL"); err != nil {
			t.Errorf("Signal after the end: %v", err)
		}
	})

	t.Run("pid is the command's own", func(t *testing.T) { checkOwnPid(t, c) })

	t.Run("TERM reaches the children", func(t *testing.T) {
		// The sleeps hold the output open: Done closes only if they end too.
		p, err := c.Start("sleep 30 & sleep 31", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Signal(ctx, "SIGTERM"); err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
	})

	t.Run("output and exit status", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		p, err := c.Start("echo out; echo err >&2; exit 3", &stdout, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		var exit *ExitError
		if !errors.As(p.Err(), &exit) || exit.Status != 3 {
			t.Errorf("Err = %v, want exit status 3", p.Err())
		}
		if stdout.String() != "out\n" || stderr.String() != "err\n" {
			t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
		}
	})

	t.Run("one writer for both streams", func(t *testing.T) {
		var out bytes.Buffer
		p, err := c.Start("for i in 1 2 3 4 5 6 7 8; do echo o$i; echo e$i >&2; done", &out, &out)
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		if p.Err() != nil || strings.Count(out.String(), "\n") != 16 {
			t.Errorf("Err %v, output %q", p.Err(), out.String())
		}
	})

	t.Run("CloseStdin ends a reader of stdin", func(t *testing.T) {
		var out bytes.Buffer
		p, err := c.Start("cat; echo eof", &out, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Running until its input ends.
		if _, err := c.Output(ctx, fmt.Sprintf("kill -0 %d", p.Pid())); err != nil {
			t.Fatalf("process gone before CloseStdin: %v", err)
		}
		if err := p.CloseStdin(); err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		if p.Err() != nil || out.String() != "eof\n" {
			t.Errorf("Err %v, output %q", p.Err(), out.String())
		}
		if err := p.CloseStdin(); err != nil {
			t.Errorf("second CloseStdin: %v", err)
		}
	})

	t.Run("missing command", func(t *testing.T) {
		var stderr bytes.Buffer
		p, err := c.Start("no-such-command-replbench", nil, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		var exit *ExitError
		if !errors.As(p.Err(), &exit) || exit.Status != 127 || !strings.Contains(stderr.String(), "not found") {
			t.Errorf("Err %v, stderr %q; want exit status 127", p.Err(), stderr.String())
		}
	})

	t.Run("bad signal name", func(t *testing.T) {
		p, err := c.Start("cat", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.CloseStdin()
		if err := p.Signal(ctx, "TERM; rm -rf x"); err == nil || !strings.Contains(err.Error(), "not a signal name") {
			t.Errorf("Signal with a bad name: %v", err)
		}
	})
}

func TestConnectionLost(t *testing.T) {
	f := newFixture(t)

	t.Run("after Start", func(t *testing.T) {
		c := f.dial(t)
		p, err := c.Start("cat", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.srv.DropConnections()
		waitDone(t, p)
		if !errors.Is(p.Err(), ErrConnectionLost) || !strings.HasSuffix(p.Err().Error(), `start "cat": connection lost`) {
			t.Errorf("Err = %v, want connection lost", p.Err())
		}
		if _, err := c.Output(context.Background(), "true"); !errors.Is(err, ErrConnectionLost) {
			t.Errorf("Output on the dropped connection: %v", err)
		}
	})

	t.Run("during Start", func(t *testing.T) {
		c := f.dial(t)
		f.srv.dropOnExec.Store(true)
		defer f.srv.dropOnExec.Store(false)
		p, err := c.Start("cat", nil, nil)
		if err == nil {
			t.Fatalf("Start succeeded with pid %d on a dropped connection", p.Pid())
		}
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("Start: %v, want connection lost", err)
		}
	})

	t.Run("Close", func(t *testing.T) {
		c := f.dial(t)
		p, err := c.Start("cat", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		waitDone(t, p)
		if !errors.Is(p.Err(), ErrConnectionLost) {
			t.Errorf("Err = %v, want connection lost", p.Err())
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"plain/path-1.2_x", "plain/path-1.2_x"},
		{"with space", "'with space'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a=b", "'a=b'"},
		{"~/x", "'~/x'"},
		{"*", "'*'"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	// Whatever the string, the shell gives it back unchanged.
	for _, s := range []string{"", "it's", `"\$x'y'\n`, "a\nb", "tab\there", "ü €", "'''", "-n", "`id`", "$(id)"} {
		out, err := exec.Command("sh", "-c", "printf '%s' "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("sh printf %s = %q, %v; want %q", Quote(s), out, err, s)
		}
	}
}

// TestUploadFiles checks that many files go in one tar stream with their
// modes, and that directories holding them are private.
func TestUploadFiles(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	ctx := context.Background()
	files := []File{
		{Name: "cluster.json", Mode: 0o644, Data: []byte(`{"protocol":"pbft"}`)},
		{Name: "keys/replicas/replica-0.key", Mode: 0o600, Data: []byte("secret")},
		{Name: "keys/replicas/replica-0.pub", Mode: 0o644, Data: []byte("public")},
		{Name: "keys/clients/empty", Mode: 0o644},
	}
	if err := c.UploadFiles(ctx, "job/rep-1", files); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(f.srv.home, "job", "rep-1")
	for _, file := range files {
		checkFile(t, filepath.Join(root, filepath.FromSlash(file.Name)), string(file.Data), file.Mode)
	}
	for _, d := range []string{"keys", "keys/replicas", "keys/clients"} {
		st, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Error(err)
		} else if st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, st.Mode().Perm())
		}
	}
	for _, bad := range []string{"../escape", "/etc/passwd", ""} {
		if err := c.UploadFiles(ctx, "job", []File{{Name: bad, Mode: 0o644}}); err == nil || !strings.Contains(err.Error(), "bad file name") {
			t.Errorf("UploadFiles(%q) = %v, want a bad file name error", bad, err)
		}
	}
}
