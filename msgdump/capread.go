package msgdump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// FormatError is damage in a capture file at a byte offset from its start.
// CaptureReader.Next returns it after moving past the damage, so the caller
// can report it and read on.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// resyncWindow bounds how far apart a record's time may lie from the
// capture's start before a resynchronising reader doubts it is a record.
const resyncWindow = 365 * 24 * time.Hour

// CaptureReader reads a capture file record by record.
type CaptureReader struct {
	Header CaptureHeader
	in     window
	limit  int
}

// NewCaptureReader reads the capture header from r; a damaged header is a
// *FormatError. Records whose frames exceed limit bytes after the length
// field (wire.DefaultMaxFrame if limit <= 0) are treated as damage.
func NewCaptureReader(r io.Reader, limit int) (*CaptureReader, error) {
	if limit <= 0 {
		limit = wire.DefaultMaxFrame
	}
	c := &CaptureReader{in: window{r: r}, limit: limit}
	b, err := c.in.need(captureHeaderSize)
	if err != nil {
		return nil, fmt.Errorf("capture header: %w", err)
	}
	if len(b) < captureHeaderSize {
		return nil, damage(0, "capture header: truncated (need %d bytes, have %d)", captureHeaderSize, len(b))
	}
	if string(b[:len(CaptureMagic)]) != CaptureMagic {
		return nil, damage(0, "capture header: bad magic %q (want %q)", b[:len(CaptureMagic)], CaptureMagic)
	}
	b = b[len(CaptureMagic):]
	if v := binary.BigEndian.Uint16(b); v != CaptureVersion {
		return nil, damage(8, "capture header: format version %d, but this reader knows only version %d", v, CaptureVersion)
	}
	c.Header.WireVersion = b[2]
	c.Header.Self = keys.Principal{Role: keys.Role(b[3]), ID: binary.BigEndian.Uint32(b[4:])}
	c.Header.Start = time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))).UTC()
	n := int(binary.BigEndian.Uint16(b[16:]))
	c.in.skip(captureHeaderSize)
	tool, err := c.in.need(n)
	if err != nil {
		return nil, fmt.Errorf("capture header: %w", err)
	}
	if len(tool) < n {
		return nil, damage(int64(captureHeaderSize), "capture header: truncated tool string (need %d bytes, have %d)", n, len(tool))
	}
	c.Header.Tool = string(tool[:n])
	c.in.skip(n)
	return c, nil
}

// Next returns the next record and its offset in the file. Record.Frame
// aliases the reader's buffer until the next call. At the end of the file
// Next returns io.EOF; at damage, a *FormatError, having skipped to the next
// plausible record (or the end); any other error is the underlying reader's.
func (c *CaptureReader) Next() (Record, int64, error) {
	off := c.in.off
	h, err := c.in.need(recordHeaderSize)
	if err != nil {
		return Record{}, off, err
	}
	if len(h) == 0 {
		return Record{}, off, io.EOF
	}
	if len(h) < recordHeaderSize {
		c.in.skip(len(h))
		return Record{}, off, &FormatError{off, fmt.Sprintf("truncated record header (need %d bytes, have %d)", recordHeaderSize, len(h))}
	}
	r, n, why := c.parseRecordHeader(h)
	if why != "" {
		return Record{}, off, c.resync(off, "bad record: "+why)
	}
	b, err := c.in.need(recordHeaderSize + n)
	if err != nil {
		return Record{}, off, err
	}
	if len(b) < recordHeaderSize+n {
		c.in.skip(len(b))
		return Record{}, off, &FormatError{off, fmt.Sprintf("truncated record (frame of %d bytes, only %d left)", n, len(b)-recordHeaderSize)}
	}
	r.Frame = b[recordHeaderSize : recordHeaderSize+n : recordHeaderSize+n]
	c.in.skip(recordHeaderSize + n)
	return r, off, nil
}

