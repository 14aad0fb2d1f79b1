package orchestrate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process (a replica or the load generator) with its log
// file. Its stdout is scanned for the "ready" line and copied to the log.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	log     *logFile
	ready   chan string   // receives the text after "ready " once
	exited  chan struct{} // closed when the process has exited
	err     error         // Wait's result; read after exited is closed
	stopped bool          // we asked it to stop
	mu      sync.Mutex
}

// startProc starts bin with args, logging to logPath, with env added to
// this process's environment. The child gets
// SIGKILL if this process dies first (Pdeathsig), so a crashed or killed
// orchestrator leaves nothing behind. Its stderr passes through a pipe
// rather than straight into the file, so that what it says is kept in
// memory too when the file cannot take it (see logFile).
func startProc(name, bin string, args, env []string, logPath string) (*proc, error) {
	logf, err := createLog(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, log: logf, ready: make(chan string, 1), exited: make(chan struct{})}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if !sent && strings.HasPrefix(line, "ready") {
				p.ready <- strings.TrimSpace(strings.TrimPrefix(line, "ready"))
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it to the end first
		p.err = cmd.Wait()
		logf.Close() // a refused write is in lastLines' heading
		close(p.exited)
	}()
	return p, nil
}

// waitReady waits for the ready line, the process's death or the deadline.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return p.deathError()
	case <-t.C:
		return fmt.Errorf("%s not ready after %v; %s", p.name, timeout, p.log.lastLines(10))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs the process group.
// It returns an error when the process did not exit cleanly on SIGTERM.
func (p *proc) stop(grace time.Duration) error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.exited:
		return p.exitError()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.exitError()
	case <-t.C:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed", p.name, grace)
	}
}

// kill ends the process group at once and waits for it.
func (p *proc) kill() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

func (p *proc) exitError() error {
	if p.err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w; %s", p.name, p.err, p.log.lastLines(10))
}

// deathError describes an exit nobody asked for, with the log's tail.
func (p *proc) deathError() error {
	why := "exited"
	if p.err != nil {
		why = p.err.Error()
	}
	return &DiedError{Name: p.name, Pid: p.cmd.Process.Pid, Why: why, Log: p.logPath, Tail: p.log.lastLines(10)}
}

// DiedError reports a child process that died while it was still needed.
type DiedError struct {
	Name, Why, Log string
	Tail           string // the log's last lines, headed by its path
	Pid            int
}

func (e *DiedError) Error() string {
	return fmt.Sprintf("%s (pid %d) died: %s; %s", e.Name, e.Pid, e.Why, e.Tail)
}

// firstExit returns a channel that yields the first of procs to exit.
func firstExit(procs []*proc) <-chan *proc {
	ch := make(chan *proc, len(procs))
	for _, p := range procs {
		go func(p *proc) {
			<-p.exited
			ch <- p
		}(p)
	}
	return ch
}

var errInterrupted = errors.New("interrupted")
