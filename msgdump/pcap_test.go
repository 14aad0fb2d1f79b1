package msgdump

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/keys"
)

// parseJSON splits JSON-lines output into frames and problems.
func parseJSON(t *testing.T, out string) (frames []jsonFrame, problems []jsonProblem) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if strings.Contains(string(line), `"problem":`) {
			var p jsonProblem
			if err := json.Unmarshal(line, &p); err != nil {
				t.Fatalf("bad JSON line %s: %v", line, err)
			}
			problems = append(problems, p)
			continue
		}
		var f jsonFrame
		if err := json.Unmarshal(line, &f); err != nil {
			t.Fatalf("bad JSON line %s: %v", line, err)
		}
		frames = append(frames, f)
	}
	return frames, problems
}

// frameKey is what the TCP tests compare: which frame went which way.
func frameKey(f jsonFrame) string {
	s := fmt.Sprintf("%s %s>%s %s", f.Conn, f.From, f.To, f.Type)
	if f.Seq != nil {
		s += fmt.Sprintf(" seq=%d", *f.Seq)
	}
	if f.Error != "" {
		s += " ERROR " + f.Error
	}
	return s
}

const (
	client0Addr = "10.0.0.10:40000"
	client1Addr = "10.0.0.11:40001"
	replicaAddr = "10.0.0.1:7000"
)

// connection is the four streams of two clients talking to replica 0.
type connection struct {
	toReplica, toClient *tcpStream
	client              keys.Principal
	requests            int
}

// twoConnections builds two client connections to replica 0, each with the
// handshake, n requests and n replies.
func twoConnections(t testing.TB, k *testKeys, n int) []*connection {
	t.Helper()
	var conns []*connection
	for i, addr := range []string{client0Addr, client1Addr} {
		c := keys.Client(uint32(i))
		hello, challenge, proof := k.handshake(t, c, keys.Replica(0))
		up := [][]byte{hello, proof}
		down := [][]byte{challenge}
		for seq := 1; seq <= n; seq++ {
			up = append(up, k.request(t, c.ID, uint64(seq), 0, strings.Repeat(fmt.Sprint(seq), 30*seq)))
			down = append(down, k.reply(t, 0, c.ID, uint64(seq), 0, "ok"))
		}
		conns = append(conns, &connection{
			toReplica: newTCPStream(addr, replicaAddr, uint32(1000*(i+1)), up...),
			toClient:  newTCPStream(replicaAddr, addr, uint32(1<<31+uint32(i)), down...),
			client:    c, requests: n,
		})
	}
	return conns
}

// interleave cuts the streams into segments of awkward sizes, so frames are
// split across segments and segments hold several frames, and alternates
// between the streams.
func interleave(conns []*connection) []pkt {
	sizes := []int{7, 1, 13, 200, 3, 64, 2, 5}
	clock := t0
	tick := func() time.Time { clock = clock.Add(100 * time.Microsecond); return clock }
	var pkts []pkt
	for _, c := range conns {
		pkts = append(pkts, c.toReplica.syn(tick(), false), c.toClient.syn(tick(), true))
	}
	send := func(streams []*tcpStream, upTo func(*tcpStream) int) {
		for i := 0; ; i++ {
			busy := false
			for j, s := range streams {
				if n := upTo(s) - s.sent; n > 0 {
					pkts = append(pkts, s.next(tick(), min(n, sizes[(i+j)%len(sizes)])))
					busy = true
				}
			}
			if !busy {
				return
			}
		}
	}
	// The hellos first, as a replica answers only once it has one; then
	// everything else.
	var ups, all []*tcpStream
	for _, c := range conns {
		ups = append(ups, c.toReplica)
		all = append(all, c.toReplica, c.toClient)
	}
	send(ups, func(*tcpStream) int { return 48 })
	send(all, func(s *tcpStream) int { return len(s.data) })
	for _, s := range all {
		pkts = append(pkts, s.fin(tick()))
	}
	return pkts
}

// wantFrames lists, per connection, what the streams hold, in the order
// each direction carries it.
func wantFrames(conns []*connection) map[string][]string {
	want := make(map[string][]string)
	for _, c := range conns {
		up := c.toReplica.src.String() + ">" + c.toReplica.dst.String()
		down := c.toClient.src.String() + ">" + c.toClient.dst.String()
		cl := c.client.String()
		want[up] = append(want[up], up+" "+cl+">replica-0 hello", up+" "+cl+">replica-0 proof")
		want[down] = append(want[down], down+" replica-0>"+cl+" challenge")
		for seq := 1; seq <= c.requests; seq++ {
			want[up] = append(want[up], fmt.Sprintf("%s %s>replica-0 request seq=%d", up, cl, seq))
			want[down] = append(want[down], fmt.Sprintf("%s replica-0>%s reply seq=%d", down, cl, seq))
		}
	}
	return want
}

