package msgdump

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Packets and capture files for tests, built with gopacket's layers as
// tcpdump would record them.

type pkt struct {
	t             time.Time
	src, dst      netip.AddrPort
	seq, ack      uint32
	syn, fin, rst bool
	payload       []byte
	snap          int // keep only this many bytes of the packet; 0 keeps all
}

// packetBytes serialises p for a link type: Ethernet, Linux cooked v2,
// loopback or raw IP, over IPv4 or IPv6 as the addresses are.
func packetBytes(t testing.TB, p pkt, link linkType) []byte {
	t.Helper()
	v6 := p.src.Addr().Is6()
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(p.src.Port()), DstPort: layers.TCPPort(p.dst.Port()),
		Seq: p.seq, Ack: p.ack, SYN: p.syn, FIN: p.fin, RST: p.rst, ACK: !p.syn || p.ack != 0, Window: 65535,
	}
	var ip gopacket.SerializableLayer
	etherType := layers.EthernetTypeIPv4
	if v6 {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		if err := tcp.SetNetworkLayerForChecksum(ip6); err != nil {
			t.Fatal(err)
		}
		ip, etherType = ip6, layers.EthernetTypeIPv6
	} else {
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		if err := tcp.SetNetworkLayerForChecksum(ip4); err != nil {
			t.Fatal(err)
		}
		ip = ip4
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(p.payload)); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()
	var head []byte
	switch link {
	case linkEthernet:
		eb := gopacket.NewSerializeBuffer()
		eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: etherType}
		if err := gopacket.SerializeLayers(eb, opts, eth, gopacket.Payload(body)); err != nil {
			t.Fatal(err)
		}
		return eb.Bytes()
	case linkSLL2:
		head = make([]byte, 20)
		binary.BigEndian.PutUint16(head, uint16(etherType))
		binary.BigEndian.PutUint32(head[4:], 1) // interface index
		binary.BigEndian.PutUint16(head[8:], 772)
		head[11] = 6
	case linkNull:
		head = binary.LittleEndian.AppendUint32(nil, 2) // AF_INET, in the writer's byte order
		if v6 {
			head = binary.LittleEndian.AppendUint32(nil, 30)
		}
	case linkRaw:
	default:
		t.Fatalf("no test packets for %v", link)
	}
	return append(head, body...)
}

// pcapFile writes packets as a classic pcap file (little-endian, nanosecond
// timestamps when nanos).
func pcapFile(t testing.TB, link linkType, nanos bool, pkts []pkt) []byte {
	t.Helper()
	var b []byte
	magic := uint32(pcapMagicMicros)
	if nanos {
		magic = pcapMagicNanos
	}
	b = binary.LittleEndian.AppendUint32(b, magic)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...) // time zone, accuracy
	b = binary.LittleEndian.AppendUint32(b, 262144)
	b = binary.LittleEndian.AppendUint32(b, uint32(link))
	for _, p := range pkts {
		data := packetBytes(t, p, link)
		kept := data
		if p.snap > 0 && p.snap < len(data) {
			kept = data[:p.snap]
		}
		frac := p.t.Nanosecond() / 1000
		if nanos {
			frac = p.t.Nanosecond()
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(p.t.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(frac))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kept)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, kept...)
	}
	return b
}

// pcapngFile writes packets as a pcapng file in byte order bo: a section
// header, one interface with nanosecond timestamps, enhanced packet blocks,
// and an unknown block that readers must skip.
func pcapngFile(t testing.TB, bo binary.AppendByteOrder, link linkType, pkts []pkt) []byte {
	t.Helper()
	block := func(b []byte, typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		b = bo.AppendUint32(b, typ)
		b = bo.AppendUint32(b, n)
		b = append(b, body...)
		return bo.AppendUint32(b, n)
	}
	var shb []byte
	shb = bo.AppendUint32(shb, ngByteOrderMagic)
	shb = bo.AppendUint16(shb, 1)
	shb = bo.AppendUint16(shb, 0)
	shb = bo.AppendUint64(shb, ^uint64(0)) // section length unknown
	b := block(nil, ngSectionHeader, shb)
	var idb []byte
	idb = bo.AppendUint16(idb, uint16(link))
	idb = bo.AppendUint16(idb, 0)
	idb = bo.AppendUint32(idb, 262144)
	idb = bo.AppendUint16(idb, 9) // if_tsresol: 10^-9
	idb = bo.AppendUint16(idb, 1)
	idb = append(idb, 9, 0, 0, 0)
	idb = bo.AppendUint32(idb, 0) // end of options
	b = block(b, ngInterface, idb)
	b = block(b, 0x0BAD, []byte("custom block"))
	for _, p := range pkts {
		data := packetBytes(t, p, link)
		kept := data
		if p.snap > 0 && p.snap < len(data) {
			kept = data[:p.snap]
		}
		ts := uint64(p.t.UnixNano())
		var epb []byte
		epb = bo.AppendUint32(epb, 0)
		epb = bo.AppendUint32(epb, uint32(ts>>32))
		epb = bo.AppendUint32(epb, uint32(ts))
		epb = bo.AppendUint32(epb, uint32(len(kept)))
		epb = bo.AppendUint32(epb, uint32(len(data)))
		epb = append(epb, kept...)
		b = block(b, ngEnhancedPacket, epb)
	}
	return b
}

// tcpStream produces the segments of one direction of a connection.
type tcpStream struct {
	src, dst netip.AddrPort
	isn      uint32
	data     []byte
	sent     int
}

func newTCPStream(src, dst string, isn uint32, frames ...[]byte) *tcpStream {
	s := &tcpStream{src: netip.MustParseAddrPort(src), dst: netip.MustParseAddrPort(dst), isn: isn}
	for _, f := range frames {
		s.data = append(s.data, f...)
	}
	return s
}

func (s *tcpStream) syn(t time.Time, ack bool) pkt {
	p := pkt{t: t, src: s.src, dst: s.dst, seq: s.isn, syn: true}
	if ack {
		p.ack = 1
	}
	return p
}

// next returns the next n bytes (fewer at the end) as a segment.
func (s *tcpStream) next(t time.Time, n int) pkt {
	n = min(n, len(s.data)-s.sent)
	p := pkt{t: t, src: s.src, dst: s.dst, seq: s.isn + 1 + uint32(s.sent), ack: 1, payload: s.data[s.sent : s.sent+n]}
	s.sent += n
	return p
}

func (s *tcpStream) fin(t time.Time) pkt {
	return pkt{t: t, src: s.src, dst: s.dst, seq: s.isn + 1 + uint32(len(s.data)), ack: 1, fin: true}
}
