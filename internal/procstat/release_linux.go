package procstat

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// madvPageout asks the kernel to reclaim pages now (Linux 5.4+). For the
// executable's mappings that means clean file pages only: they are
// re-read from the page cache if touched again, so nothing is lost.
const madvPageout = 21

// ReleaseStartupPages hands back the pages of this process's executable
// that are resident but may never be touched again. replbench is one
// binary for every command: start-up runs the package initialisers of the
// plotting, analysis and capture code too (gonum/plot parses its fonts),
// which a replica never uses. What the replica does use faults back in at
// once, so its RSS afterwards measures the replica, not the binary.
func ReleaseStartupPages() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The raw call takes the mapping's addresses as they are: they are
		// not Go memory, so they need no pointer.
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), madvPageout); errno != 0 {
			return fmt.Errorf("release start-up pages: madvise: %w", errno)
		}
	}
	return sc.Err()
}

// ResetPeak resets the kernel's peak-RSS mark (VmHWM) of this process to
// its current RSS, so that peak RSS from now on covers the work that follows.
func ResetPeak() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}