// byConn groups frame keys by connection, keeping each direction's order.
func byConn(fs []jsonFrame) map[string][]string {
	got := make(map[string][]string)
	for _, f := range fs {
		got[f.Conn] = append(got[f.Conn], frameKey(f))
	}
	return got
}

func sameFrames(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for conn, w := range want {
		if !slices.Equal(got[conn], w) {
			t.Errorf("%s:\n got  %q\n want %q", conn, got[conn], w)
		}
	}
	for conn := range got {
		if _, ok := want[conn]; !ok {
			t.Errorf("unexpected stream %s: %q", conn, got[conn])
		}
	}
}

func TestPcapTwoConnectionsInterleaved(t *testing.T) {
	k := fixedKeys(t, keys.Ed25519)
	for _, tc := range []struct {
		name string
		file func(t *testing.T, pkts []pkt) []byte
		ipv6 bool
	}{
		{"pcap Ethernet microseconds", func(t *testing.T, p []pkt) []byte { return pcapFile(t, linkEthernet, false, p) }, false},
		{"pcap Linux cooked v2 nanoseconds", func(t *testing.T, p []pkt) []byte { return pcapFile(t, linkSLL2, true, p) }, false},
		{"pcap loopback IPv6", func(t *testing.T, p []pkt) []byte { return pcapFile(t, linkNull, false, p) }, true},
		{"pcapng little-endian Ethernet", func(t *testing.T, p []pkt) []byte {
			return pcapngFile(t, binary.LittleEndian, linkEthernet, p)
		}, false},
		{"pcapng big-endian raw IP", func(t *testing.T, p []pkt) []byte { return pcapngFile(t, binary.BigEndian, linkRaw, p) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := twoConnections(t, k, 5)
			if tc.ipv6 {
				for i, c := range conns {
					a := fmt.Sprintf("[fd00::%d]:%d", 10+i, 40000+i)
					c.toReplica.src, c.toClient.dst = mustAddrPort(a), mustAddrPort(a)
					c.toReplica.dst, c.toClient.src = mustAddrPort("[fd00::1]:7000"), mustAddrPort("[fd00::1]:7000")
				}
			}
			want := wantFrames(conns)
			file := tc.file(t, interleave(conns))
			out, sum := dump(t, Options{JSON: true}, namedInput{"trace", file})
			frames, problems := parseJSON(t, out)
			if len(problems) != 0 {
				t.Errorf("problems: %+v", problems)
			}
			sameFrames(t, byConn(frames), want)
			if sum.Frames != 26 || sum.Problems != 0 {
				t.Errorf("summary %+v, want 26 frames and no problems", sum)
			}
			// Times come from the packets that completed the frames.
			for _, f := range frames {
				ts, err := time.Parse(time.RFC3339Nano, f.Time)
				if err != nil || ts.Before(t0) || ts.After(t0.Add(time.Second)) {
					t.Errorf("frame time %q (%v) outside the capture", f.Time, err)
				}
			}
		})
	}
}

func TestPcapReordersAndDropsRetransmissions(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	conns := twoConnections(t, k, 4)
	want := wantFrames(conns)
	pkts := interleave(conns)
	// Swap neighbours (out of order), and resend some segments whole and
	// some in part (retransmissions, one overlapping what follows it).
	var messed []pkt
	for i := 0; i < len(pkts); i++ {
		p := pkts[i]
		switch {
		case i%5 == 2 && i+1 < len(pkts) && len(p.payload) > 0:
			messed = append(messed, pkts[i+1], p)
			i++
		case i%7 == 3 && len(p.payload) > 2:
			messed = append(messed, p, p)
			partial := p
			partial.payload = p.payload[1:]
			partial.seq++
			messed = append(messed, partial)
		default:
			messed = append(messed, p)
		}
	}
	out, _ := dump(t, Options{JSON: true}, namedInput{"trace", pcapFile(t, linkEthernet, true, messed)})
	frames, problems := parseJSON(t, out)
	if len(problems) != 0 {
		t.Errorf("problems: %+v", problems)
	}
	sameFrames(t, byConn(frames), want)
}

