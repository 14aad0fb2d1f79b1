package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// sealed encodes r and seals it with r.Auth.
func sealedRequest(r *Request) []byte { return Seal(AppendRequest(nil, r), r.Auth) }
func sealedReply(r *Reply) []byte     { return Seal(AppendReply(nil, r), r.Auth) }

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestRequestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    Request
	}{
		{"empty payload no auth", Request{Client: 1, Seq: 1}},
		{"nil payload with auth", Request{Client: 2, Seq: 9, Auth: pattern(64, 1)}},
		{"typical", Request{Client: 7, Seq: 42, Flags: FlagReadOnly, Payload: pattern(100, 3), Auth: pattern(64, 5)}},
		{"all flags and max ids", Request{Client: ^uint32(0), Seq: ^uint64(0), Flags: 0xff, Payload: []byte{0}, Auth: []byte{1}}},
		{"largest auth", Request{Client: 3, Seq: 3, Payload: pattern(10, 0), Auth: pattern(MaxAuth, 9)}},
		{"large payload", Request{Client: 4, Seq: 5, Payload: pattern(1<<20, 2), Auth: pattern(256, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := sealedRequest(&tt.r)
			if want := HeaderSize + 4 + 8 + 8 + 1 + 4 + len(tt.r.Payload) + len(tt.r.Auth) + 2; len(frame) != want {
				t.Fatalf("frame is %d bytes, want %d", len(frame), want)
			}
			typ, _, err := ParseHeader(frame, 0)
			if err != nil || typ != TypeRequest {
				t.Fatalf("ParseHeader = %v, %v; want request, nil", typ, err)
			}
			var got Request
			if err := DecodeRequest(frame, &got); err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			if got.Client != tt.r.Client || got.Seq != tt.r.Seq || got.Flags != tt.r.Flags ||
				!bytes.Equal(got.Payload, tt.r.Payload) || !bytes.Equal(got.Auth, tt.r.Auth) {
				t.Fatalf("decoded %+v, want %+v", got, tt.r)
			}
			if got.Payload == nil || got.Auth == nil {
				t.Error("decoded slices should be empty, not nil, so they point into the frame")
			}
			sender, signed, auth, err := Open(frame)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			unsealed := AppendRequest(nil, &tt.r)
			if sender != tt.r.Client || !bytes.Equal(signed, SignedBytes(unsealed)) || !bytes.Equal(auth, tt.r.Auth) {
				t.Fatalf("Open = %d, %x, %x; want %d, %x, %x", sender, signed, auth, tt.r.Client, SignedBytes(unsealed), tt.r.Auth)
			}
		})
	}
}

func TestReplyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		r    Reply
	}{
		{"empty result no auth", Reply{Replica: 0, Client: 1, Seq: 1}},
		{"typical", Reply{Replica: 3, Client: 7, Seq: 42, View: 2, Flags: FlagReadOnly, Result: pattern(100, 1), Auth: pattern(64, 2)}},
		{"max ids", Reply{Replica: ^uint32(0), Client: ^uint32(0), Seq: ^uint64(0), View: ^uint64(0), Flags: 0xff, Result: []byte{9}, Auth: pattern(MaxAuth, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := sealedReply(&tt.r)
			var got Reply
			if err := DecodeReply(frame, &got); err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			if got.Replica != tt.r.Replica || got.Client != tt.r.Client || got.Seq != tt.r.Seq || got.View != tt.r.View ||
				got.Flags != tt.r.Flags || !bytes.Equal(got.Result, tt.r.Result) || !bytes.Equal(got.Auth, tt.r.Auth) {
				t.Fatalf("decoded %+v, want %+v", got, tt.r)
			}
			sender, signed, auth, err := Open(frame)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			unsealed := AppendReply(nil, &tt.r)
			if sender != tt.r.Replica || !bytes.Equal(signed, SignedBytes(unsealed)) || !bytes.Equal(auth, tt.r.Auth) {
				t.Fatalf("Open = %d, %x, %x; want %d, %x, %x", sender, signed, auth, tt.r.Replica, SignedBytes(unsealed), tt.r.Auth)
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	r := Request{Client: 5, Seq: 6, Payload: []byte("op")}
	prefix := []byte("earlier frames")
	out := AppendRequest(append([]byte(nil), prefix...), &r)
	if !bytes.Equal(out[:len(prefix)], prefix) {
		t.Fatalf("prefix overwritten: %q", out[:len(prefix)])
	}
	if want := AppendRequest(nil, &r); !bytes.Equal(out[len(prefix):], want) {
		t.Fatalf("frame after prefix = %x, want %x", out[len(prefix):], want)
	}
}

func TestSealInPlace(t *testing.T) {
	r := Request{Client: 1, Seq: 2, Payload: []byte("x")}
	buf := make([]byte, 0, 256)
	frame := AppendRequest(buf, &r)
	// A signer that writes its output into the frame's spare capacity.
	auth := append(frame[len(frame):], pattern(64, 8)...)
	sealed := Seal(frame, auth)
	var got Request
	if err := DecodeRequest(sealed, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Auth, pattern(64, 8)) {
		t.Fatalf("auth = %x", got.Auth)
	}
	if &sealed[0] != &buf[:1][0] {
		t.Error("Seal reallocated although the buffer had room")
	}
}

func TestSealPanicsOnCallerBugs(t *testing.T) {
	tests := []struct {
		name        string
		frame, auth []byte
	}{
		{"frame shorter than header", []byte{0, 0, 0, 2, 1}, nil},
		{"auth over MaxAuth", AppendRequest(nil, &Request{}), make([]byte, MaxAuth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Seal did not panic")
				}
			}()
			Seal(tt.frame, tt.auth)
		})
	}
}

func TestMaxFrameSize(t *testing.T) {
	frame := sealedRequest(&Request{Client: 1, Payload: pattern(1000, 0), Auth: pattern(64, 0)})
	n := len(frame) - 4
	if _, _, err := ParseHeader(frame, n); err != nil {
		t.Errorf("frame at the limit: %v", err)
	}
	if _, _, err := ParseHeader(frame, n-1); !errors.Is(err, ErrOversized) {
		t.Errorf("frame one byte over the limit: err = %v, want ErrOversized", err)
	}
	if _, _, err := SplitFrame(frame, n-1); !errors.Is(err, ErrOversized) {
		t.Errorf("SplitFrame one byte over the limit: err = %v, want ErrOversized", err)
	}
	if _, err := ReadFrame(bytes.NewReader(frame), nil, n-1); !errors.Is(err, ErrOversized) {
		t.Errorf("ReadFrame one byte over the limit: err = %v, want ErrOversized", err)
	}
}

// header builds the first bytes of a frame with the given length field.
func header(length uint32, version uint8, t Type) []byte {
	return append(binary.BigEndian.AppendUint32(nil, length), version, byte(t))
}

// modify returns a copy of frame changed by f.
func modify(frame []byte, f func([]byte) []byte) []byte {
	return f(append([]byte(nil), frame...))
}

// setLength patches a frame's length field to match its size.
func setLength(b []byte) []byte {
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func TestDecodeRequestRejects(t *testing.T) {
	good := sealedRequest(&Request{Client: 7, Seq: 42, Payload: []byte("hello"), Auth: pattern(32, 1)})
	// Offsets: client 6, session 10, seq 18, flags 26, payload length 27, payload 31, auth 36, auth length 68.
	tests := []struct {
		name   string
		frame  []byte
		err    error
		offset int
		msg    string
	}{
		{"empty", nil, ErrTruncated, 0, "truncated frame header"},
		{"partial header", good[:5], ErrTruncated, 0, "truncated frame header"},
		{"length zero", header(0, Version, TypeRequest), ErrLength, 0, "invalid frame length 0"},
		{"length one", header(1, Version, TypeRequest), ErrLength, 0, "invalid frame length 1"},
		{"frame cut short", good[:len(good)-1], ErrTruncated, len(good) - 1, "truncated frame"},
		{"bytes after frame", append(append([]byte(nil), good...), 0), ErrTrailing, len(good), "1 trailing byte after frame"},
		{"version 0", modify(good, func(b []byte) []byte { b[4] = 0; return b }), ErrVersion, 4, "unsupported version 0"},
		{"version 1", modify(good, func(b []byte) []byte { b[4] = 1; return b }), ErrVersion, 4, "unsupported version 1 (want 2)"},
		{"version 3", modify(good, func(b []byte) []byte { b[4] = 3; return b }), ErrVersion, 4, "unsupported version 3"},
		{"reply type", modify(good, func(b []byte) []byte { b[5] = byte(TypeReply); return b }), ErrType, 5, "unexpected type reply (want request)"},
		{"unknown type", modify(good, func(b []byte) []byte { b[5] = 0xee; return b }), ErrType, 5, "unexpected type type(0xee)"},
		{"no room for sender", setLength(append(header(0, Version, TypeRequest), 0, 0, 0, 0, 0)), ErrTruncated, 6, "truncated sender and auth length"},
		{"auth length too large", modify(good, func(b []byte) []byte { b[len(b)-1] = 200; return b }), ErrTruncated, 68, "truncated auth (auth length 200"},
		{"auth length too small", modify(good, func(b []byte) []byte { b[len(b)-1] = 31; return b }), ErrTrailing, 36, "1 trailing byte after payload"},
		{"payload length too large", modify(good, func(b []byte) []byte { b[30] = 6; return b }), ErrTruncated, 31, "truncated payload (need 6 bytes, have 5)"},
		{"payload length huge", modify(good, func(b []byte) []byte { b[27] = 0xff; return b }), ErrTruncated, 31, "truncated payload"},
		{"payload length too small", modify(good, func(b []byte) []byte { b[30] = 4; return b }), ErrTrailing, 35, "1 trailing byte after payload"},
		{"no flags", Seal(setLength(append(header(0, Version, TypeRequest), make([]byte, 20)...)), nil), ErrTruncated, 26, "truncated flags (need 1 bytes, have 0)"},
		{"half a payload length", Seal(setLength(append(header(0, Version, TypeRequest), make([]byte, 23)...)), nil), ErrTruncated, 27, "truncated payload length"},
		{"half a seq", Seal(setLength(append(header(0, Version, TypeRequest), make([]byte, 15)...)), nil), ErrTruncated, 18, "truncated seq (need 8 bytes, have 3)"},
		{"half a session", Seal(setLength(append(header(0, Version, TypeRequest), make([]byte, 7)...)), nil), ErrTruncated, 10, "truncated session (need 8 bytes, have 3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			checkFrameError(t, DecodeRequest(tt.frame, &r), tt.err, tt.offset, tt.msg)
		})
	}
}

func TestDecodeReplyRejects(t *testing.T) {
	good := sealedReply(&Reply{Replica: 1, Client: 7, Seq: 42, View: 3, Result: []byte("ok"), Auth: pattern(16, 1)})
	// Offsets: replica 6, client 10, session 14, seq 22, view 30, flags 38, result length 39, result 43, auth 45.
	tests := []struct {
		name   string
		frame  []byte
		err    error
		offset int
		msg    string
	}{
		{"request type", modify(good, func(b []byte) []byte { b[5] = byte(TypeRequest); return b }), ErrType, 5, "unexpected type request (want reply)"},
		{"version", modify(good, func(b []byte) []byte { b[4] = 9; return b }), ErrVersion, 4, "unsupported version 9 (want 2)"},
		{"result length too large", modify(good, func(b []byte) []byte { b[42] = 3; return b }), ErrTruncated, 43, "truncated result (need 3 bytes, have 2)"},
		{"result length too small", modify(good, func(b []byte) []byte { b[42] = 1; return b }), ErrTrailing, 44, "1 trailing byte after result"},
		{"no view", Seal(setLength(append(header(0, Version, TypeReply), make([]byte, 24)...)), nil), ErrTruncated, 30, "truncated view (need 8 bytes, have 0)"},
		{"cut short", good[:48], ErrTruncated, 48, "truncated frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Reply
			checkFrameError(t, DecodeReply(tt.frame, &r), tt.err, tt.offset, tt.msg)
		})
	}
}

func TestOpenRejects(t *testing.T) {
	good := sealedReply(&Reply{Replica: 1, Result: []byte("ok"), Auth: pattern(16, 1)})
	tests := []struct {
		name   string
		frame  []byte
		err    error
		offset int
		msg    string
	}{
		{"empty", nil, ErrTruncated, 0, "truncated frame header"},
		{"header only", header(2, Version, TypeProof), ErrTruncated, 6, "truncated sender and auth length"},
		{"sender without trailer", setLength(append(header(0, Version, TypeProof), 1, 2, 3, 4, 0)), ErrTruncated, 6, "truncated sender and auth length"},
		{"auth longer than frame", modify(good, func(b []byte) []byte { b[len(b)-2] = 1; return b }), ErrTruncated, len(good) - 2, "truncated auth"},
		{"wrong version", modify(good, func(b []byte) []byte { b[4] = 1; return b }), ErrVersion, 4, "unsupported version 1"},
		{"cut short", good[:len(good)-3], ErrTruncated, len(good) - 3, "truncated frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := Open(tt.frame)
			checkFrameError(t, err, tt.err, tt.offset, tt.msg)
		})
	}
	// The smallest authenticated frame: a sender and an empty authenticator.
	minimal := Seal(setLength(append(header(0, Version, TypeProof), 0, 0, 0, 9)), nil)
	if sender, signed, auth, err := Open(minimal); err != nil || sender != 9 || len(signed) != 6 || len(auth) != 0 {
		t.Errorf("Open(minimal) = %d, %x, %x, %v", sender, signed, auth, err)
	}
}

