package remote

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

// testServer is an SSH server on 127.0.0.1 that runs exec requests with
// "sh -c" in a home directory of its own, the way sshd does: each command
// leads a new session (so process groups work), gets exit-status or
// exit-signal, and honours signal requests.
type testServer struct {
	t        *testing.T
	addr     string // 127.0.0.1:port
	port     int
	home     string
	hostKeys []ssh.Signer
	ln       net.Listener

	// dropOnExec makes the server close the connection when it receives an
	// exec request, before the command starts.
	dropOnExec atomic.Bool

	mu         sync.Mutex
	authorized [][]byte // public keys allowed to log in, wire format
	users      []string // users that logged in
	conns      map[net.Conn]bool
	procs      map[*os.Process]bool
	wg         sync.WaitGroup
}

// newTestServer starts a server with the given host keys (one ed25519 key
// when none) that accepts the given client keys; Close runs at cleanup.
func newTestServer(t *testing.T, hostKeys []ssh.Signer, authorized ...ssh.PublicKey) *testServer {
	t.Helper()
	if len(hostKeys) == 0 {
		hostKeys = []ssh.Signer{newSigner(t, "ed25519")}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{
		t: t, ln: ln, addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port,
		home: t.TempDir(), hostKeys: hostKeys,
		conns: map[net.Conn]bool{}, procs: map[*os.Process]bool{},
	}
	for _, k := range authorized {
		s.authorize(k)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: s.checkKey}
	for _, k := range hostKeys {
		cfg.AddHostKey(k)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[conn] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(conn, cfg)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) authorize(k ssh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorized = append(s.authorized, k.Marshal())
}

func (s *testServer) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.authorized {
		if bytes.Equal(k, key.Marshal()) {
			s.users = append(s.users, meta.User())
			return nil, nil
		}
	}
	return nil, errors.New("key not authorized")
}

// loggedIn is the users that logged in so far.
func (s *testServer) loggedIn() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.users...)
}

// DropConnections closes every client connection abruptly, as a host that
// goes down would.
func (s *testServer) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops the server and kills what its sessions started.
func (s *testServer) Close() {
	s.ln.Close()
	s.DropConnections()
	s.mu.Lock()
	for p := range s.procs {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(conn, ch, chReqs)
		}()
	}
}

var signalsByName = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT,
	"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

func signalName(sig syscall.Signal) string {
	for name, s := range signalsByName {
		if s == sig {
			return name
		}
	}
	return strconv.Itoa(int(sig))
}

func (s *testServer) session(conn net.Conn, ch ssh.Channel, reqs <-chan *ssh.Request) {
	var proc atomic.Pointer[os.Process]
	for req := range reqs {
		switch req.Type {
		case "exec":
			var payload struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &payload); err != nil || proc.Load() != nil {
				_ = req.Reply(false, nil)
				continue
			}
			if s.dropOnExec.Load() {
				conn.Close()
				return
			}
			p, err := s.exec(ch, payload.Command)
			_ = req.Reply(err == nil, nil)
			if err != nil {
				ch.Close()
				continue
			}
			proc.Store(p)
		case "signal":
			var payload struct{ Signal string }
			err := ssh.Unmarshal(req.Payload, &payload)
			sig, ok := signalsByName[payload.Signal]
			ok = ok && err == nil
			if p := proc.Load(); p != nil && ok {
				_ = syscall.Kill(-p.Pid, sig)
			}
			if req.WantReply {
				_ = req.Reply(ok, nil)
			}
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
}

// exec starts command as sshd would and reports its end on ch.
func (s *testServer) exec(ch ssh.Channel, command string) (*os.Process, error) {
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = s.home
	cmd.Env = []string{"HOME=" + s.home, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	// Our own copy of stdin: exec.Cmd.Wait would wait for a copy from ch
	// that only ends when the client closes stdin.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.procs[cmd.Process] = true
	s.mu.Unlock()
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := cmd.Wait()
		s.mu.Lock()
		delete(s.procs, cmd.Process)
		s.mu.Unlock()
		var exit *exec.ExitError
		switch {
		case err == nil:
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
		case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled():
			sig := exit.Sys().(syscall.WaitStatus).Signal()
			_, _ = ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{Signal: signalName(sig)}))
		case errors.As(err, &exit):
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(exit.ExitCode())}))
		}
		ch.Close()
	}()
	return cmd.Process, nil
}

// newSigner makes a fresh key: "ed25519" or "rsa".
func newSigner(t *testing.T, kind string) ssh.Signer {
	t.Helper()
	var key any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	default:
		t.Fatalf("newSigner: unknown kind %q", kind)
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newKey makes a fresh ed25519 key.
func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publicKey is k's public half in SSH form.
func publicKey(t *testing.T, k ed25519.PrivateKey) ssh.PublicKey {
	t.Helper()
	pub, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// writeKey writes k in OpenSSH format to path (encrypted with passphrase
// when not empty), creating the directory.
func writeKey(t *testing.T, path string, k ed25519.PrivateKey, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(k, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
