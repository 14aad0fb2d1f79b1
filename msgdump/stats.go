package msgdump

import (
	"cmp"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/replbench/replbench/internal/wire"
)

// stats summarises the frames that pass the filters.
type stats struct {
	first, last time.Time
	types       map[int]*typeCount // by type, -1 for frames too short to have one
	clients     map[clientSession]*clientStats
	sizes       *hdrhistogram.Histogram // request payload sizes; made at the first request
	pow2        [34]int                 // request payload sizes by bit length: 0, 1, 2-3, 4-7, ...
	sizeSum     int64
	rate        rateSeries // requests over time
	problems    []problemAt
	verified    bool // some authenticator was checked
}

type typeCount struct {
	name          string
	frames, bytes int
}

type problemAt struct {
	input string
	problem
}

// maxListedProblems bounds the problems a summary lists; it counts them all.
const maxListedProblems = 20

// clientSession keys request statistics: request numbers start again at 1
// in every session of a client.
type clientSession struct {
	client  uint32
	session uint64
}

type clientStats struct {
	requests, retransmits, readOnly int
	payloadBytes                    int64
	minSeq, maxSeq                  uint64
	seqs                            seqSet
	ok, bad                         int
}

func newStats() *stats {
	return &stats{
		types:   make(map[int]*typeCount),
		clients: make(map[clientSession]*clientStats),
	}
}

func (s *stats) add(f *frame, m *message, v authResult) {
	if !f.time.IsZero() {
		if s.first.IsZero() || f.time.Before(s.first) {
			s.first = f.time
		}
		if f.time.After(s.last) {
			s.last = f.time
		}
	}
	key := int(m.typ)
	if !m.hasType {
		key = -1
	}
	tc := s.types[key]
	if tc == nil {
		tc = &typeCount{name: m.typeName()}
		s.types[key] = tc
	}
	tc.frames++
	tc.bytes += m.size
	if m.req == nil {
		return
	}
	r := m.req
	ck := clientSession{r.Client, r.Session}
	c := s.clients[ck]
	if c == nil {
		c = &clientStats{minSeq: r.Seq, maxSeq: r.Seq}
		s.clients[ck] = c
	}
	c.requests++
	if r.Flags&wire.FlagRetransmit != 0 {
		c.retransmits++
	}
	if r.Flags&wire.FlagReadOnly != 0 {
		c.readOnly++
	}
	c.payloadBytes += int64(len(r.Payload))
	c.minSeq, c.maxSeq = min(c.minSeq, r.Seq), max(c.maxSeq, r.Seq)
	c.seqs.add(r.Seq)
	if v.checked {
		s.verified = true
		if v.err == nil {
			c.ok++
		} else {
			c.bad++
		}
	}
	n := len(r.Payload)
	if s.sizes == nil {
		s.sizes = hdrhistogram.New(0, 1<<32, 3)
	}
	_ = s.sizes.RecordValue(int64(n)) // within range: payloads are below 4 GiB
	s.pow2[bits.Len64(uint64(n))]++
	s.sizeSum += int64(n)
	if !f.time.IsZero() {
		s.rate.add(f.time)
	}
}

func (s *stats) problem(input string, p problem) {
	if len(s.problems) < maxListedProblems {
		s.problems = append(s.problems, problemAt{input, p})
	}
}

// seqSet records which request numbers of a client were seen, as 64-bit
// words of a bitmap keyed by seq/64: request numbers are dense, so this
// stays small, and it does not care about the order they come in.
type seqSet struct {
	words    map[uint64]uint64
	distinct int
	overflow bool // too sparse to track: distinct is a lower bound
}

// maxSeqWords bounds a seqSet to 64 Mi request numbers' worth of words.
const maxSeqWords = 1 << 20

func (q *seqSet) add(seq uint64) {
	if q.words == nil {
		q.words = make(map[uint64]uint64)
	}
	w, ok := q.words[seq/64]
	if !ok && len(q.words) >= maxSeqWords {
		q.overflow = true
		return
	}
	if bit := uint64(1) << (seq % 64); w&bit == 0 {
		q.words[seq/64] = w | bit
		q.distinct++
	}
}

