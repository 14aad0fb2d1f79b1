package orchestrate

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
)

// tailBytes is how much of a process's output logFile keeps in memory.
const tailBytes = 8 << 10

// logFile is a child process's log on this machine. Every write also goes
// into a bounded in-memory tail, and a write the file refuses (a full
// results disk) is remembered instead of returned: the process's last
// words then still reach the user in the error that reports it, and the
// process never blocks on an output pipe nobody drains.
type logFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	tail []byte // the last tailBytes bytes written, or fewer
	err  error  // the first write the file refused
}

func createLog(path string) (*logFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	return &logFile{path: path, f: f}, nil
}

func (l *logFile) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tail = append(l.tail, b...)
	if over := len(l.tail) - tailBytes; over > 0 {
		kept := l.tail[over:]
		if i := bytes.IndexByte(kept, '\n'); i >= 0 {
			kept = kept[i+1:] // start at a whole line
		}
		l.tail = append(l.tail[:0], kept...)
	}
	if l.err == nil {
		if _, err := l.f.Write(b); err != nil {
			l.err = err
		}
	}
	return len(b), nil
}

// Close closes the file; it reports a write the file refused earlier.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.f.Close()
	if l.err != nil {
		return writeError(l.path, l.err)
	}
	return err
}

// lastLines is the last n lines of the log for an error message, from
// memory, headed by where the log is and whether all of it got there.
func (l *logFile) lastLines(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	head := "last lines of " + l.path
	if l.err != nil {
		head += fmt.Sprintf(" (kept in memory: %v)", writeError(l.path, l.err))
	}
	text := strings.TrimRight(string(l.tail), "\n")
	if text == "" {
		return head + ": (empty)"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return head + ":\n  " + strings.Join(lines, "\n  ")
}

// writeError says which file could not be written and why, in one line:
// "write PATH: no space left on device".
func writeError(path string, err error) error {
	return fmt.Errorf("write %s: %w", path, unwrapPath(err))
}
