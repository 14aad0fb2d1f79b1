// Package procstat reads a process's memory (RSS, peak RSS) and CPU time from
// /proc on Linux, once or as a series sampled at an interval.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"
)

// ClockTicks is the unit of CPU times in /proc/PID/stat (USER_HZ). Linux
// fixes it at 100 on every architecture this project runs on; reading it with
// sysconf(_SC_CLK_TCK) would need cgo for no gain.
const ClockTicks = 100

// Sample is one reading of a process.
type Sample struct {
	Time time.Time     `json:"time"`
	RSS  uint64        `json:"rss"` // resident set size in bytes (VmRSS)
	HWM  uint64        `json:"hwm"` // peak resident set size in bytes (VmHWM)
	CPU  time.Duration `json:"cpu"` // user plus system time since the process started
}

// Read samples process pid. When the process does not exist (or no longer
// does), the error satisfies errors.Is(err, fs.ErrNotExist).
func Read(pid int) (Sample, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: %w", err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Sample{}, fmt.Errorf("procstat: %w", err)
	}
	s := Sample{Time: time.Now()}
	if s.RSS, s.HWM, err = ParseStatus(status); err != nil {
		return Sample{}, fmt.Errorf("procstat: /proc/%d/status: %w", pid, err)
	}
	if s.CPU, err = ParseStat(stat); err != nil {
		return Sample{}, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
	}
	return s, nil
}

// ParseStatus returns VmRSS and VmHWM, in bytes, from the contents of
// /proc/PID/status. Processes without a memory map (kernel threads, zombies)
// have neither, which is an error.
func ParseStatus(data []byte) (rss, hwm uint64, err error) {
	var haveRSS, haveHWM bool
	for line := range bytes.Lines(data) {
		key, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "VmRSS":
			dst, haveRSS = &rss, true
		case "VmHWM":
			dst, haveHWM = &hwm, true
		default:
			continue
		}
		if *dst, err = parseKB(value); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", key, err)
		}
	}
	if !haveRSS || !haveHWM {
		return 0, 0, errors.New("no VmRSS or VmHWM (kernel thread or zombie?)")
	}
	return rss, hwm, nil
}

// parseKB reads a value such as "   2016 kB".
func parseKB(value []byte) (uint64, error) {
	fields := bytes.Fields(value)
	if len(fields) != 2 || string(fields[1]) != "kB" {
		return 0, fmt.Errorf("value %q is not in kB", bytes.TrimSpace(value))
	}
	kb, err := strconv.ParseUint(string(fields[0]), 10, 64)
	if err != nil || kb >= 1<<54 { // kB beyond 2^54 overflow bytes
		return 0, fmt.Errorf("value %q is not a size", fields[0])
	}
	return kb * 1024, nil
}

// ParseStat returns user plus system CPU time (fields 14 and 15) from the
// contents of /proc/PID/stat. The command name (field 2) is in parentheses
// and may itself hold spaces and parentheses, so fields are counted from the
// last closing parenthesis.
func ParseStat(data []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, errors.New("no command name in parentheses")
	}
	// Fields after the name start at field 3 (state).
	fields := bytes.Fields(data[end+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("%d fields after the command name, want at least %d", len(fields), stime+1)
	}
	// Bounded so that the sum in nanoseconds fits a Duration.
	const maxTicks = math.MaxInt64 / uint64(time.Second/ClockTicks) / 2
	var ticks uint64
	for _, i := range []int{utime, stime} {
		n, err := strconv.ParseUint(string(fields[i]), 10, 64)
		if err != nil || n > maxTicks {
			return 0, fmt.Errorf("field %d %q is not a tick count", i+3, fields[i])
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / ClockTicks), nil
}

// Utilization is the CPU time used between two samples of a process over the
// wall time between them: 1 is one core busy all the time.
func Utilization(prev, cur Sample) float64 {
	wall := cur.Time.Sub(prev.Time)
	if wall <= 0 {
		return 0
	}
	return float64(cur.CPU-prev.CPU) / float64(wall)
}
