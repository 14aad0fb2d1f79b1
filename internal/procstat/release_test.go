package procstat

import (
	"os"
	"testing"
)

// TestReleaseAndReset: releasing start-up pages lowers this process's RSS,
// and resetting the peak brings VmHWM down to it.
func TestReleaseAndReset(t *testing.T) {
	before, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := ReleaseStartupPages(); err != nil {
		t.Skipf("this kernel cannot reclaim pages on request (MADV_PAGEOUT, Linux 5.4+): %v", err)
	}
	mid, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if mid.RSS >= before.RSS {
		t.Errorf("RSS %d after releasing start-up pages, not below %d before", mid.RSS, before.RSS)
	}
	if err := ResetPeak(); err != nil {
		t.Fatal(err)
	}
	after, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.HWM >= before.HWM {
		t.Errorf("VmHWM %d after the reset, not below %d before", after.HWM, before.HWM)
	}
}
