package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func FuzzDecode(f *testing.F) {
	valid := [][]byte{
		sealedRequest(&Request{Client: 7, Seq: 42, Flags: FlagReadOnly, Payload: []byte("hello"), Auth: pattern(32, 1)}),
		sealedRequest(&Request{Client: 1, Seq: 1}),
		sealedRequest(&Request{Client: 2, Seq: 3, Payload: pattern(100, 2), Auth: pattern(64, 3)}),
		sealedReply(&Reply{Replica: 3, Client: 7, Seq: 42, View: 1, Result: []byte("ok"), Auth: pattern(16, 4)}),
		sealedReply(&Reply{}),
		header(2, Version, TypeHello),
	}
	for _, v := range valid {
		f.Add(v)
		f.Add(v[:len(v)-1])                                                     // cut short
		f.Add(append(append([]byte(nil), v...), v...))                          // two frames
		f.Add(modify(v, func(b []byte) []byte { b[4] = 2; return b }))          // version
		f.Add(modify(v, func(b []byte) []byte { b[3]--; return b[:len(b)-1] })) // consistent but one byte shorter
	}
	f.Add([]byte{})
	f.Add(header(0, Version, TypeRequest))
	f.Add(header(^uint32(0), Version, TypeRequest))
	f.Add(Seal(setLength(append(header(0, Version, TypeRequest), make([]byte, 15)...)), nil))
	f.Add(modify(valid[0], func(b []byte) []byte { b[19] = 0xff; return b }))
	f.Add(modify(valid[0], func(b []byte) []byte { b[len(b)-1] = 0xff; return b }))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, limit := range []int{0, 64} {
			if _, _, err := ParseHeader(data, limit); err != nil && !isFrameError(err) {
				t.Fatalf("ParseHeader: %v is not a *FrameError", err)
			}
		}

		if sender, signed, auth, err := Open(data); err == nil {
			// Open and Seal are inverses.
			unsealed := append([]byte(nil), data[:4+len(signed)]...)
			binary.BigEndian.PutUint32(unsealed, uint32(len(signed)))
			if !bytes.Equal(SignedBytes(unsealed), signed) || !bytes.Equal(Seal(unsealed, auth), data) {
				t.Fatalf("Open(%x) does not reseal to the same frame", data)
			}
			if sender != binary.BigEndian.Uint32(data[HeaderSize:]) {
				t.Fatalf("sender %d is not the first body field", sender)
			}
		} else if !isFrameError(err) {
			t.Fatalf("Open: %v is not a *FrameError", err)
		}

		var req Request
		if err := DecodeRequest(data, &req); err == nil {
			if again := Seal(AppendRequest(nil, &req), req.Auth); !bytes.Equal(again, data) {
				t.Fatalf("request %x re-encodes as %x", data, again)
			}
		} else if !isFrameError(err) {
			t.Fatalf("DecodeRequest: %v is not a *FrameError", err)
		}

		var rep Reply
		if err := DecodeReply(data, &rep); err == nil {
			if again := Seal(AppendReply(nil, &rep), rep.Auth); !bytes.Equal(again, data) {
				t.Fatalf("reply %x re-encodes as %x", data, again)
			}
		} else if !isFrameError(err) {
			t.Fatalf("DecodeReply: %v is not a *FrameError", err)
		}

		// SplitFrame and ReadFrame agree on the first frame of a stream.
		frame, rest, splitErr := SplitFrame(data, 0)
		read, readErr := ReadFrame(bytes.NewReader(data), nil, 0)
		switch {
		case splitErr == nil:
			if len(frame)+len(rest) != len(data) || !bytes.Equal(frame, data[:len(frame)]) {
				t.Fatal("SplitFrame lost bytes")
			}
			if _, _, err := ParseHeader(frame, 0); err != nil {
				t.Fatalf("SplitFrame returned a frame ParseHeader rejects: %v", err)
			}
			if readErr != nil || !bytes.Equal(read, frame) {
				t.Fatalf("ReadFrame = %x, %v; SplitFrame = %x", read, readErr, frame)
			}
		case splitErr == ErrShort:
			if len(data) == 0 && readErr != io.EOF || len(data) > 0 && !errors.Is(readErr, io.ErrUnexpectedEOF) {
				t.Fatalf("SplitFrame needs more bytes but ReadFrame says %v", readErr)
			}
		default:
			if !errors.Is(readErr, errors.Unwrap(splitErr)) {
				t.Fatalf("SplitFrame: %v; ReadFrame: %v", splitErr, readErr)
			}
		}
	})
}

func isFrameError(err error) bool {
	var fe *FrameError
	return errors.As(err, &fe)
}
