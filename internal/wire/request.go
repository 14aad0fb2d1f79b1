package wire

// Request and reply frames. Offsets are from the start of the frame:
//
//	request: header(6) client(4) session(8) seq(8) flags(1) payload(4+n) auth(a) auth length(2)
//	reply:   header(6) replica(4) client(4) session(8) seq(8) view(8) flags(1) result(4+n) auth(a) auth length(2)

import "encoding/binary"

// AppendRequest appends r as an unsealed frame (no authenticator; the length
// field covers what is written) and returns the extended buffer. r.Auth is
// ignored: authenticate SignedBytes of the new frame and Seal it.
func AppendRequest(dst []byte, r *Request) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeRequest)
	dst = binary.BigEndian.AppendUint32(dst, r.Client)
	dst = binary.BigEndian.AppendUint64(dst, r.Session)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = append(dst, r.Flags)
	dst = appendBytes(dst, r.Payload)
	return endFrame(dst, start)
}

// AppendReply appends r as an unsealed frame, like AppendRequest.
func AppendReply(dst []byte, r *Reply) []byte {
	start := len(dst)
	dst = beginFrame(dst, TypeReply)
	dst = binary.BigEndian.AppendUint32(dst, r.Replica)
	dst = binary.BigEndian.AppendUint32(dst, r.Client)
	dst = binary.BigEndian.AppendUint64(dst, r.Session)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = binary.BigEndian.AppendUint64(dst, r.View)
	dst = append(dst, r.Flags)
	dst = appendBytes(dst, r.Result)
	return endFrame(dst, start)
}

// DecodeRequest decodes a sealed request frame into r. r's slices alias
// frame. Undefined flag bits are kept, not rejected, so a decoder can show
// them; every other deviation from the format is an error.
func DecodeRequest(frame []byte, r *Request) error {
	d, auth, err := fields(frame, TypeRequest)
	if err != nil {
		return err
	}
	r.Client = d.uint32("client")
	r.Session = d.uint64("session")
	r.Seq = d.uint64("seq")
	r.Flags = d.uint8("flags")
	r.Payload = d.bytes("payload")
	r.Auth = auth
	r.Frame = frame
	return d.finish("payload")
}

// DecodeReply decodes a sealed reply frame into r, like DecodeRequest.
func DecodeReply(frame []byte, r *Reply) error {
	d, auth, err := fields(frame, TypeReply)
	if err != nil {
		return err
	}
	r.Replica = d.uint32("replica")
	r.Client = d.uint32("client")
	r.Session = d.uint64("session")
	r.Seq = d.uint64("seq")
	r.View = d.uint64("view")
	r.Flags = d.uint8("flags")
	r.Result = d.bytes("result")
	r.Auth = auth
	return d.finish("result")
}

// fields checks that frame is a sealed frame of type want and returns a
// reader over its fields (sender first) and its authenticator.
func fields(frame []byte, want Type) (fieldReader, []byte, error) {
	t, _, err := parseHeader(frame, noLimit)
	if err != nil {
		return fieldReader{}, nil, err
	}
	if t != want {
		return fieldReader{}, nil, errType(t, want)
	}
	f, auth, err := splitAuth(frame)
	if err != nil {
		return fieldReader{}, nil, err
	}
	return fieldReader{buf: f, base: HeaderSize}, auth, nil
}