// rateSeries counts events in time bins. Bins start at 1 ms and widen
// (2, 10, 20, 100 ms, ...) whenever the span would need more than maxBins,
// so memory stays bounded whatever the capture's length.
type rateSeries struct {
	step   int       // index into binWidths
	origin time.Time // start of counts[0], a multiple of the width
	counts []int
}

const maxBins = 2000

// binWidths are the bin widths, each a multiple of the one before.
var binWidths = func() []time.Duration {
	var w []time.Duration
	for d := time.Millisecond; d <= 1000*time.Hour; d *= 10 {
		w = append(w, d, 2*d)
	}
	return w
}()

func (r *rateSeries) width() time.Duration { return binWidths[r.step] }

func (r *rateSeries) add(t time.Time) {
	if r.counts == nil {
		r.origin = t.Truncate(r.width())
	}
	for {
		d := t.Sub(r.origin)
		i := int64(d / r.width())
		if d < 0 {
			i = -int64((-d + r.width() - 1) / r.width())
		}
		switch {
		case i < 0 && int64(len(r.counts))-i <= maxBins:
			r.counts = append(make([]int, -i, int64(len(r.counts))-i), r.counts...)
			r.origin = r.origin.Add(time.Duration(i) * r.width())
			i = 0
		case i < 0 || i >= maxBins:
			if !r.coarsen() {
				return // beyond the widest bins: ignored
			}
			continue
		}
		for int64(len(r.counts)) <= i {
			r.counts = append(r.counts, 0)
		}
		r.counts[i]++
		return
	}
}

// coarsen moves to the next bin width; false when there is none.
func (r *rateSeries) coarsen() bool {
	if r.step+1 >= len(binWidths) {
		return false
	}
	old, oldOrigin := r.width(), r.origin
	r.step++
	r.origin = oldOrigin.Truncate(r.width())
	var counts []int
	for i, c := range r.counts {
		j := int(oldOrigin.Add(time.Duration(i)*old).Sub(r.origin) / r.width())
		for len(counts) <= j {
			counts = append(counts, 0)
		}
		counts[j] += c
	}
	r.counts = counts
	return true
}

// shown returns the series coarsened until it fits in rows.
func (r rateSeries) shown(rows int) rateSeries {
	r.counts = slices.Clone(r.counts)
	for len(r.counts) > rows && r.coarsen() {
	}
	return r
}

// clientIDs lists the client sessions seen, by client and then session.
func (s *stats) clientIDs() []clientSession {
	return slices.SortedFunc(maps.Keys(s.clients), func(a, b clientSession) int {
		if a.client != b.client {
			return cmp.Compare(a.client, b.client)
		}
		return cmp.Compare(a.session, b.session)
	})
}

func (s *stats) typeList() []int { return slices.Sorted(maps.Keys(s.types)) }

func (s *stats) requests() int {
	n := 0
	for _, c := range s.clients {
		n += c.requests
	}
	return n
}

func (s *stats) percentile(q float64) int64 { return s.sizes.ValueAtPercentile(q) }

