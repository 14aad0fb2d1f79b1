package msgdump

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// Options choose what a Dumper shows.
type Options struct {
	JSON  bool // JSON lines instead of text
	Stats bool // a summary at Close instead of a line per frame

	Clients []uint32    // only frames of these clients (requests, replies, handshakes); empty: all
	Types   []wire.Type // only frames of these types; empty: all
	Ports   []uint16    // pcap: only TCP segments from or to these ports; empty: all

	// Verifier, when set, checks the authenticator of every request, and of
	// every reply when its scheme signs (an hmac reply is for its client only).
	Verifier keys.Verifier

	Preview  int            // payload bytes shown in hex and ASCII; 0: none
	MaxFrame int            // frame limit for stream input; wire.DefaultMaxFrame if 0
	Location *time.Location // for times in text; UTC if nil
}

// Summary counts what a Dumper saw.
type Summary struct {
	Inputs   int
	Frames   int // frames found, before filters
	Shown    int // frames that passed the filters
	Problems int // damaged input and frames that do not decode
	Verified int // authenticators that checked out
	BadAuth  int // authenticators that did not
}

// Dumper decodes inputs and writes what it finds to one output.
type Dumper struct {
	out     *bufio.Writer
	opt     Options
	clients map[uint32]bool
	types   map[wire.Type]bool
	ports   map[uint16]bool
	stats   *stats
	sum     Summary
	input   string
	line    []byte
	enc     *json.Encoder
	err     error // first write error
}

// New returns a Dumper writing to w.
func New(w io.Writer, opt Options) *Dumper {
	if opt.MaxFrame <= 0 {
		opt.MaxFrame = wire.DefaultMaxFrame
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	d := &Dumper{out: bufio.NewWriterSize(w, 64<<10), opt: opt}
	if len(opt.Clients) > 0 {
		d.clients = make(map[uint32]bool)
		for _, c := range opt.Clients {
			d.clients[c] = true
		}
	}
	if len(opt.Types) > 0 {
		d.types = make(map[wire.Type]bool)
		for _, t := range opt.Types {
			d.types[t] = true
		}
	}
	if len(opt.Ports) > 0 {
		d.ports = make(map[uint16]bool)
		for _, p := range opt.Ports {
			d.ports[p] = true
		}
	}
	if opt.Stats {
		d.stats = newStats()
	}
	return d
}

// Summary reports the counts so far.
func (d *Dumper) Summary() Summary { return d.sum }

// Close writes the summary when Options.Stats asks for one and flushes the output.
func (d *Dumper) Close() error {
	if d.stats != nil {
		if d.opt.JSON {
			d.stats.writeJSON(d, d.sum)
		} else {
			d.stats.writeText(d, d.sum)
		}
	}
	if err := d.out.Flush(); err != nil && d.err == nil {
		d.err = err
	}
	if d.err != nil {
		return fmt.Errorf("write output: %w", d.err)
	}
	return nil
}

// Input formats, told apart by their first bytes.
const (
	formatRaw     = "raw frames"
	formatCapture = "replbench capture"
	formatPcap    = "pcap"
	formatPcapNG  = "pcapng"
)

func detect(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte(CaptureMagic)):
		return formatCapture
	case len(head) >= 4 && binary.BigEndian.Uint32(head) == ngSectionHeader:
		return formatPcapNG
	case len(head) >= 4:
		for _, m := range []uint32{pcapMagicMicros, pcapMagicNanos} {
			if binary.BigEndian.Uint32(head) == m || binary.LittleEndian.Uint32(head) == m {
				return formatPcap
			}
		}
	}
	return formatRaw
}

// Dump reads one input, named name in the output, and writes what it finds.
// Damage in the input is reported in the output, counted in Summary and
// skipped; the error is for input that cannot be read at all.
func (d *Dumper) Dump(name string, r io.Reader) error {
	d.input = name
	d.sum.Inputs++
	br := bufio.NewReaderSize(r, readChunk)
	head, err := br.Peek(len(CaptureMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	var in io.Reader = br
	compressed := ""
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			d.problem(problem{off: 0, msg: fmt.Sprintf("gzip header: %v", err)})
			return nil
		}
		defer gz.Close()
		inner := bufio.NewReaderSize(gunzipped{gz}, readChunk)
		if head, err = inner.Peek(len(CaptureMagic)); err != nil && !errors.Is(err, io.EOF) {
			return d.readError(err)
		}
		in, compressed = inner, "gzip-compressed "
	}
	if len(head) == 0 {
		d.comment("# %s: empty", name)
		return nil
	}
	format := detect(head)
	switch format {
	case formatCapture:
		err = d.dumpCapture(in, compressed)
	case formatPcap, formatPcapNG:
		err = d.dumpPcap(in, format == formatPcapNG, compressed+format)
	default:
		err = d.dumpRaw(in, compressed)
	}
	if err != nil {
		return d.readError(err)
	}
	return d.err
}

