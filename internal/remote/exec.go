package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ExitError is a remote command that ended with a non-zero exit status or
// was killed by a signal.
type ExitError struct {
	Host   string // "h1 (10.77.0.1:22)"
	Op     string // what was run: `run "make"`, "upload PATH", `start "cmd"`
	Status int    // exit status; -1 when killed by a signal
	Signal string // the signal's name without "SIG" ("TERM"), or ""
	Stderr string // the end of the command's stderr, when it was collected
}

func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: ", e.Host, e.Op)
	if e.Signal != "" {
		fmt.Fprintf(&b, "killed by signal %s", e.Signal)
	} else {
		fmt.Fprintf(&b, "exit status %d", e.Status)
	}
	if tail := lastLines(e.Stderr, 3); tail != "" {
		b.WriteString(": ")
		b.WriteString(tail)
	}
	return b.String()
}

// lastLines joins the last n non-empty lines of s into one line.
func lastLines(s string, n int) string {
	var lines []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "; ")
}

// Output runs cmd (with the remote user's login shell, as ssh(1) does) and
// returns its stdout. A non-zero exit is an *ExitError carrying the end of
// stderr. When ctx ends first the command is sent SIGKILL.
func (c *Client) Output(ctx context.Context, cmd string) ([]byte, error) {
	var stdout bytes.Buffer
	err := c.run(ctx, "run "+short(cmd), cmd, nil, &stdout)
	return stdout.Bytes(), err
}

// Download writes the remote file src to w.
func (c *Client) Download(ctx context.Context, src string, w io.Writer) error {
	return c.run(ctx, "download "+src, "cat -- "+Quote(src), nil, w)
}

// Upload writes r to the remote file dst, creating its parent directories.
// The file appears complete or not at all: the data goes to a temporary file
// beside it, which takes mode before any data is written (a private key is
// never readable by others) and is renamed over dst once it holds every
// byte r gave. When ctx ends, Upload returns at once; a Read of r already
// under way may still complete.
func (c *Client) Upload(ctx context.Context, r io.Reader, dst string, mode os.FileMode) error {
	op := "upload " + dst
	dir, base := path.Split(dst)
	if base == "" || base == "." || base == ".." {
		return fmt.Errorf("%s: %s: not a file name", c.label, op)
	}
	if dir == "" {
		dir = "."
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := path.Join(dir, "."+base+".tmp-"+hex.EncodeToString(suffix[:]))

	// The temporary file is created empty and private (noclobber refuses
	// one that exists), held open on fd 3 so that a mode without write
	// permission still lets the data in, and given its mode before the
	// first byte arrives.
	write := fmt.Sprintf("set -e; mkdir -p -- %s; umask 077; set -C; : >%s; set +C; exec 3>>%s; chmod %04o -- %s; exec cat >&3",
		Quote(dir), Quote(tmp), Quote(tmp), mode.Perm(), Quote(tmp))
	n := &countingReader{r: r}
	err := c.run(ctx, op, shell(write), n, nil)
	if err == nil {
		// Only now is the size known; the file must hold every byte sent
		// before it takes dst's place.
		commit := fmt.Sprintf(`set -e; n=$(wc -c <%s | tr -d ' '); if [ "$n" != %d ]; then echo "wrote $n of %d bytes" >&2; exit 1; fi; mv -f -- %s %s`,
			Quote(tmp), n.n, n.n, Quote(tmp), Quote(dst))
		if err = c.run(ctx, op, shell(commit), nil, nil); err == nil {
			return nil
		}
	}
	if !c.lost() {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = c.run(cleanup, op, "rm -f -- "+Quote(tmp), nil, nil)
		cancel()
	}
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// run runs cmd in a new session, collecting the end of stderr for errors.
func (c *Client) run(ctx context.Context, op, cmd string, stdin io.Reader, stdout io.Writer) error {
	s, err := c.conn.NewSession()
	if err != nil {
		return c.sessionError(op, err)
	}
	defer s.Close()
	stderr := &tailBuffer{max: 4096}
	// The session's copiers may outlive a cancelled run; the gate keeps
	// them off the caller's reader and writers once run has returned.
	g := &gate{}
	if stdin != nil {
		s.Stdin = gatedReader{g, stdin}
	}
	if stdout != nil {
		s.Stdout = gatedWriter{g, stdout}
	}
	s.Stderr = gatedWriter{g, stderr}
	if err := s.Start(cmd); err != nil {
		return c.sessionError(op, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		return c.waitError(op, err, stderr)
	case <-ctx.Done():
		g.shut()
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		return fmt.Errorf("%s: %s: %w", c.label, op, ctx.Err())
	}
}

// gate cuts the session's copiers off from the caller's streams.
type gate struct {
	mu     sync.Mutex
	closed bool
}

var errCancelled = errors.New("cancelled")

// shut returns once no write is under way and none can start.
func (g *gate) shut() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

type gatedWriter struct {
	g *gate
	w io.Writer
}

func (gw gatedWriter) Write(p []byte) (int, error) {
	gw.g.mu.Lock()
	defer gw.g.mu.Unlock()
	if gw.g.closed {
		return 0, errCancelled
	}
	return gw.w.Write(p)
}

// gatedReader does not hold the gate while reading, since a read may block:
// one under way when the gate shuts may still complete.
type gatedReader struct {
	g *gate
	r io.Reader
}

func (gr gatedReader) Read(p []byte) (int, error) {
	gr.g.mu.Lock()
	closed := gr.g.closed
	gr.g.mu.Unlock()
	if closed {
		return 0, errCancelled
	}
	return gr.r.Read(p)
}

// sessionError explains a session that could not be opened or started.
func (c *Client) sessionError(op string, err error) error {
	if c.lost() || errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %s: %w", c.label, op, ErrConnectionLost)
	}
	return fmt.Errorf("%s: %s: %w", c.label, op, err)
}

// waitError turns the end of a session into nil, an *ExitError or a lost
// connection.
func (c *Client) waitError(op string, err error, stderr *tailBuffer) error {
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		e := &ExitError{Host: c.label, Op: op, Status: exit.ExitStatus(), Signal: exit.Signal()}
		if e.Signal != "" {
			e.Status = -1
		}
		if stderr != nil {
			e.Stderr = stderr.String()
		}
		return e
	case errors.As(err, &missing), errors.Is(err, io.EOF), c.lost():
		// A channel torn down without an exit status: the connection went.
		return fmt.Errorf("%s: %s: %w", c.label, op, ErrConnectionLost)
	}
	return fmt.Errorf("%s: %s: %w", c.label, op, err)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
