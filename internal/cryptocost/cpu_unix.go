//go:build unix

package cryptocost

import "syscall"

// cpuTime is the CPU time the process has used, in nanoseconds. Process
// rather than thread time, so that the garbage collection an operation's
// allocations cause (on other threads) is charged to it; and CPU rather
// than wall time, so that other programs on a busy machine do not inflate
// the figures.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return wallTime()
	}
	return float64(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUClock says what the measurements time.
const CPUClock = "process CPU time"