func checkFrameError(t *testing.T, err, want error, offset int, msg string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var fe *FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v is not a *FrameError", err)
	}
	if fe.Offset != offset {
		t.Errorf("offset = %d, want %d (%v)", fe.Offset, offset, err)
	}
	if !strings.Contains(err.Error(), msg) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line containing %q", err, msg)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	tests := []struct {
		name   string
		frame  []byte
		limit  int
		err    error
		offset int
	}{
		{"oversized under the default limit", header(DefaultMaxFrame+1, Version, TypeRequest), 0, ErrOversized, 0},
		{"oversized under a caller limit", header(101, Version, TypeRequest), 100, ErrOversized, 0},
		{"largest length field", header(^uint32(0), Version, TypeRequest), -1, ErrOversized, 0},
		{"length checked before version", header(1, 7, TypeRequest), 0, ErrLength, 0},
		{"bad version", header(2, 7, TypeRequest), 0, ErrVersion, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseHeader(tt.frame, tt.limit)
			checkFrameError(t, err, tt.err, tt.offset, "")
		})
	}
	// A frame with an empty body is valid at this level.
	typ, body, err := ParseHeader(header(2, Version, TypeHello), 0)
	if err != nil || typ != TypeHello || len(body) != 0 {
		t.Errorf("ParseHeader(empty body) = %v, %x, %v", typ, body, err)
	}
}

