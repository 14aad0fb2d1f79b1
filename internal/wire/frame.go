package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// MaxAuth is the longest authenticator a frame can carry: its length
// travels in a uint16 at the very end of the frame.
const MaxAuth = 1<<16 - 1

// authTrailer is the size of the authenticator's length field.
const authTrailer = 2

// typeNames gives every known type its name in errors and msgdump output.
var typeNames = [256]string{
	TypeHello:     "hello",
	TypeChallenge: "challenge",
	TypeProof:     "proof",
	TypeRequest:   "request",
	TypeReply:     "reply",

	TypePrePrepare: "pre-prepare",
	TypePrepare:    "prepare",
	TypeCommit:     "commit",
	TypeCheckpoint: "checkpoint",
	TypeViewChange: "view-change",
	TypeNewView:    "new-view",
	TypeFetchState: "fetch-state",
	TypeState:      "state",

	TypeHSProposal: "hs-proposal",
	TypeHSVote:     "hs-vote",
	TypeHSNewView:  "hs-new-view",
	TypeHSFetch:    "hs-fetch",
	TypeHSBlocks:   "hs-blocks",
}

// String returns the type's name, or type(0xNN) for a type this version does not know.
func (t Type) String() string {
	if n := typeNames[t]; n != "" {
		return n
	}
	return fmt.Sprintf("type(0x%02x)", uint8(t))
}

// frameLimit applies the documented default to a caller's frame limit.
func frameLimit(limit int) int {
	if limit <= 0 {
		return DefaultMaxFrame
	}
	return limit
}

// noLimit is for frames already in memory: they were read under a limit.
const noLimit = math.MaxInt

// checkLength validates a length field against the format and a limit.
func checkLength(n uint32, limit int) error {
	if n < HeaderSize-4 {
		return errLength(n)
	}
	if int64(n) > int64(limit) {
		return errOversized(n, limit)
	}
	return nil
}

// ParseHeader validates a whole frame — length field equal to the bytes that
// follow it, within limit (DefaultMaxFrame if limit <= 0), known version — and
// returns its type and body. The body aliases frame.
func ParseHeader(frame []byte, limit int) (t Type, body []byte, err error) {
	return parseHeader(frame, frameLimit(limit))
}

func parseHeader(frame []byte, limit int) (t Type, body []byte, err error) {
	if len(frame) < HeaderSize {
		return 0, nil, errTruncated(0, "frame header", HeaderSize, len(frame))
	}
	n := binary.BigEndian.Uint32(frame)
	if err := checkLength(n, limit); err != nil {
		return 0, nil, err
	}
	if frame[4] != Version {
		return 0, nil, errVersion(frame[4])
	}
	if have := len(frame) - 4; uint64(have) < uint64(n) {
		return 0, nil, errTruncated(len(frame), "frame", int(n)+4, len(frame))
	} else if uint64(have) > uint64(n) {
		return 0, nil, errTrailing(int(n)+4, "frame", have-int(n))
	}
	return Type(frame[5]), frame[HeaderSize:], nil
}

// SplitFrame cuts the first frame off a stream buffer. It returns ErrShort,
// unwrapped, when data holds only part of a frame, so a reader appends more
// bytes and calls again; any other error means the stream is corrupt. It
// checks the length field (against limit, DefaultMaxFrame if limit <= 0) and
// the version as soon as they are in data, not the body. frame's capacity
// ends with the frame, so appending to it never overwrites rest. On any
// error frame is nil and rest is data.
func SplitFrame(data []byte, limit int) (frame, rest []byte, err error) {
	if len(data) < 4 {
		return nil, data, ErrShort
	}
	n := binary.BigEndian.Uint32(data)
	if err := checkLength(n, frameLimit(limit)); err != nil {
		return nil, data, err
	}
	if len(data) < 5 {
		return nil, data, ErrShort // the version byte has not arrived yet
	}
	if data[4] != Version {
		return nil, data, errVersion(data[4])
	}
	end := 4 + int(n)
	if len(data) < end {
		return nil, data, ErrShort
	}
	return data[:end:end], data[end:], nil
}

// readChunk bounds how far ReadFrame grows its buffer ahead of the bytes that
// have arrived, so a peer cannot make it allocate up to the limit with one length field.
const readChunk = 64 << 10

// ReadFrame reads one frame from r into buf, growing it when the frame does
// not fit, and returns the frame (aliasing buf or its replacement). It
// returns io.EOF when r ends cleanly between frames and an error wrapping
// io.ErrUnexpectedEOF when r ends inside one. The length field is checked
// against limit (DefaultMaxFrame if limit <= 0) before the body is read.
func ReadFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	limit = frameLimit(limit)
	buf = slices.Grow(buf[:0], HeaderSize)[:HeaderSize]
	// Judge the length and version as soon as they are in, as SplitFrame does,
	// even when the stream ends right after them.
	k, err := io.ReadFull(r, buf)
	n := binary.BigEndian.Uint32(buf)
	if k >= 4 {
		if err := checkLength(n, limit); err != nil {
			return nil, err
		}
	}
	if k >= 5 && buf[4] != Version {
		return nil, errVersion(buf[4])
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FrameError{k, err, fmt.Sprintf("unexpected EOF in frame header (need %d bytes, have %d)", HeaderSize, k)}
		}
		if err == io.EOF {
			return nil, err // clean end between frames
		}
		return nil, fmt.Errorf("read frame header: %w", err)
	}
	end := 4 + int(n)
	for len(buf) < end {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(end-len(buf), max(len(buf), readChunk)))
		}
		next := min(cap(buf), end)
		k, err := io.ReadFull(r, buf[len(buf):next])
		if err != nil {
			have := len(buf) + k
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &FrameError{have, io.ErrUnexpectedEOF, fmt.Sprintf("unexpected EOF in %v frame (need %d bytes, have %d)", Type(buf[5]), end, have)}
			}
			return nil, fmt.Errorf("read %v frame: %w", Type(buf[5]), err)
		}
		buf = buf[:next]
	}
	return buf, nil
}

