package msgdump

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/replbench/replbench/internal/wire"
)

// resyncMaxFrame bounds the frames a resynchronising framer believes in: a
// candidate header promising more is taken for noise rather than waited for.
const resyncMaxFrame = 1 << 20

// framer cuts frames off a byte stream that arrives in pieces: a TCP
// direction, or a file of raw frames. After damage or a gap it scans for the
// next plausible frame header and reports, once back in step, how much it
// skipped.
type framer struct {
	limit  int
	buf    []byte // buf[head:] is not yet cut into frames
	head   int
	off    int64 // stream offset of buf[head]
	synced bool  // buf[0] starts a frame

	// lost is the damage being skipped while !synced, reported when the
	// framer is back in step or the stream ends.
	lost     string
	lostAt   int64 // where the damage is
	skipFrom int64 // where skipping began: lostAt, or after a gap
	lostSet  bool

	frame   func(off int64, b []byte)
	problem func(off int64, msg string)
}

func newFramer(limit int, synced bool, frame func(int64, []byte), problem func(int64, string)) *framer {
	if limit <= 0 {
		limit = wire.DefaultMaxFrame
	}
	return &framer{limit: limit, synced: synced, frame: frame, problem: problem}
}

// push adds bytes that follow the previous ones and cuts what it can.
func (f *framer) push(data []byte) {
	// Compact only once half the buffer is consumed: copying what is left
	// on every push would be quadratic in a stream of tiny segments.
	if f.head > 0 && f.head >= len(f.buf)/2 {
		n := copy(f.buf, f.buf[f.head:])
		f.buf, f.head = f.buf[:n], 0
	}
	f.buf = append(f.buf, data...)
	f.cut(false)
}

// rest is what is not yet cut into frames.
func (f *framer) rest() []byte { return f.buf[f.head:] }

// drop forgets what is not yet cut.
func (f *framer) drop() {
	f.off += int64(len(f.buf) - f.head)
	f.buf, f.head = f.buf[:0], 0
}

// gap says n bytes of the stream are missing here (segments the capture
// lost). A frame they cut short is dropped, and the framer resynchronises.
func (f *framer) gap(n int64) {
	rest := f.rest()
	msg := fmt.Sprintf("%d bytes missing from the capture", n)
	if f.synced && len(rest) > 0 {
		msg += fmt.Sprintf("; dropped the %d bytes of the frame they cut short at offset %d", len(rest), f.off)
	}
	f.drop()
	f.lose(f.off, msg)
	f.off += n
	f.skipFrom = f.off
}

// end cuts what is left at the end of the stream and reports a partial frame.
func (f *framer) end() {
	f.cut(true)
	if rest := f.rest(); f.synced && len(rest) > 0 {
		msg := fmt.Sprintf("stream ends inside a frame (%d bytes of it, header incomplete)", len(rest))
		if len(rest) >= 4 {
			msg = fmt.Sprintf("stream ends inside a frame (need %d bytes, have %d)", 4+int64(binary.BigEndian.Uint32(rest)), len(rest))
		}
		f.problem(f.off, msg)
	}
	f.drop()
	if f.lostSet {
		f.finishLost(fmt.Sprintf("no frame after it (skipped %d bytes to the end)", f.off-f.skipFrom))
	}
}

// lose starts skipping: the bytes from off on are not a frame.
func (f *framer) lose(off int64, msg string) {
	if f.lostSet {
		// Still skipping the previous damage: report it first.
		f.finishLost(fmt.Sprintf("skipped %d bytes", off-f.skipFrom))
	}
	f.synced, f.lost, f.lostAt, f.skipFrom, f.lostSet = false, msg, off, off, true
}

func (f *framer) finishLost(how string) {
	f.problem(f.lostAt, f.lost+"; "+how)
	f.lostSet = false
}

func (f *framer) cut(atEnd bool) {
	buf := f.rest()
	i := 0
	for i < len(buf) {
		rest := buf[i:]
		if !f.synced {
			q, found := f.scan(rest, atEnd)
			if q > 0 && !f.lostSet {
				// Joined the stream mid-way (no SYN): the first bytes are
				// the tail of a frame that started before the capture.
				f.lose(f.off+int64(i), "capture starts inside a frame")
			}
			i += q
			if !found {
				break
			}
			f.synced = true
			if f.lostSet {
				at := f.off + int64(i)
				if skipped := at - f.skipFrom; skipped > 0 {
					f.finishLost(fmt.Sprintf("skipped %d bytes to the next frame at offset %d", skipped, at))
				} else {
					f.finishLost(fmt.Sprintf("frames resume at offset %d", at))
				}
			}
			continue
		}
		frame, _, err := wire.SplitFrame(rest, f.limit)
		if err == wire.ErrShort {
			break
		}
		if err != nil {
			at := f.off + int64(i)
			var fe *wire.FrameError
			if errors.As(err, &fe) {
				f.lose(at, fe.Msg)
			} else {
				f.lose(at, err.Error())
			}
			i++
			continue
		}
		f.frame(f.off+int64(i), frame)
		i += len(frame)
	}
	f.off += int64(i)
	f.head += i
}

// scan looks for the first plausible frame in b. It returns its index and
// true, or how far it got and false when it needs more bytes to decide
// about the candidate there (never when atEnd).
func (f *framer) scan(b []byte, atEnd bool) (int, bool) {
	for q := range b {
		switch plausibleFrame(b[q:], f.limit, atEnd) {
		case yes:
			return q, true
		case maybe:
			return q, false
		}
	}
	return len(b), false
}

type verdict uint8

const (
	no verdict = iota
	maybe
	yes
)

// plausibleFrame judges whether b starts with a frame: a header of a known
// type and version within the limits, and, once all its bytes are in, a
// frame that decodes.
func plausibleFrame(b []byte, limit int, atEnd bool) verdict {
	if len(b) < wire.HeaderSize {
		if atEnd {
			return no
		}
		return maybe
	}
	n := binary.BigEndian.Uint32(b)
	if n < 2 || int64(n) > int64(min(limit, resyncMaxFrame)) || b[4] != wire.Version || !knownType[b[5]] {
		return no
	}
	end := 4 + int(n)
	if len(b) < end {
		if atEnd {
			return no
		}
		return maybe
	}
	if decode(b[:end]).err != nil {
		return no
	}
	return yes
}