func TestPcapLostSegment(t *testing.T) {
	k := fixedKeys(t, keys.None)
	conns := twoConnections(t, k, 6)
	pkts := interleave(conns)
	up := conns[0].toReplica
	// Lose the 200-byte segment of client 0 that cuts into its requests.
	lost := -1
	for i, p := range pkts {
		if p.src == up.src && len(p.payload) == 200 && p.seq > up.isn+200 {
			lost = i
			break
		}
	}
	if lost < 0 {
		t.Fatal("test set-up: no segment to lose")
	}
	gapAt := int64(pkts[lost].seq - up.isn - 1)
	pkts = slices.Delete(pkts, lost, lost+1)
	out, _ := dump(t, Options{JSON: true}, namedInput{"trace", pcapFile(t, linkEthernet, false, pkts)})
	frames, problems := parseJSON(t, out)
	if len(problems) != 1 {
		t.Fatalf("want one problem for the lost segment, got %+v", problems)
	}
	p := problems[0]
	if p.Conn != up.src.String()+">"+up.dst.String() || p.Offset == nil || *p.Offset != gapAt ||
		!strings.Contains(p.Problem, "200 bytes missing from the capture") || !strings.Contains(p.Problem, "next frame at offset") {
		t.Errorf("problem %+v, want 200 bytes missing at stream offset %d of %s", p, gapAt, p.Conn)
	}
	// Everything but the frames the hole touched is still there, in order.
	got := byConn(frames)
	key := up.src.String() + ">" + up.dst.String()
	want := wantFrames(conns)
	if n := len(want[key]) - len(got[key]); n < 1 || n > 2 {
		t.Errorf("lost %d frames of %s, want 1 or 2: %q", n, key, got[key])
	}
	if !isSubsequence(got[key], want[key]) {
		t.Errorf("frames of %s not a subsequence of what was sent:\n%q", key, got[key])
	}
	delete(got, key)
	delete(want, key)
	sameFrames(t, got, want)
}

