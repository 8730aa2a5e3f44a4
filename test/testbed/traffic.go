package testbed

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// ServeUDPEcho answers every datagram sent to addr (inside n) with the same bytes until the
// returned stop function is called.
func ServeUDPEcho(n *Netns, addr netip.AddrPort) (stop func(), err error) {
	var pc net.PacketConn
	err = n.Do(func() error {
		var err error
		pc, err = net.ListenPacket("udp4", addr.String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("UDP echo on %s in %s: %w", addr, n.Name, err)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			nr, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed by stop
			}
			_, _ = pc.WriteTo(buf[:nr], from)
		}
	}()
	return func() { pc.Close() }, nil
}

// UDPEchoes sends count datagrams from n to an echo server at to, one at a time, and returns
// how many came back within timeout each.
func UDPEchoes(n *Netns, to netip.AddrPort, count int, timeout time.Duration) (int, error) {
	var conn net.Conn
	err := n.Do(func() error {
		var err error
		conn, err = net.Dial("udp4", to.String())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("UDP socket to %s in %s: %w", to, n.Name, err)
	}
	defer conn.Close()
	got := 0
	buf := make([]byte, 2048)
	for i := range count {
		msg := fmt.Appendf(nil, "brindle-testbed %s #%d", n.Name, i)
		if _, err := conn.Write(msg); err != nil {
			continue // e.g. ICMP unreachable from an earlier datagram; counts as lost
		}
		_ = conn.SetReadDeadline(time.Now().Add(timeout))
		nr, err := conn.Read(buf)
		if err == nil && bytes.Equal(buf[:nr], msg) {
			got++
		}
	}
	return got, nil
}

// Ping sends count ICMP (ICMPv6 for an IPv6 dst) echo requests from n to dst over a raw
// socket and returns how many replies arrived, waiting up to timeout for each. Interval
// between requests is 100 ms.
func Ping(n *Netns, dst netip.Addr, count int, timeout time.Duration) (int, error) {
	var pc net.PacketConn
	network, wildcard, reqType, replyType := "ip4:icmp", "0.0.0.0", byte(8), byte(0)
	if dst.Is6() && !dst.Is4In6() {
		// The kernel fills in the ICMPv6 checksum (it covers a pseudo-header) on raw
		// ICMPv6 sockets.
		network, wildcard, reqType, replyType = "ip6:ipv6-icmp", "::", 128, 129
	}
	err := n.Do(func() error {
		var err error
		pc, err = net.ListenPacket(network, wildcard)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ICMP socket in %s: %w", n.Name, err)
	}
	defer pc.Close()
	id := uint16(os.Getpid()) ^ uint16(time.Now().UnixNano())
	got := 0
	buf := make([]byte, 1500)
	for seq := range count {
		req := EchoRequest(id, uint16(seq))
		if reqType != 8 {
			req[0], req[2], req[3] = reqType, 0, 0
		}
		if _, err := pc.WriteTo(req, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue // no route etc.: a lost ping
		}
		deadline := time.Now().Add(timeout)
		for {
			_ = pc.SetReadDeadline(deadline)
			nr, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			ip, ok := from.(*net.IPAddr)
			// A raw ICMP socket sees every ICMP packet of the namespace: keep only our reply.
			if ok && nr >= 8 && buf[0] == replyType && ip.IP.Equal(dst.AsSlice()) &&
				binary.BigEndian.Uint16(buf[4:6]) == id && binary.BigEndian.Uint16(buf[6:8]) == uint16(seq) {
				got++
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return got, nil
}

// EchoRequest is an ICMP echo request with its checksum (32 bytes of payload).
func EchoRequest(id, seq uint16) []byte {
	b := make([]byte, 8+32)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], "brindle-testbed-ping-payload....")
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[2:], ^uint16(sum))
	return b
}
