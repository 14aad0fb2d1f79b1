package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decoders return them wrapped in a *FrameError that says
// where in the frame decoding stopped; test for them with errors.Is.
var (
	// ErrShort means a stream buffer holds only part of a frame: read more
	// bytes and try again. It is never wrapped, so checking it costs nothing.
	ErrShort = errors.New("wire: need more bytes")
	// ErrTruncated means a frame ends before a field it promises.
	ErrTruncated = errors.New("wire: truncated frame")
	// ErrOversized means a length field exceeds the caller's frame limit.
	ErrOversized = errors.New("wire: oversized frame")
	// ErrLength means a length field is impossible (shorter than the header).
	ErrLength = errors.New("wire: invalid frame length")
	// ErrVersion means the frame was written by another wire format version.
	ErrVersion = errors.New("wire: unsupported version")
	// ErrType means the frame is not of the type the decoder expects.
	ErrType = errors.New("wire: unexpected frame type")
	// ErrTrailing means bytes are left over after the last field.
	ErrTrailing = errors.New("wire: trailing bytes")
)

// FrameError is a decoding failure at a byte offset from the start of the
// frame (or of the stream buffer, for SplitFrame), e.g.
// "offset 37: truncated payload (need 100 bytes, have 12)".
type FrameError struct {
	Offset int
	Err    error  // a sentinel above, or io.ErrUnexpectedEOF from ReadFrame
	Msg    string // what went wrong there, in words
}

func (e *FrameError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }
func (e *FrameError) Unwrap() error { return e.Err }

// The constructors below keep fmt off the decoders' success paths; they are
// not inlined so that the small decoding helpers that call them can be.

//go:noinline
func errTruncated(off int, what string, need, have int) error {
	return &FrameError{off, ErrTruncated, fmt.Sprintf("truncated %s (need %d bytes, have %d)", what, need, have)}
}

//go:noinline
func errTrailing(off int, what string, n int) error {
	unit := "bytes"
	if n == 1 {
		unit = "byte"
	}
	return &FrameError{off, ErrTrailing, fmt.Sprintf("%d trailing %s after %s", n, unit, what)}
}

//go:noinline
func errOversized(length uint32, limit int) error {
	return &FrameError{0, ErrOversized, fmt.Sprintf("oversized frame (length %d, limit %d)", length, limit)}
}

//go:noinline
func errLength(length uint32) error {
	return &FrameError{0, ErrLength, fmt.Sprintf("invalid frame length %d (minimum 2: version and type)", length)}
}

//go:noinline
func errVersion(v uint8) error {
	return &FrameError{4, ErrVersion, fmt.Sprintf("unsupported version %d (want %d)", v, Version)}
}

//go:noinline
func errType(got, want Type) error {
	return &FrameError{5, ErrType, fmt.Sprintf("unexpected type %v (want %v)", got, want)}
}