// parseRecordHeader checks a record header; why says what is wrong with it.
func (c *CaptureReader) parseRecordHeader(h []byte) (r Record, n int, why string) {
	r.Time = time.Unix(0, int64(binary.BigEndian.Uint64(h))).UTC()
	r.Dir = Direction(h[8])
	r.Peer = keys.Principal{Role: keys.Role(h[9]), ID: binary.BigEndian.Uint32(h[10:])}
	size := binary.BigEndian.Uint32(h[14:])
	switch {
	case r.Dir != Sent && r.Dir != Received:
		return r, 0, fmt.Sprintf("direction %d (want 1 sent or 2 received)", h[8])
	case r.Peer.Role != keys.RoleReplica && r.Peer.Role != keys.RoleClient:
		return r, 0, fmt.Sprintf("peer role %d (want 1 replica or 2 client)", h[9])
	case uint64(size) > uint64(c.limit)+4:
		return r, 0, fmt.Sprintf("frame length %d exceeds the limit of %d bytes", size, c.limit+4)
	}
	return r, int(size), ""
}

// plausible reports whether b (at least recordHeaderSize+wire.HeaderSize
// bytes) looks like the start of a record: a valid header whose frame length
// agrees with the frame's own length field, a known wire version and a time
// near the capture's start.
// It runs at every byte of a damaged stretch, so it formats no messages.
func (c *CaptureReader) plausible(b []byte) bool {
	dir, role := Direction(b[8]), keys.Role(b[9])
	n := binary.BigEndian.Uint32(b[14:])
	if (dir != Sent && dir != Received) || (role != keys.RoleReplica && role != keys.RoleClient) ||
		n < wire.HeaderSize || uint64(n) > uint64(c.limit)+4 {
		return false
	}
	f := b[recordHeaderSize:]
	if binary.BigEndian.Uint32(f) != n-4 || f[4] != wire.Version {
		return false
	}
	d := time.Unix(0, int64(binary.BigEndian.Uint64(b))).Sub(c.Header.Start)
	return d > -resyncWindow && d < resyncWindow
}

// resync skips from the damaged record at off to the next plausible one and
// returns the damage as a *FormatError saying how far it skipped.
func (c *CaptureReader) resync(off int64, what string) error {
	const probe = recordHeaderSize + wire.HeaderSize
	c.in.skip(1)
	for {
		b, err := c.in.need(probe)
		if err != nil {
			return err
		}
		if len(b) < probe {
			c.in.skip(len(b))
			return &FormatError{off, fmt.Sprintf("%s; no record after it (skipped %d bytes to the end)", what, c.in.off-off)}
		}
		if c.plausible(b) {
			return &FormatError{off, fmt.Sprintf("%s; skipped %d bytes to the next record at offset %d", what, c.in.off-off, c.in.off)}
		}
		c.in.skip(1)
	}
}

// window is a forward-only view of a reader: need(n) returns at least n
// unread bytes unless the input ends first, skip consumes them. It reads
// no more than it is asked for beyond one chunk, so a large length field in
// damaged input costs memory only when the bytes are really there.
type window struct {
	r   io.Reader
	buf []byte // buf[pos:] is unread
	pos int
	off int64 // input offset of buf[pos]
	eof bool
}

const readChunk = 64 << 10

// need returns the unread bytes, at least n of them unless the input ended
// (then fewer, and no error); errors are the reader's, other than EOF.
func (w *window) need(n int) ([]byte, error) {
	for len(w.buf)-w.pos < n && !w.eof {
		if w.pos > 0 {
			k := copy(w.buf, w.buf[w.pos:])
			w.buf, w.pos = w.buf[:k], 0
		}
		if len(w.buf) == cap(w.buf) {
			// Double at most, so that memory follows the bytes that arrive.
			w.buf = slices.Grow(w.buf, max(readChunk, min(n-len(w.buf), len(w.buf))))
		}
		k, err := w.r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+k]
		if errors.Is(err, io.EOF) {
			w.eof = true
		} else if err != nil {
			return w.buf[w.pos:], err
		}
	}
	return w.buf[w.pos:], nil
}

func (w *window) skip(n int) {
	w.pos += n
	w.off += int64(n)
}
