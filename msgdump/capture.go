package msgdump

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// A capture file is a header and then one record per frame, all integers
// big-endian like the wire format (docs/msgdump.md has the tables):
//
//	header: magic(8) format version(2) wire version(1) role(1) id(4) start(8) tool length(2) tool(t)
//	record: time(8) direction(1) peer role(1) peer id(4) frame length(4) frame(n)
//
// The record repeats the frame's length so that a reader stays in step even
// when a frame inside is malformed.

// CaptureMagic starts every capture file. The high byte catches transfers
// that strip the eighth bit and the CR LF catches line-ending conversion, as
// in PNG; neither pcap, pcapng nor a wire frame can start with it.
const CaptureMagic = "\x89RBCAP\r\n"

// CaptureVersion is the version of the capture format this package writes.
const CaptureVersion = 1

const (
	captureHeaderSize = len(CaptureMagic) + 2 + 1 + 1 + 4 + 8 + 2 // without the tool string
	recordHeaderSize  = 8 + 1 + 1 + 4 + 4
)

// Direction says whether the capturing principal sent or received a frame.
type Direction uint8

const (
	Sent     Direction = 1
	Received Direction = 2
)

func (d Direction) String() string {
	switch d {
	case Sent:
		return "sent"
	case Received:
		return "received"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// CaptureHeader makes a capture self-describing: who captured, since when,
// with what.
type CaptureHeader struct {
	Self  keys.Principal // the client that sent, or the replica that received
	Start time.Time      // when capturing began; NewCaptureWriter fills in now if zero
	Tool  string         // what wrote the file, e.g. "replbench 0.1.0-dev client"; at most 65535 bytes
	// WireVersion is the wire format version of the frames; NewCaptureWriter
	// always writes wire.Version.
	WireVersion uint8
}

// Record is one captured frame.
type Record struct {
	Time  time.Time
	Dir   Direction      // from the point of view of CaptureHeader.Self
	Peer  keys.Principal // whom Self sent the frame to, or received it from
	Frame []byte         // the whole frame, length field included, as sent or received
}

// CaptureWriter writes a capture file. It is safe for concurrent use: each
// record is written whole, so frames from many goroutines interleave only
// at record boundaries. Writes are buffered; Close (or Flush) writes them out.
//
// Sent and Received return nothing so that they fit a send or receive hook
// directly; the first write error sticks, later frames are dropped, and Err
// and Close report it.
type CaptureWriter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closer io.Closer // closed by Close; nil when the caller owns the writer
	now    func() time.Time
	rec    [recordHeaderSize]byte
	err    error
	frames uint64
}

// NewCaptureWriter writes the capture header for h to w and returns a writer
// for the records. Close does not close w.
func NewCaptureWriter(w io.Writer, h CaptureHeader) (*CaptureWriter, error) {
	if len(h.Tool) > 1<<16-1 {
		return nil, fmt.Errorf("capture header: tool string of %d bytes exceeds 65535", len(h.Tool))
	}
	if h.Self.Role != keys.RoleReplica && h.Self.Role != keys.RoleClient {
		return nil, fmt.Errorf("capture header: %v is neither a replica nor a client", h.Self)
	}
	if h.Start.IsZero() {
		h.Start = time.Now()
	}
	c := &CaptureWriter{w: bufio.NewWriterSize(w, 64<<10), now: time.Now}
	hdr := make([]byte, 0, captureHeaderSize+len(h.Tool))
	hdr = append(hdr, CaptureMagic...)
	hdr = binary.BigEndian.AppendUint16(hdr, CaptureVersion)
	hdr = append(hdr, wire.Version, byte(h.Self.Role))
	hdr = binary.BigEndian.AppendUint32(hdr, h.Self.ID)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(h.Start.UnixNano()))
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(h.Tool)))
	hdr = append(hdr, h.Tool...)
	if _, err := c.w.Write(hdr); err != nil {
		return nil, fmt.Errorf("write capture header: %w", err)
	}
	return c, nil
}

// CaptureExt is the file name extension of capture files.
const CaptureExt = ".rbcap"

// CaptureFile names the capture of principal p in dir: dir/replica-2.rbcap.
func CaptureFile(dir string, p keys.Principal) string {
	return filepath.Join(dir, p.String()+CaptureExt)
}

// CreateCapture creates (or truncates) the file at path, writes the header
// and returns a writer that closes the file on Close.
func CreateCapture(path string, h CaptureHeader) (*CaptureWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create capture: %w", err)
	}
	c, err := NewCaptureWriter(f, h)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create capture %s: %w", path, err)
	}
	c.closer = f
	return c, nil
}

// Sent records a frame the capturing principal sent to peer, stamped now.
func (c *CaptureWriter) Sent(to keys.Principal, frame []byte) {
	c.write(time.Time{}, Sent, to, frame)
}

// Received records a frame the capturing principal received from peer, stamped now.
func (c *CaptureWriter) Received(from keys.Principal, frame []byte) {
	c.write(time.Time{}, Received, from, frame)
}

// Write records r as given (tests and conversions); it returns the sticky error.
func (c *CaptureWriter) Write(r Record) error {
	if r.Time.IsZero() {
		return errors.New("capture record without a time")
	}
	c.write(r.Time, r.Dir, r.Peer, r.Frame)
	return c.Err()
}

// write takes the time under the lock, so that records are in time order.
func (c *CaptureWriter) write(t time.Time, dir Direction, peer keys.Principal, frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if uint64(len(frame)) > 1<<32-1 {
		c.err = fmt.Errorf("capture: frame of %d bytes does not fit a record", len(frame))
		return
	}
	if t.IsZero() {
		t = c.now()
	}
	h := c.rec[:0]
	h = binary.BigEndian.AppendUint64(h, uint64(t.UnixNano()))
	h = append(h, byte(dir), byte(peer.Role))
	h = binary.BigEndian.AppendUint32(h, peer.ID)
	h = binary.BigEndian.AppendUint32(h, uint32(len(frame)))
	if _, err := c.w.Write(h); err != nil {
		c.err = fmt.Errorf("write capture: %w", err)
		return
	}
	if _, err := c.w.Write(frame); err != nil {
		c.err = fmt.Errorf("write capture: %w", err)
		return
	}
	c.frames++
}

// Frames is the number of records taken so far (some may still be buffered).
func (c *CaptureWriter) Frames() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// Err returns the first write error, if any.
func (c *CaptureWriter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Flush writes buffered records out.
func (c *CaptureWriter) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flush()
}

func (c *CaptureWriter) flush() error {
	if c.err == nil {
		if err := c.w.Flush(); err != nil {
			c.err = fmt.Errorf("write capture: %w", err)
		}
	}
	return c.err
}

// Close flushes the records and, for a writer from CreateCapture, closes the
// file. Frames recorded after Close are dropped.
func (c *CaptureWriter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == errClosed {
		return nil
	}
	err := c.flush()
	if c.closer != nil {
		if cerr := c.closer.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close capture: %w", cerr)
		}
		c.closer = nil
	}
	if c.err == nil {
		c.err = errClosed
	}
	return err
}

var errClosed = errors.New("capture closed")
