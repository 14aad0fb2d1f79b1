package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Process is a command started with Start, running until it exits, is
// signalled, its stdin closes, or the connection ends.
type Process struct {
	c         *Client
	op        string
	pid       int
	stdin     io.WriteCloser
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	err       error // set before done closes
}

// Start runs cmd with /bin/sh on the host and returns once its pid is known.
// The pid is that of the shell running cmd, so a cmd that ends by exec'ing
// its program ("cd dir && exec prog args") has the program's own pid, as
// per-process statistics need; a plain "prog args" runs as the shell's
// child. Signal reaches both.
//
// stdout and stderr receive the command's output (nil discards it); one
// writer may serve both. Its stdin stays open until CloseStdin or Close, so a
// command that exits at the end of its input ends with the connection, too.
func (c *Client) Start(cmd string, stdout, stderr io.Writer) (*Process, error) {
	op := "start " + short(cmd)
	s, err := c.conn.NewSession()
	if err != nil {
		return nil, c.sessionError(op, err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, c.sessionError(op, err)
	}
	if stdout != nil && stdout == stderr && reflect.TypeOf(stdout).Comparable() {
		// The session copies the two streams in separate goroutines.
		stdout = &lockedWriter{w: stdout}
		stderr = stdout
	}
	pw := &pidWriter{next: stdout, ready: make(chan struct{})}
	s.Stdout, s.Stderr = pw, stderr
	// The shell prints its pid before anything of cmd runs; an exec in cmd
	// keeps that pid.
	if err := s.Start(shell("echo $$; " + cmd)); err != nil {
		s.Close()
		return nil, c.sessionError(op, err)
	}
	p := &Process{c: c, op: op, stdin: stdin, done: make(chan struct{})}
	go func() {
		p.err = c.waitError(op, s.Wait(), nil)
		close(p.done)
	}()
	select {
	case <-pw.ready:
	case <-p.done:
		// Wait returns only after the output was copied, so the writer has
		// settled by now.
	}
	if pw.err != nil || pw.pid == 0 {
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		<-p.done
		if pw.err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.label, op, pw.err)
		}
		if p.err != nil {
			return nil, p.err
		}
		return nil, fmt.Errorf("%s: %s: ended before reporting its pid", c.label, op)
	}
	p.pid = pw.pid
	return p, nil
}

// Pid is the remote process id of the command.
func (p *Process) Pid() int { return p.pid }

// Done is closed when the command has ended or the connection has dropped,
// after all its output was written.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is, once Done is closed, nil for a command that exited 0, an
// *ExitError for a non-zero exit or a signal, or an error wrapping
// ErrConnectionLost. Before that it is nil.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Signal sends sig ("TERM", "KILL", "INT", ...) to the command by running
// kill in a new session. The command's process group gets it when the
// command leads one (sshd starts each session in a new one), so children it
// started end with it. Signalling a process that has ended does nothing.
func (p *Process) Signal(ctx context.Context, sig string) error {
	sig = strings.TrimPrefix(sig, "SIG")
	if sig == "" || strings.Trim(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return fmt.Errorf("%s: signal %q: not a signal name", p.c.label, sig)
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	kill := fmt.Sprintf("kill -s %s -- -%d 2>/dev/null || kill -s %s %d", sig, p.pid, sig, p.pid)
	if err := p.c.run(ctx, fmt.Sprintf("signal %s to pid %d", sig, p.pid), shell(kill), nil, nil); err != nil {
		select {
		case <-p.done:
			return nil // it ended meanwhile
		default:
		}
		return err
	}
	return nil
}

// CloseStdin closes the command's stdin; it then reads end of file.
func (p *Process) CloseStdin() error {
	p.closeOnce.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		if err := p.stdin.Close(); err != nil {
			p.closeErr = p.c.sessionError("close stdin of "+p.op, err)
		}
	})
	return p.closeErr
}

// pidWriter takes the first line of the command's stdout, its pid, and
// passes the rest on.
type pidWriter struct {
	next  io.Writer
	line  []byte
	pid   int
	err   error
	ready chan struct{} // closed once pid or err is set
}

func (w *pidWriter) Write(p []byte) (int, error) {
	if w.pid != 0 {
		return w.forward(p)
	}
	if w.err != nil {
		return 0, w.err
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		w.line = append(w.line, p...)
		if len(w.line) > 32 {
			return 0, w.fail()
		}
		return len(p), nil
	}
	w.line = append(w.line, p[:i]...)
	pid, err := strconv.Atoi(string(w.line))
	if err != nil || pid <= 0 {
		return 0, w.fail()
	}
	w.pid = pid
	close(w.ready)
	n, err := w.forward(p[i+1:])
	return i + 1 + n, err
}

func (w *pidWriter) fail() error {
	w.err = fmt.Errorf("want the pid as the first line of output, got %q", w.line)
	close(w.ready)
	return w.err
}

func (w *pidWriter) forward(p []byte) (int, error) {
	if w.next == nil || len(p) == 0 {
		return len(p), nil
	}
	return w.next.Write(p)
}

// lockedWriter serialises writes from the stdout and stderr copiers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
