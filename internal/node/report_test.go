package node

import (
	"os"
	"testing"
)

// TestWriteJSONNamesTheFile: a report that cannot be written (a full disk)
// fails with one line naming the file and the cause, which the orchestrator
// shows from the load generator's stderr.
func TestWriteJSONNamesTheFile(t *testing.T) {
	const full = "/dev/full"
	if _, err := os.Stat(full); err != nil {
		t.Skipf("no %s on this system, so writes to a full disk are untested here: %v", full, err)
	}
	err := WriteJSON(full, ClientReport{Completed: 1})
	if err == nil {
		t.Fatalf("writing to %s succeeded", full)
	}
	if got, want := err.Error(), "write /dev/full: no space left on device"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}