// writeText prints the summary.
func (s *stats) writeText(d *Dumper, sum Summary) {
	var b strings.Builder
	fmt.Fprintf(&b, "inputs    %d\n", sum.Inputs)
	fmt.Fprintf(&b, "frames    %d", sum.Frames)
	if sum.Shown != sum.Frames {
		fmt.Fprintf(&b, " (%d after filters)", sum.Shown)
	}
	fmt.Fprintf(&b, ", %s\n", plural(sum.Problems, "problem"))
	if !s.first.IsZero() {
		loc := d.opt.Location
		fmt.Fprintf(&b, "time      %s .. %s (%s)\n", s.first.In(loc).Format("2006-01-02 15:04:05.000000 MST"),
			s.last.In(loc).Format("15:04:05.000000"), s.last.Sub(s.first).Round(time.Microsecond))
	}
	if s.verified {
		fmt.Fprintf(&b, "auth      %d verified, %d bad\n", sum.Verified, sum.BadAuth)
	}

	b.WriteString("\ntype          frames       bytes\n")
	for _, t := range s.typeList() {
		tc := s.types[t]
		fmt.Fprintf(&b, "%-12s %7d %11d\n", tc.name, tc.frames, tc.bytes)
	}

	if len(s.clients) > 0 {
		b.WriteString("\nclient  session              requests  distinct  missing  retransmits  read-only  seq range        payload bytes")
		if s.verified {
			b.WriteString("      ok     bad")
		}
		b.WriteString("\n")
		for _, id := range s.clientIDs() {
			c := s.clients[id]
			missing := fmt.Sprint(c.maxSeq - c.minSeq + 1 - uint64(c.seqs.distinct))
			if c.seqs.overflow {
				missing = "?"
			}
			fmt.Fprintf(&b, "%-7d %-20d %8d  %8d  %7s  %11d  %9d  %-15s  %13d", id.client, id.session, c.requests, c.seqs.distinct, missing,
				c.retransmits, c.readOnly, fmt.Sprintf("%d..%d", c.minSeq, c.maxSeq), c.payloadBytes)
			if s.verified {
				fmt.Fprintf(&b, "  %6d  %6d", c.ok, c.bad)
			}
			b.WriteString("\n")
		}

		n := s.requests()
		fmt.Fprintf(&b, "\npayload bytes per request: min %d, p50 %d, p90 %d, p99 %d, max %d, mean %.1f\n",
			s.sizes.Min(), s.percentile(50), s.percentile(90), s.percentile(99), s.sizes.Max(), float64(s.sizeSum)/float64(n))
		b.WriteString("  size            requests\n")
		top := 0
		for _, c := range s.pow2 {
			top = max(top, c)
		}
		for i, c := range s.pow2 {
			if c == 0 {
				continue
			}
			lo, hi := pow2Range(i)
			fmt.Fprintf(&b, "  %-14s %9d  %s\n", sizeRange(lo, hi), c, bar(c, top, 40))
		}
	}

	if len(s.rate.counts) > 0 {
		r := s.rate.shown(20)
		w := r.width()
		fmt.Fprintf(&b, "\nrequests per %s from %s\n", w, r.origin.In(d.opt.Location).Format("15:04:05.000"))
		top := slices.Max(r.counts)
		for i, c := range r.counts {
			fmt.Fprintf(&b, "  +%-9s %8d  %10.1f/s  %s\n", time.Duration(i)*w, c, float64(c)/w.Seconds(), bar(c, top, 40))
		}
	}

	if sum.Problems > 0 && len(s.problems) > 0 {
		fmt.Fprintf(&b, "\nproblems (%d", sum.Problems)
		if sum.Problems > len(s.problems) {
			fmt.Fprintf(&b, ", first %d", len(s.problems))
		}
		b.WriteString(")\n")
		for _, p := range s.problems {
			fmt.Fprintf(&b, "  %s", p.input)
			if p.conn != "" {
				fmt.Fprintf(&b, " %s", p.conn)
			}
			if p.off >= 0 {
				fmt.Fprintf(&b, " offset %d", p.off)
			}
			fmt.Fprintf(&b, ": %s\n", p.msg)
		}
	}
	d.write([]byte(b.String()))
}

// pow2Range is the range of sizes with bit length i.
func pow2Range(i int) (lo, hi uint64) {
	if i == 0 {
		return 0, 0
	}
	return 1 << (i - 1), 1<<i - 1
}

func sizeRange(lo, hi uint64) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

func bar(n, top, width int) string {
	if top == 0 || n == 0 {
		return ""
	}
	return strings.Repeat("#", max(1, n*width/top))
}

// Stats as one JSON object.
type jsonStats struct {
	Inputs   int               `json:"inputs"`
	Frames   int               `json:"frames"`
	Shown    int               `json:"shown"`
	Problems int               `json:"problems"`
	Verified *int              `json:"verified,omitempty"`
	BadAuth  *int              `json:"bad_auth,omitempty"`
	First    string            `json:"first,omitempty"`
	Last     string            `json:"last,omitempty"`
	Types    []jsonTypeCount   `json:"types"`
	Clients  []jsonClientStats `json:"clients"`
	Payload  *jsonSizes        `json:"payload,omitempty"`
	Rate     *jsonRate         `json:"rate,omitempty"`
	Listed   []jsonProblem     `json:"problem_list,omitempty"`
}

