package msgdump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"time"
)

// pcap and pcapng are read here rather than with gopacket's pcapgo, which
// cannot be built without golang.org/x/net (for live capture) and which
// trusts the lengths and timestamp resolutions in a file: a corrupt one
// makes it allocate gigabytes or divide by zero. This reader bounds every
// length before it allocates, reports damage with its file offset and
// never panics; packetDecoder takes the packets apart.

// maxPacket bounds the bytes msgdump takes from one captured packet, so a
// corrupt length cannot make it allocate gigabytes. Linux hands tcpdump at
// most 256 KiB (its default snap length) even with large offloaded segments.
const maxPacket = 1 << 20

// maxBlock bounds a pcapng block: a packet and generous options.
const maxBlock = maxPacket + 64<<10

// linkType is a pcap LINKTYPE_ value (Linux cooked v2 is 276, beyond a byte).
type linkType uint32

const (
	linkNull     linkType = 0
	linkEthernet linkType = 1
	linkRaw      linkType = 101
	linkLoop     linkType = 108
	linkSLL      linkType = 113
	linkIPv4     linkType = 228
	linkIPv6     linkType = 229
	linkSLL2     linkType = 276
)

func (l linkType) String() string {
	switch l {
	case linkNull, linkLoop:
		return "loopback"
	case linkEthernet:
		return "Ethernet"
	case linkRaw, linkIPv4, linkIPv6:
		return "raw IP"
	case linkSLL:
		return "Linux cooked"
	case linkSLL2:
		return "Linux cooked v2"
	}
	return fmt.Sprintf("link type %d", uint32(l))
}

const (
	pcapMagicMicros = 0xa1b2c3d4
	pcapMagicNanos  = 0xa1b23c4d
	pcapHeaderSize  = 24
	pcapRecordSize  = 16

	ngSectionHeader  = 0x0A0D0D0A
	ngByteOrderMagic = 0x1A2B3C4D
	ngInterface      = 1
	ngPacket         = 2 // obsolete, still written by old tools
	ngSimplePacket   = 3
	ngEnhancedPacket = 6
)

// capturedPacket is one packet as the capture file holds it.
type capturedPacket struct {
	off  int64 // file offset of its record or block
	time time.Time
	link linkType
	data []byte // aliases the reader's buffer until the next call
}

// ngIface is a pcapng interface description: what its packets need.
type ngIface struct {
	link   linkType
	snap   uint32
	units  uint64 // timestamp units per second
	offset int64  // seconds added to every timestamp
}

// pcapReader reads packets from a pcap or pcapng file.
type pcapReader struct {
	in    window
	ng    bool
	order binary.ByteOrder
	// pcap
	link  linkType
	units uint64
	// pcapng: the current section's interfaces
	ifaces []ngIface
}

// newPcapReader reads the file header (pcap) or checks for the first
// section header (pcapng, read with the blocks).
func newPcapReader(r io.Reader, ng bool) (*pcapReader, error) {
	p := &pcapReader{in: window{r: r}, ng: ng}
	if ng {
		return p, nil
	}
	h, err := p.in.need(pcapHeaderSize)
	if err != nil {
		return nil, err
	}
	if len(h) < pcapHeaderSize {
		return nil, damage(0, "pcap header: truncated (need %d bytes, have %d)", pcapHeaderSize, len(h))
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		switch order.Uint32(h) {
		case pcapMagicMicros:
			p.order, p.units = order, 1e6
		case pcapMagicNanos:
			p.order, p.units = order, 1e9
		}
	}
	if p.order == nil {
		return nil, damage(0, "pcap header: bad magic %x", h[:4])
	}
	if major := p.order.Uint16(h[4:]); major != 2 {
		return nil, damage(4, "pcap header: version %d.%d (want 2.4)", major, p.order.Uint16(h[6:]))
	}
	// The link type is the low 16 bits; higher ones describe frame check sequences.
	p.link = linkType(p.order.Uint32(h[20:]) & 0xffff)
	p.in.skip(pcapHeaderSize)
	return p, nil
}