// stream concatenates frames of several types and sizes.
func stream(t *testing.T) (frames [][]byte, all []byte) {
	t.Helper()
	frames = [][]byte{
		sealedRequest(&Request{Client: 1, Seq: 1, Payload: []byte("a"), Auth: pattern(64, 1)}),
		header(2, Version, TypeHello),
		sealedReply(&Reply{Replica: 2, Client: 1, Seq: 1, Result: pattern(300, 2), Auth: pattern(32, 3)}),
		sealedRequest(&Request{Client: 1, Seq: 2}),
		sealedRequest(&Request{Client: 3, Seq: 9, Payload: pattern(70000, 4), Auth: pattern(10, 5)}),
	}
	for _, f := range frames {
		all = append(all, f...)
	}
	return frames, all
}

// feed plays a stream reader: data arrives in the given chunks and every
// complete frame is cut off as soon as it is there.
func feed(chunks [][]byte) (got [][]byte, err error) {
	var buf []byte
	for _, c := range chunks {
		buf = append(buf, c...)
		for {
			frame, rest, err := SplitFrame(buf, 0)
			if err == ErrShort {
				break
			}
			if err != nil {
				return got, err
			}
			got = append(got, append([]byte(nil), frame...))
			buf = rest
		}
	}
	if len(buf) != 0 {
		return got, io.ErrUnexpectedEOF
	}
	return got, nil
}

