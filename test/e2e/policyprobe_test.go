package e2e

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// The probes of the policy matrix: real TCP connects, UDP echoes, ICMP echo requests with a
// chosen code, and UDP datagrams from a forged source, each bounded by probeTimeout. A
// dropped probe times out; a probe refused (no listener) is an error of the harness, never
// read as "denied", so a row cannot pass because a server is missing.

const probeTimeout = 400 * time.Millisecond

// Ports every container serves, so that "denied" always means the policy dropped it.
var (
	tcpPorts = []int{80, 443, 6379, 8081, 8082, 8083, 8084, 8085, 8086, 8087, 8088, 9005, 9011}
	udpPorts = []int{53, 9005, 9011}
)

// sinkPort receives datagrams and records their payloads (the anti-spoofing probe: a forged
// source gets no reply, so arrival is checked at the receiver).
const sinkPort = 7000

type servers struct {
	closers []func()
	mu      sync.Mutex
	seen    map[string]netip.Addr // payload token -> source address it came from
}

// serve starts the TCP, UDP echo and sink listeners inside ct's namespace.
func serve(ct *cluster.Container) (*servers, error) {
	s := &servers{seen: map[string]netip.Addr{}}
	for _, p := range tcpPorts {
		var l net.Listener
		err := ct.NS.Do(func() (err error) {
			l, err = net.Listen("tcp4", fmt.Sprintf(":%d", p))
			return err
		})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("TCP %d in %s: %w", p, ct, err)
		}
		s.closers = append(s.closers, func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("ok\n"))
				c.Close()
			}
		}()
	}
	for _, p := range udpPorts {
		stop, err := testbed.ServeUDPEcho(ct.NS, netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)))
		if err != nil {
			s.close()
			return nil, err
		}
		s.closers = append(s.closers, stop)
	}
	var pc net.PacketConn
	if err := ct.NS.Do(func() (err error) { pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", sinkPort)); return err }); err != nil {
		s.close()
		return nil, err
	}
	s.closers = append(s.closers, func() { pc.Close() })
	go func() {
		buf := make([]byte, 256)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if ua, ok := from.(*net.UDPAddr); ok {
				a, _ := netip.AddrFromSlice(ua.IP.To4())
				s.mu.Lock()
				s.seen[string(buf[:n])] = a
				s.mu.Unlock()
			}
		}
	}()
	return s, nil
}

func (s *servers) close() {
	for _, c := range s.closers {
		c()
	}
}

func (s *servers) arrived(token string) (netip.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.seen[token]
	return a, ok
}

var errRefused = errors.New("connection refused: no listener, the harness is broken")

// probeTCP connects from a namespace to dst:port and reads the server's greeting.
func probeTCP(from *testbed.Netns, dst netip.Addr, port int) (bool, error) {
	var c net.Conn
	err := from.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", netip.AddrPortFrom(dst, uint16(port)).String(), probeTimeout)
		return err
	})
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false, errRefused
	}
	if err != nil {
		return false, nil // timed out: dropped
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(probeTimeout))
	buf := make([]byte, 3)
	n, _ := c.Read(buf)
	return n > 0, nil
}

// probeUDP sends one datagram to the echo server at dst:port and waits for it back.
func probeUDP(from *testbed.Netns, dst netip.Addr, port int) (bool, error) {
	got, err := testbed.UDPEchoes(from, netip.AddrPortFrom(dst, uint16(port)), 1, probeTimeout)
	return got == 1, err
}

// probeICMP sends one echo request of the given code (0 is the only one ping uses; Linux
// answers any code and copies it into the reply) and waits for the matching reply.
func probeICMP(from *testbed.Netns, dst netip.Addr, code byte) (bool, error) {
	var pc net.PacketConn
	if err := from.Do(func() (err error) { pc, err = net.ListenPacket("ip4:icmp", "0.0.0.0"); return err }); err != nil {
		return false, err
	}
	defer pc.Close()
	id := uint16(os.Getpid()) ^ uint16(time.Now().UnixNano())
	msg := make([]byte, 16)
	msg[0], msg[1] = 8, code
	binary.BigEndian.PutUint16(msg[4:], id)
	binary.BigEndian.PutUint16(msg[6:], 1)
	copy(msg[8:], "brpolicy")
	var sum uint32
	for i := 0; i < len(msg); i += 2 {
		sum += uint32(msg[i])<<8 | uint32(msg[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(msg[2:], ^uint16(sum))
	if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return false, nil
	}
	deadline := time.Now().Add(probeTimeout)
	buf := make([]byte, 1500)
	for {
		pc.SetReadDeadline(deadline)
		n, src, err := pc.ReadFrom(buf)
		if err != nil {
			return false, nil
		}
		ip, ok := src.(*net.IPAddr)
		if ok && n >= 8 && buf[0] == 0 && ip.IP.Equal(dst.AsSlice()) && binary.BigEndian.Uint16(buf[4:]) == id {
			return true, nil
		}
	}
}

// probeSpoof sends a datagram to the sink on dst from src (the container's own address, or
// a second address added to its eth0 that is not the endpoint's: a forged source) and
// reports whether it arrived with that source.
func probeSpoof(from *cluster.Container, to *servers, dst, src netip.Addr) (bool, error) {
	var c net.Conn
	err := from.NS.Do(func() (err error) {
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: src.AsSlice()}}
		c, err = d.Dial("udp4", netip.AddrPortFrom(dst, sinkPort).String())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("UDP from %s in %s: %w", src, from, err)
	}
	defer c.Close()
	b := make([]byte, 8)
	rand.Read(b)
	token := hex.EncodeToString(b)
	if _, err := c.Write([]byte(token)); err != nil {
		return false, nil
	}
	deadline := time.Now().Add(probeTimeout)
	for time.Now().Before(deadline) {
		if got, ok := to.arrived(token); ok {
			return got == src, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false, nil
}