func isSubsequence(sub, full []string) bool {
	i := 0
	for _, s := range full {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

func TestPcapJoinsMidStream(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	conns := twoConnections(t, k, 3)[:1]
	pkts := interleave(conns)
	up := conns[0].toReplica
	// Start the capture after the SYNs and the first 20 bytes from the client:
	// the rest of the hello is the first thing seen in that direction.
	var kept []pkt
	skipped := 0
	for _, p := range pkts {
		if p.syn || (p.src == up.src && skipped < 20 && len(p.payload) > 0) {
			skipped += len(p.payload)
			continue
		}
		kept = append(kept, p)
	}
	out, _ := dump(t, Options{JSON: true}, namedInput{"trace", pcapFile(t, linkEthernet, false, kept)})
	frames, problems := parseJSON(t, out)
	if len(problems) != 1 || !strings.Contains(problems[0].Problem, "capture starts inside a frame; skipped") {
		t.Fatalf("want one problem about joining mid-frame, got %+v", problems)
	}
	got := byConn(frames)
	key := up.src.String() + ">" + up.dst.String()
	// The hello is gone (and with it who the ends are, until the challenge
	// names the replica); the proof and the requests are there.
	if len(got[key]) != 4 || !strings.HasSuffix(got[key][0], " proof") {
		t.Errorf("client stream after joining: %q", got[key])
	}
}

func TestPcapSnapLength(t *testing.T) {
	k := fixedKeys(t, keys.None)
	conns := twoConnections(t, k, 3)[:1]
	pkts := interleave(conns)
	up := conns[0].toReplica
	cut := -1
	for i, p := range pkts {
		if p.src == up.src && len(p.payload) == 200 {
			pkts[i].snap = 14 + 20 + 20 + 50 // Ethernet, IP, TCP headers and 50 bytes of payload
			cut = i
			break
		}
	}
	if cut < 0 {
		t.Fatal("test set-up: no segment to cut")
	}
	out, _ := dump(t, Options{JSON: true}, namedInput{"trace", pcapFile(t, linkEthernet, false, pkts)})
	_, problems := parseJSON(t, out)
	if len(problems) != 1 || !strings.Contains(problems[0].Problem, "150 bytes missing from the capture") {
		t.Fatalf("want one problem for the 150 bytes the snap length cut, got %+v", problems)
	}
	if want := int64(pkts[cut].seq-up.isn-1) + 50; *problems[0].Offset != want {
		t.Errorf("gap at offset %d, want %d", *problems[0].Offset, want)
	}
}

func TestPcapPortFilter(t *testing.T) {
	k := fixedKeys(t, keys.None)
	conns := twoConnections(t, k, 2)
	pkts := interleave(conns)
	other := 0
	for _, p := range pkts {
		if p.src.Port() != 40001 && p.dst.Port() != 40001 {
			other++
		}
	}
	file := pcapFile(t, linkEthernet, false, pkts)
	out, sum := dump(t, Options{Ports: []uint16{40001}}, namedInput{"trace.pcap", file})
	if sum.Frames != 7 {
		t.Errorf("port 40001 alone: %d frames, want the 7 of client 1", sum.Frames)
	}
	mustContain(t, out, "# trace.pcap: pcap\n", fmt.Sprintf("skipped %d (other ports %d)", other, other), "TCP segments in 2 streams")
}

func TestPcapDamage(t *testing.T) {
	k := fixedKeys(t, keys.None)
	conns := twoConnections(t, k, 2)
	pkts := interleave(conns)
	pcap := pcapFile(t, linkEthernet, false, pkts)
	ng := pcapngFile(t, binary.LittleEndian, linkEthernet, pkts)
	withLength := func(b []byte, off int, v uint32) []byte {
		b = slices.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	// Offsets of the first packet record and of the first packet block.
	const firstRecord = pcapHeaderSize
	firstBlock := 28 + 32 + 24 // section header, interface, custom block
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"pcap cut in a packet", pcap[:len(pcap)-30], "truncated packet (need"},
		{"pcap cut in a record header", pcap[:firstRecord+10], fmt.Sprintf("offset %d: truncated packet record header (need 16 bytes, have 10)", firstRecord)},
		{"pcap header only half there", pcap[:12], "pcap header: truncated (need 24 bytes, have 12)"},
		{"pcap packet of 3 GB", withLength(pcap, firstRecord+8, 3<<30), fmt.Sprintf("offset %d: packet of 3221225472 captured bytes exceeds the limit of 1048576", firstRecord)},
		{"pcap version 3", withLength(pcap, 4, 3), "pcap header: version 3.0 (want 2.4)"},
		{"pcapng cut in a block", ng[:len(ng)-7], "truncated block (need"},
		{"pcapng block length not a multiple of 4", withLength(ng, firstBlock+4, 0x43), fmt.Sprintf("offset %d: block length 67 (want a multiple of 4", firstBlock)},
		{"pcapng block of 4 GB", withLength(ng, firstBlock+4, 0xfffffffc), "block length 4294967292"},
		{"pcapng lengths differ", withLength(ng, 24, 40), "offset 0: block length 28 at the start but 40 at the end"},
		{"pcapng packet longer than its block", withLength(ng, firstBlock+20, 5000), "packet of 5000 captured bytes in a block of"},
		{"pcapng unknown interface", withLength(ng, firstBlock+8, 7), "packet on interface 7, but the section describes 1"},
		{"pcapng timestamp resolution 2^-127", func() []byte { b := slices.Clone(ng); b[28+20] = 0xff; return b }(), "timestamp resolution 2^-127"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, sum := dump(t, Options{}, namedInput{"trace", tc.data})
			if sum.Problems == 0 || !strings.Contains(out, tc.want) {
				t.Errorf("want a problem containing %q, got:\n%s", tc.want, out)
			}
		})
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestPcapSequenceWraps runs a stream across the 32-bit sequence number
// wrap, with reordering around it.
func TestPcapSequenceWraps(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	conns := twoConnections(t, k, 5)
	conns[0].toReplica.isn = 0xffffff00
	conns[1].toClient.isn = 0xfffffff0
	want := wantFrames(conns)
	pkts := interleave(conns)
	for i := 5; i+1 < len(pkts); i += 4 {
		pkts[i], pkts[i+1] = pkts[i+1], pkts[i]
	}
	out, _ := dump(t, Options{JSON: true}, namedInput{"trace", pcapFile(t, linkEthernet, false, pkts)})
	frames, problems := parseJSON(t, out)
	if len(problems) != 0 {
		t.Errorf("problems: %+v", problems)
	}
	sameFrames(t, byConn(frames), want)
}

// TestPcapPortReuse has a second connection between the same ports after
// the first closed: a new stream, whose ends are learned afresh.
func TestPcapPortReuse(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	first := twoConnections(t, k, 2)[:1]
	second := twoConnections(t, k, 3)[1:]
	second[0].toReplica.src, second[0].toClient.dst = first[0].toReplica.src, first[0].toClient.dst
	second[0].toReplica.isn, second[0].toClient.isn = 77777, 99999
	pkts := append(interleave(first), interleave(second)...)
	out, _ := dump(t, Options{JSON: true}, namedInput{"trace", pcapFile(t, linkEthernet, false, pkts)})
	frames, problems := parseJSON(t, out)
	if len(problems) != 0 {
		t.Errorf("problems: %+v", problems)
	}
	want := wantFrames(first)
	for conn, fs := range wantFrames(second) {
		want[conn] = append(want[conn], fs...)
	}
	sameFrames(t, byConn(frames), want)
}