// next returns the next packet, io.EOF at the end of the file, or an error
// naming the offset of the damage; after an error the file cannot be read on.
func (p *pcapReader) next() (capturedPacket, error) {
	if p.ng {
		return p.nextBlock()
	}
	off := p.in.off
	h, err := p.in.need(pcapRecordSize)
	if err != nil {
		return capturedPacket{}, err
	}
	if len(h) == 0 {
		return capturedPacket{}, io.EOF
	}
	if len(h) < pcapRecordSize {
		return capturedPacket{}, damage(off, "truncated packet record header (need %d bytes, have %d)", pcapRecordSize, len(h))
	}
	sec, frac := p.order.Uint32(h), p.order.Uint32(h[4:])
	caplen := p.order.Uint32(h[8:])
	if caplen > maxPacket {
		return capturedPacket{}, damage(off, "packet of %d captured bytes exceeds the limit of %d", caplen, maxPacket)
	}
	b, err := p.in.need(pcapRecordSize + int(caplen))
	if err != nil {
		return capturedPacket{}, err
	}
	if len(b) < pcapRecordSize+int(caplen) {
		return capturedPacket{}, damage(off, "truncated packet (need %d bytes, have %d)", caplen, len(b)-pcapRecordSize)
	}
	p.in.skip(pcapRecordSize + int(caplen))
	return capturedPacket{
		off:  off,
		time: stamp(int64(sec), uint64(frac)%p.units, p.units),
		link: p.link,
		data: b[pcapRecordSize : pcapRecordSize+int(caplen)],
	}, nil
}

// nextBlock reads pcapng blocks up to the next packet.
func (p *pcapReader) nextBlock() (capturedPacket, error) {
	for {
		off := p.in.off
		h, err := p.in.need(12)
		if err != nil {
			return capturedPacket{}, err
		}
		if len(h) == 0 {
			return capturedPacket{}, io.EOF
		}
		if len(h) < 12 {
			return capturedPacket{}, damage(off, "truncated block header (need 12 bytes, have %d)", len(h))
		}
		// A section header reads the same in either byte order and sets the order of what follows.
		if binary.BigEndian.Uint32(h) == ngSectionHeader {
			switch {
			case binary.BigEndian.Uint32(h[8:]) == ngByteOrderMagic:
				p.order = binary.BigEndian
			case binary.LittleEndian.Uint32(h[8:]) == ngByteOrderMagic:
				p.order = binary.LittleEndian
			default:
				return capturedPacket{}, damage(off, "section header with bad byte-order magic %x", h[8:12])
			}
		} else if p.order == nil {
			return capturedPacket{}, damage(off, "pcapng file without a section header first")
		}
		typ, n := p.order.Uint32(h), p.order.Uint32(h[4:])
		if n < 12 || n%4 != 0 || n > maxBlock {
			return capturedPacket{}, damage(off, "block length %d (want a multiple of 4 from 12 to %d)", n, maxBlock)
		}
		b, err := p.in.need(int(n))
		if err != nil {
			return capturedPacket{}, err
		}
		if len(b) < int(n) {
			return capturedPacket{}, damage(off, "truncated block (need %d bytes, have %d)", n, len(b))
		}
		b = b[:n]
		p.in.skip(int(n))
		if t := p.order.Uint32(b[n-4:]); t != n {
			return capturedPacket{}, damage(off, "block length %d at the start but %d at the end", n, t)
		}
		pk, isPacket, err := p.block(typ, b)
		if err != nil {
			return capturedPacket{}, damage(off, "%v", err)
		}
		if isPacket {
			pk.off = off
			return pk, nil
		}
	}
}

