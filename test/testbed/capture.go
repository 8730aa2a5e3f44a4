package testbed

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// IPv4Header is the part of an IP header the scenarios check (IPv6 packets fill it too).
type IPv4Header struct {
	Src, Dst netip.Addr
	Proto    uint8 // 1 ICMP, 4 IPIP, 17 UDP
}

// Packet is one captured IPv4 or IPv6 frame (VXLAN over IPv6 carrying IPv6 too). Inner is set for IPIP (protocol 4) and for VXLAN (UDP
// port 4789) packets whose payload is IPv4.
type Packet struct {
	Outer IPv4Header
	Inner *IPv4Header
	VXLAN bool
	// SrcPort and DstPort are the outer UDP ports of a UDP packet (WireGuard's 51820, 51821).
	SrcPort, DstPort uint16
}

func (p Packet) String() string {
	s := fmt.Sprintf("%s > %s proto %d", p.Outer.Src, p.Outer.Dst, p.Outer.Proto)
	if p.Inner != nil {
		s += fmt.Sprintf(" [inner %s > %s proto %d]", p.Inner.Src, p.Inner.Dst, p.Inner.Proto)
	}
	return s
}

// Capture records IPv4 frames seen on one interface, like a tcpdump on the fabric, but with
// nothing outside the kernel: a packet socket opened inside the namespace.
type Capture struct {
	fd      int
	mu      sync.Mutex
	packets []Packet
	done    chan struct{} // closed by Stop
	exited  chan struct{} // closed by the reader after it closed the socket
	stop    sync.Once
}

// Capture starts recording on ifname inside n until Stop.
func (n *Netns) Capture(ifname string) (*Capture, error) {
	l, err := n.NL.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("capture on %s in %s: %w", ifname, n.Name, err)
	}
	proto := int(htons(unix.ETH_P_ALL))
	c := &Capture{fd: -1, done: make(chan struct{}), exited: make(chan struct{})}
	err = n.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		c.fd = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: l.Attrs().Index})
	})
	if err == nil {
		// A receive timeout lets the reader notice Stop without closing the fd under it.
		err = unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000})
	}
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		return nil, fmt.Errorf("packet socket on %s in %s: %w", ifname, n.Name, err)
	}
	go c.read()
	return c, nil
}

func (c *Capture) read() {
	// The reader owns the socket: closing it from Stop while Recvfrom runs could let the fd
	// number be reused under the reader.
	defer close(c.exited)
	defer unix.Close(c.fd)
	buf := make([]byte, 65536)
	for {
		flags := 0
		select {
		case <-c.done:
			// Drain what the kernel already queued, so Stop right after the traffic sees it all.
			flags = unix.MSG_DONTWAIT
		default:
		}
		nr, _, err := unix.Recvfrom(c.fd, buf, flags)
		if err != nil && flags != 0 {
			return
		}
		if err != nil || nr < 14 {
			continue // receive timeout or runt
		}
		if p, ok := parseEthernet(buf[:nr]); ok {
			c.mu.Lock()
			c.packets = append(c.packets, p)
			c.mu.Unlock()
		}
	}
}

// Packets returns what was captured so far.
func (c *Capture) Packets() []Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Packet(nil), c.packets...)
}

// Stop ends the capture and returns every packet seen.
func (c *Capture) Stop() []Packet {
	c.stop.Do(func() { close(c.done) })
	<-c.exited // within one receive timeout
	return c.Packets()
}

func parseEthernet(f []byte) (Packet, bool) {
	if binary.BigEndian.Uint16(f[12:14]) == unix.ETH_P_IPV6 {
		// IPv6: the fixed header only (no extension headers in the beds' traffic); Proto is
		// its next header (58 for ICMPv6).
		b := f[14:]
		if len(b) < 40 || b[0]>>4 != 6 {
			return Packet{}, false
		}
		p := Packet{Outer: IPv4Header{Src: netip.AddrFrom16([16]byte(b[8:24])),
			Dst: netip.AddrFrom16([16]byte(b[24:40])), Proto: b[6]}}
		payload := b[40:]
		if p.Outer.Proto == 17 && len(payload) >= 8 { // WireGuard's 51821 over IPv6
			p.SrcPort, p.DstPort = binary.BigEndian.Uint16(payload[0:2]), binary.BigEndian.Uint16(payload[2:4])
		}
		if p.Outer.Proto == 17 && len(payload) >= 8+8+14 && binary.BigEndian.Uint16(payload[2:4]) == 4789 {
			p.VXLAN = true
			inner := payload[16:]
			if binary.BigEndian.Uint16(inner[12:14]) == unix.ETH_P_IPV6 {
				if in, ok := parseEthernet(inner); ok {
					p.Inner = &in.Outer
				}
			}
		}
		return p, true
	}
	if binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_IP {
		return Packet{}, false
	}
	outer, payload, ok := parseIPv4(f[14:])
	if !ok {
		return Packet{}, false
	}
	p := Packet{Outer: outer}
	if outer.Proto == 17 && len(payload) >= 8 {
		p.SrcPort, p.DstPort = binary.BigEndian.Uint16(payload[0:2]), binary.BigEndian.Uint16(payload[2:4])
	}
	switch {
	case outer.Proto == 4:
		if in, _, ok := parseIPv4(payload); ok {
			p.Inner = &in
		}
	case outer.Proto == 17 && len(payload) >= 8+8+14 && binary.BigEndian.Uint16(payload[2:4]) == 4789:
		p.VXLAN = true
		inner := payload[16:] // UDP header, VXLAN header, then the inner Ethernet frame
		if binary.BigEndian.Uint16(inner[12:14]) == unix.ETH_P_IP {
			if in, _, ok := parseIPv4(inner[14:]); ok {
				p.Inner = &in
			}
		}
	}
	return p, true
}

func parseIPv4(b []byte) (IPv4Header, []byte, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return IPv4Header{}, nil, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return IPv4Header{}, nil, false
	}
	h := IPv4Header{
		Src:   netip.AddrFrom4([4]byte(b[12:16])),
		Dst:   netip.AddrFrom4([4]byte(b[16:20])),
		Proto: b[9],
	}
	return h, b[ihl:], true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
