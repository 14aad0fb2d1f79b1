package node

import (
	"fmt"
	"time"
)

// DurationFlag is a duration flag (pflag.Value) that keeps the text it was
// given, so that an error quotes what the user wrote ("-1s", "90s"), not a
// value computed from it or written back by time.Duration.String.
type DurationFlag struct {
	D    time.Duration
	Text string // as given; "" when the flag was not set
}

// NewDurationFlag returns a flag with default d.
func NewDurationFlag(d time.Duration) *DurationFlag { return &DurationFlag{D: d} }

// Set parses Go's duration syntax (10s, 500ms, 1m30s).
func (f *DurationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like 10s or 500ms")
	}
	f.D, f.Text = d, s
	return nil
}

// String is the text given, or the default written as a duration; "" for
// an unset flag without a default, so that help shows no "(default 0s)"
// where the default is the spec's value.
func (f *DurationFlag) String() string {
	switch {
	case f.Text != "":
		return f.Text
	case f.D == 0:
		return ""
	}
	return f.D.String()
}

// Type names the value in help text.
func (f *DurationFlag) Type() string { return "duration" }
