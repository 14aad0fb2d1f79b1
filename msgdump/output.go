package msgdump

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// flagNames names the request flags, in bit order.
var flagNames = []struct {
	bit  uint8
	name string
}{
	{wire.FlagReadOnly, "read-only"},
	{wire.FlagRetransmit, "retransmit"},
	{wire.FlagReplyToSender, "reply-to-sender"},
}

// flagList names the bits set in flags; undefined bits appear in hex.
func flagList(flags uint8) []string {
	var out []string
	for _, f := range flagNames {
		if flags&f.bit != 0 {
			out = append(out, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		out = append(out, "0x"+strconv.FormatUint(uint64(flags), 16))
	}
	return out
}

// endpoint names one end of a frame: the principal when known, else the address.
func endpointName(p keys.Principal, addr string) string {
	if p.Role != 0 {
		return p.String()
	}
	return addr
}

// ends returns the sender and receiver names for a frame, empty when unknown.
func (f *frame) ends() (from, to string) {
	src, dst, _ := strings.Cut(f.conn, ">")
	return endpointName(f.from, src), endpointName(f.to, dst)
}

// writeText writes one frame as a line:
//
//	05:09:01.123456 client-7>replica-0 request client=7 session=1796400000000000000 seq=42 flags=read-only payload=5 auth=32 ok 68 65 6c 6c 6f |hello|
func (d *Dumper) writeText(f *frame, m *message, v authResult) {
	b := d.line[:0]
	if f.time.IsZero() {
		b = append(b, '-')
	} else {
		b = f.time.In(d.opt.Location).AppendFormat(b, "15:04:05.000000")
	}
	if from, to := f.ends(); from != "" || to != "" {
		b = append(b, ' ')
		b = append(b, orDash(from)...)
		b = append(b, '>')
		b = append(b, orDash(to)...)
	}
	b = append(b, ' ')
	b = append(b, m.typeName()...)
	if m.err != nil {
		b = appendField(b, "size", uint64(m.size))
		b = appendField(b, "offset", uint64(f.off))
		b = append(b, " ERROR "...)
		b = append(b, frameError(m.err)...)
		d.write(append(b, '\n'))
		d.line = b
		return
	}
	var preview []byte
	switch {
	case m.req != nil:
		r := m.req
		b = appendField(b, "client", uint64(r.Client))
		b = appendField(b, "session", r.Session)
		b = appendField(b, "seq", r.Seq)
		b = appendFlags(b, r.Flags)
		b = appendField(b, "payload", uint64(len(r.Payload)))
		preview = r.Payload
	case m.reply != nil:
		r := m.reply
		b = appendField(b, "replica", uint64(r.Replica))
		b = appendField(b, "client", uint64(r.Client))
		b = appendField(b, "session", r.Session)
		b = appendField(b, "seq", r.Seq)
		b = appendField(b, "view", r.View)
		b = appendFlags(b, r.Flags)
		b = appendField(b, "result", uint64(len(r.Result)))
		preview = r.Result
	case m.hello != nil:
		b = append(b, " dialer="...)
		b = append(b, m.hello.From.String()...)
		b = append(b, " expects="...)
		b = append(b, m.hello.To.String()...)
		b = appendField(b, "size", uint64(m.size))
	default:
		if m.hasSender {
			b = appendField(b, "sender", uint64(m.sender))
		}
		if m.hasView {
			b = appendField(b, "view", m.view)
		}
		if m.hasSeq {
			b = appendField(b, "seq", m.seq)
		}
		if m.batch >= 0 {
			b = appendField(b, "batch", uint64(m.batch))
		}
		b = appendField(b, "size", uint64(m.size))
	}
	if m.hasAuth {
		b = appendField(b, "auth", uint64(len(m.auth)))
		if v.checked {
			if v.err == nil {
				b = append(b, " ok"...)
			} else {
				b = append(b, " BAD"...)
			}
		}
	}
	if d.opt.Preview > 0 && len(preview) > 0 {
		b = append(b, ' ')
		b = appendPreview(b, preview, d.opt.Preview)
	}
	d.write(append(b, '\n'))
	d.line = b
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func appendField(b []byte, name string, v uint64) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, '=')
	return strconv.AppendUint(b, v, 10)
}

func appendFlags(b []byte, flags uint8) []byte {
	b = append(b, " flags="...)
	if flags == 0 {
		return append(b, '-')
	}
	return append(b, strings.Join(flagList(flags), "+")...)
}

// appendPreview writes up to n bytes of p as hex and as ASCII, hexdump -C style.
func appendPreview(b, p []byte, n int) []byte {
	show := p[:min(len(p), n)]
	for i, c := range show {
		if i > 0 {
			b = append(b, ' ')
		}
		b = hex.AppendEncode(b, []byte{c})
	}
	b = append(b, " |"...)
	for _, c := range show {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		b = append(b, c)
	}
	b = append(b, '|')
	if len(show) < len(p) {
		b = append(b, "..."...)
	}
	return b
}

// frameError says what is wrong with a frame; a wire.FrameError's offset is
// from the start of the frame.
func frameError(err error) string {
	if fe, ok := err.(*wire.FrameError); ok {
		return fe.Msg + " (at frame byte " + strconv.Itoa(fe.Offset) + ")"
	}
	return err.Error()
}

func (d *Dumper) writeProblemText(p problem) {
	b := append(d.line[:0], "! "...)
	b = append(b, d.input...)
	b = append(b, ':')
	if p.conn != "" {
		b = append(b, ' ')
		b = append(b, p.conn...)
	}
	if p.off >= 0 {
		b = append(b, " offset "...)
		b = strconv.AppendInt(b, p.off, 10)
		b = append(b, ':')
	}
	b = append(b, ' ')
	b = append(b, p.msg...)
	d.write(append(b, '\n'))
	d.line = b
}

// jsonFrame is one frame as a JSON line. Fields a type does not have are
// left out; payload and result hold the first Options.Preview bytes in hex.
type jsonFrame struct {
	Input       string   `json:"input"`
	Offset      int64    `json:"offset"`
	Time        string   `json:"time,omitempty"`
	Conn        string   `json:"conn,omitempty"`
	From        string   `json:"from,omitempty"`
	To          string   `json:"to,omitempty"`
	Type        string   `json:"type"`
	Size        int      `json:"size"`
	Sender      *uint32  `json:"sender,omitempty"`
	Client      *uint32  `json:"client,omitempty"`
	Dialer      string   `json:"dialer,omitempty"`
	Expects     string   `json:"expects,omitempty"`
	View        *uint64  `json:"view,omitempty"`
	Session     *uint64  `json:"session,omitempty"`
	Seq         *uint64  `json:"seq,omitempty"`
	Batch       *int     `json:"batch,omitempty"`
	Flags       *uint8   `json:"flags,omitempty"`
	FlagNames   []string `json:"flag_names,omitempty"`
	PayloadSize *int     `json:"payload_size,omitempty"`
	Payload     string   `json:"payload,omitempty"`
	ResultSize  *int     `json:"result_size,omitempty"`
	Result      string   `json:"result,omitempty"`
	AuthSize    *int     `json:"auth_size,omitempty"`
	Verified    *bool    `json:"verified,omitempty"`
	VerifyError string   `json:"verify_error,omitempty"`
	Error       string   `json:"error,omitempty"`
	ErrorOffset *int64   `json:"error_offset,omitempty"`
}

// jsonProblem is damaged input as a JSON line; the "problem" key tells it
// from a frame.
type jsonProblem struct {
	Input   string `json:"input"`
	Offset  *int64 `json:"offset,omitempty"`
	Conn    string `json:"conn,omitempty"`
	Problem string `json:"problem"`
}

func ptr[T any](v T) *T { return &v }

func (d *Dumper) jsonFrame(f *frame, m *message, v authResult) jsonFrame {
	j := jsonFrame{Input: d.input, Offset: f.off, Conn: f.conn, Type: m.typeName(), Size: m.size}
	if !f.time.IsZero() {
		j.Time = f.time.UTC().Format(time.RFC3339Nano)
	}
	j.From, j.To = f.ends()
	if m.err != nil {
		j.Error = m.err.Error()
		if fe, ok := m.err.(*wire.FrameError); ok {
			j.Error = fe.Msg
			j.ErrorOffset = ptr(f.off + int64(fe.Offset))
		}
		return j
	}
	if m.hasSender {
		j.Sender = ptr(m.sender)
	}
	if m.hasView {
		j.View = ptr(m.view)
	}
	if m.hasSeq {
		j.Seq = ptr(m.seq)
	}
	if m.batch >= 0 {
		j.Batch = ptr(m.batch)
	}
	head := func(p []byte) string { return hex.EncodeToString(p[:min(len(p), max(d.opt.Preview, 0))]) }
	switch {
	case m.req != nil:
		r := m.req
		j.Client, j.Session, j.Seq, j.Flags, j.FlagNames = ptr(r.Client), ptr(r.Session), ptr(r.Seq), ptr(r.Flags), flagList(r.Flags)
		j.PayloadSize, j.Payload = ptr(len(r.Payload)), head(r.Payload)
	case m.reply != nil:
		r := m.reply
		j.Client, j.Session, j.Seq, j.View, j.Flags, j.FlagNames = ptr(r.Client), ptr(r.Session), ptr(r.Seq), ptr(r.View), ptr(r.Flags), flagList(r.Flags)
		j.ResultSize, j.Result = ptr(len(r.Result)), head(r.Result)
	case m.hello != nil:
		j.Dialer, j.Expects = m.hello.From.String(), m.hello.To.String()
	}
	if m.hasAuth {
		j.AuthSize = ptr(len(m.auth))
		if v.checked {
			j.Verified = ptr(v.err == nil)
			if v.err != nil {
				j.VerifyError = v.err.Error()
			}
		}
	}
	return j
}

func (d *Dumper) writeJSON(f *frame, m *message, v authResult) {
	d.writeJSONValue(d.jsonFrame(f, m, v))
}

func (d *Dumper) writeProblemJSON(p problem) {
	j := jsonProblem{Input: d.input, Conn: p.conn, Problem: p.msg}
	if p.off >= 0 {
		j.Offset = ptr(p.off)
	}
	d.writeJSONValue(j)
}

// writeJSONValue writes v as one line. HTML escaping is off so that a
// connection reads "a>b", not "a\u003eb".
func (d *Dumper) writeJSONValue(v any) {
	if d.err != nil {
		return
	}
	if d.enc == nil {
		d.enc = json.NewEncoder(d.out)
		d.enc.SetEscapeHTML(false)
	}
	if err := d.enc.Encode(v); err != nil {
		d.err = err
	}
}