// block interprets one pcapng block; other block types are skipped.
func (p *pcapReader) block(typ uint32, b []byte) (capturedPacket, bool, error) {
	n := len(b)
	switch typ {
	case ngSectionHeader:
		if n < 28 {
			return capturedPacket{}, false, fmt.Errorf("section header of %d bytes", n)
		}
		if major := p.order.Uint16(b[12:]); major != 1 {
			return capturedPacket{}, false, fmt.Errorf("pcapng version %d.%d (want 1.0)", major, p.order.Uint16(b[14:]))
		}
		p.ifaces = p.ifaces[:0]
	case ngInterface:
		if n < 20 {
			return capturedPacket{}, false, fmt.Errorf("interface description of %d bytes", n)
		}
		i := ngIface{link: linkType(p.order.Uint16(b[8:])), snap: p.order.Uint32(b[12:]), units: 1e6}
		err := p.options(b[16:n-4], func(code uint16, v []byte) error {
			switch {
			case code == 9 && len(v) >= 1: // if_tsresol
				exp := uint64(v[0] & 0x7f)
				if v[0]&0x80 != 0 {
					if exp > 63 {
						return fmt.Errorf("timestamp resolution 2^-%d", exp)
					}
					i.units = 1 << exp
				} else {
					if exp > 19 {
						return fmt.Errorf("timestamp resolution 10^-%d", exp)
					}
					i.units = 1
					for range exp {
						i.units *= 10
					}
				}
			case code == 14 && len(v) >= 8: // if_tsoffset, in seconds
				i.offset = int64(p.order.Uint64(v))
			}
			return nil
		})
		if err != nil {
			return capturedPacket{}, false, fmt.Errorf("interface description: %w", err)
		}
		p.ifaces = append(p.ifaces, i)
	case ngEnhancedPacket, ngPacket:
		if n < 32 {
			return capturedPacket{}, false, fmt.Errorf("packet block of %d bytes", n)
		}
		id := p.order.Uint32(b[8:])
		if typ == ngPacket {
			id = uint32(p.order.Uint16(b[8:]))
		}
		caplen := p.order.Uint32(b[20:])
		if uint64(caplen) > uint64(n-32) {
			return capturedPacket{}, false, fmt.Errorf("packet of %d captured bytes in a block of %d", caplen, n)
		}
		if uint64(id) >= uint64(len(p.ifaces)) {
			return capturedPacket{}, false, fmt.Errorf("packet on interface %d, but the section describes %d", id, len(p.ifaces))
		}
		i := p.ifaces[id]
		ts := uint64(p.order.Uint32(b[12:]))<<32 | uint64(p.order.Uint32(b[16:]))
		t := stamp(int64(ts/i.units)+i.offset, ts%i.units, i.units)
		return capturedPacket{time: t, link: i.link, data: b[28 : 28+caplen]}, true, nil
	case ngSimplePacket:
		if n < 16 {
			return capturedPacket{}, false, fmt.Errorf("simple packet block of %d bytes", n)
		}
		if len(p.ifaces) == 0 {
			return capturedPacket{}, false, errors.New("simple packet before any interface description")
		}
		orig := p.order.Uint32(b[8:])
		caplen := min(uint64(orig), uint64(n-16))
		if s := p.ifaces[0].snap; s != 0 {
			caplen = min(caplen, uint64(s))
		}
		// Simple packets carry no time.
		return capturedPacket{link: p.ifaces[0].link, data: b[12 : 12+caplen]}, true, nil
	}
	return capturedPacket{}, false, nil
}

// options walks a pcapng option list and passes each option to fn.
func (p *pcapReader) options(b []byte, fn func(code uint16, v []byte) error) error {
	for len(b) >= 4 {
		code, size := p.order.Uint16(b), int(p.order.Uint16(b[2:]))
		b = b[4:]
		if code == 0 { // end of options
			return nil
		}
		if size > len(b) {
			return fmt.Errorf("option %d of %d bytes overruns its block", code, size)
		}
		if err := fn(code, b[:size]); err != nil {
			return err
		}
		b = b[min(len(b), (size+3)&^3):]
	}
	return nil
}

// stamp makes a time from seconds and a fraction in units per second.
func stamp(sec int64, frac, units uint64) time.Time {
	// frac < units, so frac*1e9/units fits and Div64 cannot overflow.
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, units)
	return time.Unix(sec, int64(ns)).UTC()
}

// tcpPacket is what msgdump needs from a packet.
type tcpPacket struct {
	src, dst           netip.AddrPort
	seq                uint32
	syn, fin, rst, ack bool
	payload            []byte
	missing            int // payload bytes the capture did not keep
}