// Authenticated frames end in [auth][auth length uint16] and start their
// body with the sender's id. The trailer is last so that any authenticated
// frame splits the same way, whatever its type.

// SignedBytes returns the bytes an authenticator covers, given the unsealed
// frame: everything after the length field, from the version byte through
// the last field. It aliases unsealed.
func SignedBytes(unsealed []byte) []byte {
	if len(unsealed) < 4 {
		return nil
	}
	return unsealed[4:]
}

// Seal appends auth and its length to an unsealed frame and updates the
// frame's length field. An empty auth is valid (scheme none). auth may lie in
// frame's spare capacity, right after its end, so a signer can write the
// authenticator in place: Seal(f, sign(f[len(f):], SignedBytes(f))).
// Seal panics if frame is shorter than a header or auth exceeds MaxAuth:
// both are bugs in the caller, never properties of received input.
func Seal(frame, auth []byte) []byte {
	if len(frame) < HeaderSize {
		panic(fmt.Sprintf("wire: Seal of a %d-byte frame", len(frame)))
	}
	if len(auth) > MaxAuth {
		panic(fmt.Sprintf("wire: %d-byte authenticator exceeds MaxAuth", len(auth)))
	}
	frame = append(frame, auth...)
	frame = binary.BigEndian.AppendUint16(frame, uint16(len(auth)))
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return frame
}

// Open splits a sealed authenticated frame into the sender's id, the signed
// bytes and the authenticator, all aliasing frame. It checks the header
// (version, length field equal to the frame's size) and the trailer but not
// the type or the fields in between, and no size limit: frames reach it
// already read under one. Only use it on types that are authenticated.
func Open(frame []byte) (sender uint32, signed, auth []byte, err error) {
	fields, auth, err := openFrame(frame)
	if err != nil {
		return 0, nil, nil, err
	}
	return binary.BigEndian.Uint32(fields), frame[4 : HeaderSize+len(fields)], auth, nil
}

// openFrame checks a sealed authenticated frame's header and trailer and
// returns the fields between header and authenticator (sender first) and the
// authenticator.
func openFrame(frame []byte) (fields, auth []byte, err error) {
	if _, _, err := parseHeader(frame, noLimit); err != nil {
		return nil, nil, err
	}
	return splitAuth(frame)
}

// splitAuth splits a frame whose header is valid at its authenticator trailer.
func splitAuth(frame []byte) (fields, auth []byte, err error) {
	end := len(frame) - authTrailer
	if end < HeaderSize+4 {
		return nil, nil, errTruncated(HeaderSize, "sender and auth length", 4+authTrailer, len(frame)-HeaderSize)
	}
	n := int(binary.BigEndian.Uint16(frame[end:]))
	if avail := end - HeaderSize - 4; n > avail {
		return nil, nil, &FrameError{end, ErrTruncated, fmt.Sprintf("truncated auth (auth length %d, only %d bytes after the sender)", n, avail)}
	}
	return frame[HeaderSize : end-n], frame[end-n : end : end], nil
}

// beginFrame appends a header for type t; endFrame fills in its length once
// the fields are written. Together they let encoders append to any buffer.
func beginFrame(dst []byte, t Type) []byte {
	return append(dst, 0, 0, 0, 0, Version, byte(t))
}

func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// fieldReader decodes the fields of a frame in order. The first failure
// sticks and later reads return zero values, so a decoder reads every field
// and checks err once at the end.
type fieldReader struct {
	buf  []byte // the fields region
	base int    // offset of buf[0] in the frame, for error messages
	pos  int
	err  error
}

func (d *fieldReader) take(n int, what string) []byte {
	if d.err == nil && n <= len(d.buf)-d.pos {
		d.pos += n
		return d.buf[d.pos-n : d.pos : d.pos]
	}
	d.fail(n, what)
	return nil
}

// fail records that n bytes of what were missing, unless an earlier field
// failed. Kept out of line so that take inlines into every field read.
//
//go:noinline
func (d *fieldReader) fail(n int, what string) {
	if d.err == nil {
		d.err = errTruncated(d.base+d.pos, what, n, len(d.buf)-d.pos)
	}
}

func (d *fieldReader) uint8(what string) uint8 {
	if b := d.take(1, what); d.err == nil {
		return b[0]
	}
	return 0
}

func (d *fieldReader) uint32(what string) uint32 {
	if b := d.take(4, what); d.err == nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *fieldReader) uint64(what string) uint64 {
	if b := d.take(8, what); d.err == nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// bytes reads a uint32 length and that many bytes. An empty field decodes as
// an empty, non-nil slice when the frame is valid.
func (d *fieldReader) bytes(what string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf)-d.pos < 4 {
		d.err = errTruncated(d.base+d.pos, what+" length", 4, len(d.buf)-d.pos)
		return nil
	}
	n := binary.BigEndian.Uint32(d.buf[d.pos:])
	d.pos += 4
	if uint64(n) > uint64(len(d.buf)-d.pos) {
		d.err = errTruncated(d.base+d.pos, what, int(min(n, 1<<31-1)), len(d.buf)-d.pos)
		return nil
	}
	return d.take(int(n), what)
}

// finish reports the first failure, or trailing bytes after the last field.
func (d *fieldReader) finish(last string) error {
	if d.err == nil && d.pos != len(d.buf) {
		d.err = errTrailing(d.base+d.pos, last, len(d.buf)-d.pos)
	}
	return d.err
}

// appendBytes appends a uint32 length and b.
func appendBytes(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}