// readError reports damage that ends an input and returns other errors,
// which mean the input could not be read.
func (d *Dumper) readError(err error) error {
	var (
		fe *FormatError
		ge gzipError
	)
	switch {
	case errors.As(err, &fe):
		d.problem(problem{off: fe.Offset, msg: fe.Msg})
	case errors.As(err, &ge):
		// Offsets in a compressed input are of the decompressed bytes, and
		// the decompressor does not say how far it got.
		d.problem(problem{off: -1, msg: fmt.Sprintf("gzip: %v; cannot read on", ge.err)})
	default:
		return fmt.Errorf("read %s: %w", d.input, err)
	}
	return d.err
}

// gunzipped marks decompression errors as damage in the input rather than
// failures to read it.
type gunzipped struct{ r io.Reader }

type gzipError struct{ err error }

func (e gzipError) Error() string { return "gzip: " + e.err.Error() }

func (g gunzipped) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError{err}
	}
	return n, err
}

func (d *Dumper) dumpRaw(r io.Reader, compressed string) error {
	d.comment("# %s: %s%s", d.input, compressed, formatRaw)
	fr := newFramer(d.opt.MaxFrame, true,
		func(off int64, b []byte) { d.frame(frame{off: off, bytes: b}) },
		func(off int64, msg string) { d.problem(problem{off: off, msg: msg}) })
	buf := make([]byte, readChunk)
	for {
		n, err := r.Read(buf)
		fr.push(buf[:n])
		if errors.Is(err, io.EOF) {
			fr.end()
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (d *Dumper) dumpCapture(r io.Reader, compressed string) error {
	c, err := NewCaptureReader(r, d.opt.MaxFrame)
	if err != nil {
		return err
	}
	h := c.Header
	tool := ""
	if h.Tool != "" {
		tool = " by " + h.Tool
	}
	d.comment("# %s: %s%s v%d of %v%s, started %s", d.input, compressed, formatCapture, CaptureVersion, h.Self, tool, h.Start.Format(time.RFC3339Nano))
	if h.WireVersion != wire.Version {
		d.problem(problem{off: 10, msg: fmt.Sprintf("frames of wire version %d, but this msgdump decodes version %d", h.WireVersion, wire.Version)})
	}
	for {
		rec, off, err := c.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var fe *FormatError
		if errors.As(err, &fe) {
			d.problem(problem{off: fe.Offset, msg: fe.Msg})
			continue
		}
		if err != nil {
			return err
		}
		f := frame{off: off + recordHeaderSize, time: rec.Time, from: h.Self, to: rec.Peer, bytes: rec.Frame}
		if rec.Dir == Received {
			f.from, f.to = rec.Peer, h.Self
		}
		d.frame(f)
	}
}

func (d *Dumper) dumpPcap(r io.Reader, ng bool, format string) error {
	d.comment("# %s: %s", d.input, format)
	p, err := newPcapReader(r, ng)
	if err != nil {
		return err
	}
	tcp := newTCPStreams(d.opt.MaxFrame, d)
	var (
		st  packetStats
		dec packetDecoder
	)
	defer func() { d.pcapSummary(&st, tcp.streams()) }()
	for {
		pk, err := p.next()
		if errors.Is(err, io.EOF) {
			tcp.end()
			return nil
		}
		if err != nil {
			tcp.end()
			var fe *FormatError
			if errors.As(err, &fe) {
				return &FormatError{fe.Offset, fe.Msg + "; cannot read on"}
			}
			return err
		}
		st.packets++
		seg, why := dec.decode(pk.link, pk.data)
		if why != "" {
			st.skip(why)
			continue
		}
		if d.ports != nil && !d.ports[seg.src.Port()] && !d.ports[seg.dst.Port()] {
			st.skip("other ports")
			continue
		}
		st.segments++
		tcp.add(seg.src, seg.dst, segment{
			seq: seg.seq, data: seg.payload, missing: seg.missing,
			syn: seg.syn, fin: seg.fin, rst: seg.rst, time: pk.time,
		}, seg.ack)
	}
}

// packetStats counts what a pcap input held, for its summary line.
type packetStats struct {
	packets, segments, skipped int
	why                        map[string]int // skipped packets by reason
}

func (s *packetStats) skip(why string) {
	s.skipped++
	if s.why == nil {
		s.why = make(map[string]int)
	}
	s.why[why]++
}

func (d *Dumper) pcapSummary(st *packetStats, streams int) {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %d packets, %d TCP segments in %d streams", d.input, st.packets, st.segments, streams)
	if st.skipped > 0 {
		fmt.Fprintf(&b, "; skipped %d (", st.skipped)
		for i, why := range slices.Sorted(maps.Keys(st.why)) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", why, st.why[why])
		}
		b.WriteString(")")
	}
	d.comment("%s", b.String())
}

// frame is a frame cut from an input, with where and when it was seen.
type frame struct {
	off      int64 // in the file, or in the TCP stream for pcap input
	time     time.Time
	conn     string // pcap: "10.0.0.1:40312>10.0.0.2:7000"
	from, to keys.Principal
	bytes    []byte
}

// problem is damaged input: where, and what is wrong.
type problem struct {
	off  int64 // -1 when there is no offset to give
	conn string
	msg  string
}

// sink receives what inputs hold, in input order.
type sink interface {
	frame(f frame)
	problem(p problem)
}

func (d *Dumper) frame(f frame) {
	d.sum.Frames++
	m := decode(f.bytes)
	if !d.pass(&f, &m) {
		return
	}
	d.sum.Shown++
	v := d.verify(&m)
	if m.err != nil {
		d.sum.Problems++
	}
	if d.stats != nil {
		d.stats.add(&f, &m, v)
		if m.err != nil {
			d.stats.problem(d.input, problem{off: f.off, conn: f.conn, msg: m.typeName() + " frame: " + frameError(m.err)})
		}
		return
	}
	if d.opt.JSON {
		d.writeJSON(&f, &m, v)
	} else {
		d.writeText(&f, &m, v)
	}
}

func (d *Dumper) problem(p problem) {
	d.sum.Problems++
	if d.stats != nil {
		d.stats.problem(d.input, p)
		return
	}
	if d.opt.JSON {
		d.writeProblemJSON(p)
	} else {
		d.writeProblemText(p)
	}
}

// pass applies the filters.
func (d *Dumper) pass(f *frame, m *message) bool {
	if d.types != nil && !d.types[m.typ] {
		return false
	}
	if d.clients == nil {
		return true
	}
	switch {
	case m.req != nil:
		return d.clients[m.req.Client]
	case m.reply != nil:
		return d.clients[m.reply.Client]
	case m.hello != nil:
		return d.isClient(m.hello.From) || d.isClient(m.hello.To)
	}
	return d.isClient(f.from) || d.isClient(f.to)
}

func (d *Dumper) isClient(p keys.Principal) bool {
	return p.Role == keys.RoleClient && d.clients[p.ID]
}

// authResult is the outcome of checking one authenticator.
type authResult struct {
	checked bool
	err     error // nil when it verified
}

func (d *Dumper) verify(m *message) authResult {
	if d.opt.Verifier == nil || m.err != nil {
		return authResult{}
	}
	var from keys.Principal
	switch {
	case m.req != nil:
		from = keys.Client(m.req.Client)
	case m.reply != nil && d.opt.Verifier.Scheme().Signs():
		from = keys.Replica(m.reply.Replica)
	default:
		return authResult{}
	}
	err := d.opt.Verifier.Verify(from, m.signed, m.auth)
	if err != nil {
		d.sum.BadAuth++
	} else {
		d.sum.Verified++
	}
	return authResult{checked: true, err: err}
}

// comment writes a line about an input in text output (not in JSON or stats).
func (d *Dumper) comment(format string, args ...any) {
	if d.opt.JSON || d.stats != nil {
		return
	}
	d.line = fmt.Appendf(d.line[:0], format, args...)
	d.line = append(d.line, '\n')
	d.write(d.line)
}

func (d *Dumper) write(b []byte) {
	if d.err != nil {
		return
	}
	if _, err := d.out.Write(b); err != nil {
		d.err = err
	}
}