type jsonTypeCount struct {
	Type   string `json:"type"`
	Frames int    `json:"frames"`
	Bytes  int    `json:"bytes"`
}

type jsonClientStats struct {
	Client       uint32  `json:"client"`
	Session      uint64  `json:"session"`
	Requests     int     `json:"requests"`
	Distinct     int     `json:"distinct"`
	Missing      *uint64 `json:"missing,omitempty"` // absent when too sparse to track
	Retransmits  int     `json:"retransmits"`
	ReadOnly     int     `json:"read_only"`
	FirstSeq     uint64  `json:"first_seq"`
	LastSeq      uint64  `json:"last_seq"`
	PayloadBytes int64   `json:"payload_bytes"`
	Verified     *int    `json:"verified,omitempty"`
	BadAuth      *int    `json:"bad_auth,omitempty"`
}

type jsonSizes struct {
	Min     int64        `json:"min"`
	P50     int64        `json:"p50"`
	P90     int64        `json:"p90"`
	P99     int64        `json:"p99"`
	Max     int64        `json:"max"`
	Mean    float64      `json:"mean"`
	Buckets []jsonBucket `json:"buckets"`
}

type jsonBucket struct {
	From     uint64 `json:"from"`
	To       uint64 `json:"to"`
	Requests int    `json:"requests"`
}

type jsonRate struct {
	Start   string  `json:"start"`
	WidthMS float64 `json:"width_ms"`
	Counts  []int   `json:"counts"`
}

func (s *stats) writeJSON(d *Dumper, sum Summary) {
	j := jsonStats{Inputs: sum.Inputs, Frames: sum.Frames, Shown: sum.Shown, Problems: sum.Problems,
		Types: []jsonTypeCount{}, Clients: []jsonClientStats{}}
	if s.verified {
		j.Verified, j.BadAuth = ptr(sum.Verified), ptr(sum.BadAuth)
	}
	if !s.first.IsZero() {
		j.First, j.Last = s.first.UTC().Format(time.RFC3339Nano), s.last.UTC().Format(time.RFC3339Nano)
	}
	for _, t := range s.typeList() {
		j.Types = append(j.Types, jsonTypeCount{s.types[t].name, s.types[t].frames, s.types[t].bytes})
	}
	for _, id := range s.clientIDs() {
		c := s.clients[id]
		jc := jsonClientStats{Client: id.client, Session: id.session, Requests: c.requests, Distinct: c.seqs.distinct, Retransmits: c.retransmits,
			ReadOnly: c.readOnly, FirstSeq: c.minSeq, LastSeq: c.maxSeq, PayloadBytes: c.payloadBytes}
		if !c.seqs.overflow {
			jc.Missing = ptr(c.maxSeq - c.minSeq + 1 - uint64(c.seqs.distinct))
		}
		if s.verified {
			jc.Verified, jc.BadAuth = ptr(c.ok), ptr(c.bad)
		}
		j.Clients = append(j.Clients, jc)
	}
	if n := s.requests(); n > 0 {
		p := &jsonSizes{Min: s.sizes.Min(), P50: s.percentile(50), P90: s.percentile(90), P99: s.percentile(99),
			Max: s.sizes.Max(), Mean: float64(s.sizeSum) / float64(n), Buckets: []jsonBucket{}}
		for i, c := range s.pow2 {
			if c > 0 {
				lo, hi := pow2Range(i)
				p.Buckets = append(p.Buckets, jsonBucket{lo, hi, c})
			}
		}
		j.Payload = p
	}
	if len(s.rate.counts) > 0 {
		r := s.rate.shown(100)
		j.Rate = &jsonRate{Start: r.origin.UTC().Format(time.RFC3339Nano),
			WidthMS: float64(r.width()) / float64(time.Millisecond), Counts: r.counts}
	}
	for _, p := range s.problems {
		jp := jsonProblem{Input: p.input, Conn: p.conn, Problem: p.msg}
		if p.off >= 0 {
			jp.Offset = ptr(p.off)
		}
		j.Listed = append(j.Listed, jp)
	}
	d.writeJSONValue(j)
}

// plural writes "1 problem" or "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
