package procstat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

const statusFixture = `Name:	replbench
Umask:	0022
State:	S (sleeping)
Pid:	4242
VmPeak:	 1226508 kB
VmSize:	 1226508 kB
VmHWM:	   13140 kB
VmRSS:	   12800 kB
RssAnon:	    4384 kB
VmSwap:	       0 kB
Threads:	7
`

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		rss, hwm uint64
		err      string
	}{
		{"process", statusFixture, 12800 * 1024, 13140 * 1024, ""},
		{"no trailing newline", "VmHWM:\t2 kB\nVmRSS:\t1 kB", 1024, 2048, ""},
		{"kernel thread", "Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n", 0, 0, "no VmRSS"},
		{"no HWM", "VmRSS:\t1 kB\n", 0, 0, "no VmRSS or VmHWM"},
		{"unit", "VmRSS:\t1 MB\nVmHWM:\t1 kB\n", 0, 0, `VmRSS: value "1 MB" is not in kB`},
		{"number", "VmRSS:\tlots kB\nVmHWM:\t1 kB\n", 0, 0, `VmRSS: value "lots" is not a size`},
		{"overflow", "VmRSS:\t18014398509481984 kB\nVmHWM:\t1 kB\n", 0, 0, "is not a size"},
		{"empty", "", 0, 0, "no VmRSS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, hwm, err := ParseStatus([]byte(tt.data))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseStatus: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rss != tt.rss || hwm != tt.hwm {
				t.Errorf("rss %d, hwm %d; want %d, %d", rss, hwm, tt.rss, tt.hwm)
			}
		})
	}
}

// stat builds a /proc/PID/stat line with the given command name and CPU ticks.
func stat(comm string, utime, stime string) string {
	return fmt.Sprintf("4242 (%s) S 1 4242 4242 0 -1 4194560 1021 0 0 0 %s %s 0 0 20 0 7 0 35799 1255944192 3200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		comm, utime, stime)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		data string
		cpu  time.Duration
		err  string
	}{
		{"plain", stat("replbench", "150", "25"), 1750 * time.Millisecond, ""},
		{"spaces and parentheses", stat("my (proc) 1 2 3", "7", "3"), 100 * time.Millisecond, ""},
		{"closing parenthesis last", stat("x)", "0", "1"), 10 * time.Millisecond, ""},
		{"nested", stat("my (proc)", "100", "100"), 2 * time.Second, ""},
		{"no name", "4242 replbench S 1", 0, "no command name"},
		{"truncated", "4242 (replbench) S 1 4242 4242 0 -1 4194560 1021 0 0 0 150", 0, "fields after the command name"},
		{"not a number", stat("replbench", "-1", "0"), 0, `field 14 "-1" is not a tick count`},
		{"overflow", stat("replbench", "99999999999999999", "0"), 0, "is not a tick count"},
		{"empty", "", 0, "no command name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, err := ParseStat([]byte(tt.data))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseStat: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cpu != tt.cpu {
				t.Errorf("cpu %v, want %v", cpu, tt.cpu)
			}
		})
	}
}

// requireProc skips where there is no /proc to read.
func requireProc(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("procstat reads Linux's /proc; this is %s", runtime.GOOS)
	}
}

// cpuSelf is this process's CPU time as getrusage reports it.
func cpuSelf(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestReadSelf(t *testing.T) {
	requireProc(t)
	// Burn CPU until the kernel has counted enough of it, however loaded the
	// machine is; /proc counts in 10 ms ticks.
	const want = 50 * time.Millisecond
	for x := 0; cpuSelf(t) < want; x++ {
		_ = x * x
	}
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS == 0 || s.HWM < s.RSS {
		t.Errorf("RSS %d, HWM %d: want 0 < RSS <= HWM", s.RSS, s.HWM)
	}
	if s.CPU < want-2*time.Second/ClockTicks {
		t.Errorf("CPU %v after using %v, want about as much", s.CPU, want)
	}
	if time.Since(s.Time) > time.Minute {
		t.Errorf("sample time %v is not now", s.Time)
	}
}

// noPID is above any pid_max Linux allows (2^22).
const noPID = 1 << 30

func TestReadMissing(t *testing.T) {
	requireProc(t)
	_, err := Read(noPID)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing pid): %v, want an error satisfying fs.ErrNotExist", err)
	}
}

func TestSampler(t *testing.T) {
	requireProc(t)
	tick := make(chan time.Time)
	s := StartSampler(map[string]int{"self": os.Getpid(), "gone": noPID}, tick)
	for range 3 {
		tick <- time.Now() // unbuffered: each send is a tick the sampler took
	}
	series := s.Stop()
	if again := s.Stop(); len(again["self"].Samples) != len(series["self"].Samples) {
		t.Error("a second Stop changed the series")
	}

	self := series["self"]
	if self.PID != os.Getpid() || self.Err != nil {
		t.Fatalf("self: pid %d, err %v", self.PID, self.Err)
	}
	// One sample at start, one per tick, one at stop.
	if got := len(self.Samples); got != 5 {
		t.Fatalf("%d samples of self, want 5", got)
	}
	for i, smp := range self.Samples {
		if smp.RSS == 0 {
			t.Errorf("sample %d: RSS 0", i)
		}
		if i > 0 && (smp.Time.Before(self.Samples[i-1].Time) || smp.CPU < self.Samples[i-1].CPU) {
			t.Errorf("sample %d goes back in time or CPU: %+v after %+v", i, smp, self.Samples[i-1])
		}
	}

	gone := series["gone"]
	if !errors.Is(gone.Err, fs.ErrNotExist) || len(gone.Samples) != 0 {
		t.Errorf("missing pid: %d samples, err %v; want none and a not-exist error", len(gone.Samples), gone.Err)
	}
}

// A process that exits while sampled keeps its samples and gets an error;
// the other processes go on being sampled.
func TestSamplerExit(t *testing.T) {
	exited := errors.New("exited")
	reads := map[int]int{} // only the sampler's goroutine reads
	read := func(pid int) (Sample, error) {
		reads[pid]++
		if pid == 2 && reads[pid] > 3 {
			return Sample{}, exited
		}
		return Sample{RSS: uint64(pid)}, nil
	}
	tick := make(chan time.Time)
	s := start(map[string]int{"a": 1, "b": 2}, tick, read)
	for range 4 {
		tick <- time.Time{}
	}
	series := s.Stop()
	if a := series["a"]; len(a.Samples) != 6 || a.Err != nil {
		t.Errorf("a: %d samples, err %v; want 6, nil", len(a.Samples), a.Err)
	}
	// Read at start and two ticks, then failed; never read again.
	if b := series["b"]; len(b.Samples) != 3 || !errors.Is(b.Err, exited) || reads[2] != 4 {
		t.Errorf("b: %d samples in %d reads, err %v; want 3 in 4, %v", len(b.Samples), reads[2], b.Err, exited)
	}
}

func TestUtilization(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		prev, cur Sample
		want      float64
	}{
		{Sample{Time: t0}, Sample{Time: t0.Add(time.Second), CPU: 500 * time.Millisecond}, 0.5},
		{Sample{Time: t0, CPU: time.Second}, Sample{Time: t0.Add(time.Second), CPU: 3 * time.Second}, 2},
		{Sample{Time: t0}, Sample{Time: t0, CPU: time.Second}, 0},
	}
	for _, tt := range tests {
		if got := Utilization(tt.prev, tt.cur); got != tt.want {
			t.Errorf("Utilization(%v, %v) = %g, want %g", tt.prev, tt.cur, got, tt.want)
		}
	}
}