// packetDecoder takes packets apart down to TCP. Headers are parsed here,
// not with gopacket's layers: importing layers costs every replbench
// process 6.5 MB of resident memory (its tables are built at init), and
// replica memory is one of the figures replbench reports. Only the fields
// msgdump uses are read; every length is checked against the data.
type packetDecoder struct{}

const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100
	etherQinQ  = 0x88a8
	ipProtoTCP = 6
)

// decode returns the TCP segment in a packet, or why there is none.
func (d *packetDecoder) decode(link linkType, data []byte) (p tcpPacket, why string) {
	ip, why := d.network(link, data)
	if why != "" {
		return p, why
	}
	if len(ip) == 0 {
		return p, "not IP"
	}
	var (
		src, dst netip.Addr
		payload  int // TCP header and data, as the IP header says
	)
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < 20 || ihl < 20 || len(ip) < ihl {
			return p, "bad IPv4 header"
		}
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if total < ihl {
			return p, "bad IPv4 header"
		}
		if ip[9] != ipProtoTCP {
			return p, "not TCP"
		}
		if frag := binary.BigEndian.Uint16(ip[6:]); frag&0x2000 != 0 || frag&0x1fff != 0 {
			return p, "IP fragment"
		}
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		payload = total - ihl
		ip = ip[ihl:min(len(ip), total)]
	case 6:
		if len(ip) < 40 {
			return p, "bad IPv6 header"
		}
		if ip[6] != ipProtoTCP {
			return p, "not TCP" // extension headers are not followed
		}
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		payload = int(binary.BigEndian.Uint16(ip[4:]))
		ip = ip[40:min(len(ip), 40+payload)]
	default:
		return p, "not IP"
	}
	if len(ip) < 20 {
		return p, "bad TCP header"
	}
	off := int(ip[12]>>4) * 4
	if off < 20 || off > len(ip) {
		return p, "bad TCP header"
	}
	flags := ip[13]
	p.src = netip.AddrPortFrom(src.Unmap(), binary.BigEndian.Uint16(ip[0:]))
	p.dst = netip.AddrPortFrom(dst.Unmap(), binary.BigEndian.Uint16(ip[2:]))
	p.seq = binary.BigEndian.Uint32(ip[4:])
	p.fin, p.syn, p.rst, p.ack = flags&0x01 != 0, flags&0x02 != 0, flags&0x04 != 0, flags&0x10 != 0
	p.payload = ip[off:]
	p.missing = max(0, payload-off-len(p.payload))
	return p, ""
}

// network strips the link layer and returns the IP packet.
func (d *packetDecoder) network(link linkType, data []byte) ([]byte, string) {
	var proto uint16
	switch link {
	case linkEthernet:
		if len(data) < 14 {
			return nil, "bad Ethernet header"
		}
		proto, data = binary.BigEndian.Uint16(data[12:]), data[14:]
		for proto == etherVLAN || proto == etherQinQ {
			if len(data) < 4 {
				return nil, "bad VLAN header"
			}
			proto, data = binary.BigEndian.Uint16(data[2:]), data[4:]
		}
	case linkSLL:
		if len(data) < 16 {
			return nil, "bad Linux cooked header"
		}
		proto, data = binary.BigEndian.Uint16(data[14:]), data[16:]
	case linkSLL2:
		if len(data) < 20 {
			return nil, "bad Linux cooked header"
		}
		proto, data = binary.BigEndian.Uint16(data), data[20:]
	case linkNull, linkLoop:
		// A 4-byte address family in one byte order or the other; the IP
		// version nibble says the same thing more simply.
		if len(data) < 4 {
			return nil, "bad loopback header"
		}
		return data[4:], ""
	case linkRaw, linkIPv4, linkIPv6:
		return data, ""
	default:
		return nil, link.String()
	}
	if proto != etherIPv4 && proto != etherIPv6 {
		return nil, "not IP"
	}
	return data, ""
}

// damage is a *FormatError: the file is damaged at off and cannot be read on.
func damage(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}
