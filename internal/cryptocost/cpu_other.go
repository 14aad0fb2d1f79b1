//go:build !unix

package cryptocost

// cpuTime falls back to the wall clock where getrusage does not exist.
func cpuTime() float64 { return wallTime() }

// CPUClock says what the measurements time.
const CPUClock = "wall-clock time"