func TestSplitFrameAtEverySplitPoint(t *testing.T) {
	frames, all := stream(t)
	check := func(t *testing.T, chunks [][]byte) {
		t.Helper()
		got, err := feed(chunks)
		if err != nil {
			t.Fatalf("feed: %v", err)
		}
		if len(got) != len(frames) {
			t.Fatalf("got %d frames, want %d", len(got), len(frames))
		}
		for i := range frames {
			if !bytes.Equal(got[i], frames[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	}
	for k := 0; k <= len(all); k += 1 + k/64 {
		check(t, [][]byte{all[:k], all[k:]})
	}
	for _, size := range []int{1, 2, 3, 5, 7, 4096} {
		var chunks [][]byte
		for b := all; len(b) > 0; b = b[min(size, len(b)):] {
			chunks = append(chunks, b[:min(size, len(b))])
		}
		check(t, chunks)
	}
}

func TestSplitFrame(t *testing.T) {
	frames, all := stream(t)
	frame, rest, err := SplitFrame(all, 0)
	if err != nil || !bytes.Equal(frame, frames[0]) || len(rest) != len(all)-len(frames[0]) {
		t.Fatalf("SplitFrame = %d bytes, %d rest, %v", len(frame), len(rest), err)
	}
	// Appending to the frame must not overwrite the next one.
	before := append([]byte(nil), rest...)
	_ = append(frame, 0xAA)
	if !bytes.Equal(rest, before) {
		t.Fatal("append to frame overwrote rest")
	}

	tests := []struct {
		name string
		data []byte
		err  error
	}{
		{"nothing", nil, ErrShort},
		{"three bytes", []byte{0, 0, 0}, ErrShort},
		{"length only", []byte{0, 0, 0, 9}, ErrShort},
		{"header without body", header(9, Version, TypeRequest), ErrShort},
		{"oversized known from four bytes", []byte{0xff, 0, 0, 0}, ErrOversized},
		{"bad length known from four bytes", []byte{0, 0, 0, 1}, ErrLength},
		{"bad version known from five bytes", []byte{0, 0, 0, 9, 1}, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, rest, err := SplitFrame(tt.data, 0)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if frame != nil || !bytes.Equal(rest, tt.data) {
				t.Errorf("on error got frame %x, rest %x; want nil, the input", frame, rest)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	frames, all := stream(t)
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			r := wrap(bytes.NewReader(all))
			var buf []byte
			for i, want := range frames {
				frame, err := ReadFrame(r, buf, 0)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(frame, want) {
					t.Fatalf("frame %d differs", i)
				}
				buf = frame
			}
			if _, err := ReadFrame(r, buf, 0); err != io.EOF {
				t.Fatalf("after the last frame: err = %v, want io.EOF", err)
			}
		})
	}
}

func TestReadFrameRejects(t *testing.T) {
	good := sealedRequest(&Request{Client: 1, Payload: []byte("abc"), Auth: pattern(8, 0)})
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
		err  error
	}{
		{"eof in header", bytes.NewReader(good[:3]), io.ErrUnexpectedEOF},
		{"eof in body", bytes.NewReader(good[:len(good)-1]), io.ErrUnexpectedEOF},
		{"eof right after header", bytes.NewReader(good[:HeaderSize]), io.ErrUnexpectedEOF},
		{"oversized", bytes.NewReader(header(DefaultMaxFrame+1, Version, TypeRequest)), ErrOversized},
		{"bad length", bytes.NewReader(header(1, Version, TypeRequest)), ErrLength},
		{"bad version", bytes.NewReader(header(2, 3, TypeRequest)), ErrVersion},
		{"read error in body", io.MultiReader(bytes.NewReader(good[:10]), iotest.ErrReader(boom)), boom},
		{"read error in header", iotest.ErrReader(boom), boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := ReadFrame(tt.r, nil, 0)
			if !errors.Is(err, tt.err) || frame != nil {
				t.Fatalf("ReadFrame = %d bytes, %v; want nil, %v", len(frame), err, tt.err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	frame := sealedRequest(&Request{Client: 1, Payload: pattern(100, 0), Auth: pattern(64, 0)})
	buf := make([]byte, 0, 1024)
	r := bytes.NewReader(frame)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(frame)
		got, err := ReadFrame(r, buf, 0)
		if err != nil || len(got) != len(frame) {
			t.Fatalf("ReadFrame: %d bytes, %v", len(got), err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadFrame into a large enough buffer: %v allocs, want 0", allocs)
	}
}

func TestReadFrameGrowsWithData(t *testing.T) {
	// A peer that announces the largest frame and then stops must not make
	// the reader allocate the whole limit.
	data := append(header(DefaultMaxFrame, Version, TypeRequest), make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(bytes.NewReader(data), nil, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes for 106 bytes of input", grew)
	}
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		t    Type
		want string
	}{
		{TypeHello, "hello"},
		{TypeChallenge, "challenge"},
		{TypeProof, "proof"},
		{TypeRequest, "request"},
		{TypeReply, "reply"},
		{0, "type(0x00)"},
		{0xab, "type(0xab)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Type(%#x).String() = %q, want %q", uint8(tt.t), got, tt.want)
		}
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	req := sealedRequest(&Request{Client: 1, Payload: pattern(100, 0), Auth: pattern(64, 0)})
	rep := sealedReply(&Reply{Replica: 1, Result: pattern(100, 0), Auth: pattern(64, 0)})
	var r Request
	var p Reply
	allocs := testing.AllocsPerRun(100, func() {
		if DecodeRequest(req, &r) != nil || DecodeReply(rep, &p) != nil {
			t.Fatal("decode failed")
		}
		if _, _, _, err := Open(req); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per decode, want 0", allocs)
	}
}

// TestOverheads: the overhead constants are what the encoders write around
// an empty payload or result without an authenticator, and TypeOf reads
// the type of a frame and of nothing shorter than a header.
func TestOverheads(t *testing.T) {
	req := sealedRequest(&Request{Client: 1, Session: 2, Seq: 3})
	rep := sealedReply(&Reply{Replica: 1, Client: 2, Session: 3, Seq: 4, View: 5})
	if len(req) != RequestOverhead || len(rep) != ReplyOverhead {
		t.Errorf("request %d bytes (RequestOverhead %d), reply %d bytes (ReplyOverhead %d)", len(req), RequestOverhead, len(rep), ReplyOverhead)
	}
	if TypeOf(req) != TypeRequest || TypeOf(rep) != TypeReply || TypeOf(req[:HeaderSize-1]) != 0 {
		t.Errorf("TypeOf: %v, %v, %v", TypeOf(req), TypeOf(rep), TypeOf(req[:HeaderSize-1]))
	}
}
