//go:build !linux

package procstat

import "errors"

var errNotLinux = errors.New("procstat: only on Linux")

// ReleaseStartupPages is only implemented on Linux.
func ReleaseStartupPages() error { return errNotLinux }

// ResetPeak is only implemented on Linux.
func ResetPeak() error { return errNotLinux }
