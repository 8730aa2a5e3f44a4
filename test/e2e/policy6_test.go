package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestPolicyIPv6DualStack: workload policy holds for IPv6 as for IPv4 in a dual-stack
// cluster (two hosts, BGP). Profiles isolate two CNI networks over both families; a deny
// GlobalNetworkPolicy stops ping, ping6 and TCP over IPv6, an allow ordered before it
// restores them, an ipVersion 6 rule lets only IPv6 through, and a forged IPv6 source is
// dropped while the workload's own address passes. Every step is checked in both directions
// (the policy applies to one side: the other keeps working).
func TestPolicyIPv6DualStack(t *testing.T) {
	c := startDualCluster(t, dualStack(oneSubnet()), false)
	applyPool(t, c, "Never", "Never")
	applyPool6(t, c, "Never", false)
	startAgents(t, c, cluster.AgentOptions{IP6: true}, "node1", "node2")
	add := func(host, name string, o cluster.ContainerOptions) *cluster.Container {
		t.Helper()
		ct, err := c.AddContainerWith(host, name, o)
		if err != nil {
			t.Fatal(err)
		}
		if !ct.IP.Is4() || !ct.IP6.Is6() {
			t.Fatalf("container %s: addresses %s and %s, want one of each family", ct.Name, ct.IP, ct.IP6)
		}
		return ct
	}
	a := add("node1", "a", cluster.ContainerOptions{Labels: map[string]string{"app": "a"}})
	b := add("node2", "b", cluster.ContainerOptions{Labels: map[string]string{"app": "b"}})
	o := add("node1", "o", cluster.ContainerOptions{Network: "brindle-other", Labels: map[string]string{"app": "b"}})
	matrix(t, []*cluster.Container{a, b})
	matrix6(t, []*cluster.Container{a, b})
	sink := udp6Sink(t, b)

	type probe struct {
		name     string
		from, to *cluster.Container
		run      func(from, to *cluster.Container) bool
	}
	ping4 := func(f, to *cluster.Container) bool {
		n, _ := testbed.Ping(f.NS, to.IP, 1, 300*time.Millisecond)
		return n > 0
	}
	ping6 := func(f, to *cluster.Container) bool {
		n, _ := testbed.Ping(f.NS, to.IP6, 1, 300*time.Millisecond)
		return n > 0
	}
	tcp6 := func(f, to *cluster.Container) bool { return tcp6Connects(f, to.IP6, 8086) }
	// expect waits until every probe gives want, then checks once more that it holds.
	expect := func(what string, want map[string]bool, probes ...probe) {
		t.Helper()
		check := func() (bool, string) {
			for _, p := range probes {
				if got := p.run(p.from, p.to); got != want[p.name] {
					return false, fmt.Sprintf("%s %s -> %s: got through %v, want %v", p.name, p.from.Name, p.to.Name, got, want[p.name])
				}
			}
			return true, ""
		}
		if err := cluster.WaitFor(15*time.Second, what, check); err != nil {
			t.Fatal(err)
		}
		if ok, why := check(); !ok {
			t.Fatalf("%s: not stable: %s", what, why)
		}
	}
	stopTCP := tcp6Server(t, b, 8086)
	defer stopTCP()
	stopTCPa := tcp6Server(t, a, 8086)
	defer stopTCPa()
	toB := []probe{{"ping", a, b, ping4}, {"ping6", a, b, ping6}, {"tcp6", a, b, tcp6}}
	fromB := []probe{{"ping-back", b, a, ping4}, {"ping6-back", b, a, ping6}, {"tcp6-back", b, a, tcp6}}
	all := append(append([]probe{}, toB...), fromB...)
	yes := map[string]bool{"ping": true, "ping6": true, "tcp6": true, "ping-back": true, "ping6-back": true, "tcp6-back": true}

	t.Run("profiles isolate two networks over both families", func(t *testing.T) {
		expect("same network reaches", yes, all...)
		expect("other network isolated", map[string]bool{},
			probe{"ping", a, o, ping4}, probe{"ping6", a, o, ping6}, probe{"ping", o, a, ping4}, probe{"ping6", o, a, ping6})
	})
	gnp := func(name string, order int, ingress string) {
		t.Helper()
		if err := c.Apply(fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: %s}
spec:
  order: %d
  selector: app == 'b'
  types: [Ingress]
  ingress: %s
`, name, order, ingress)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("deny stops IPv4 and IPv6", func(t *testing.T) {
		gnp("deny-b", 100, "[{action: Deny}]")
		expect("deny to b", map[string]bool{"ping-back": true, "ping6-back": true, "tcp6-back": true}, all...)
	})
	t.Run("allow restores both", func(t *testing.T) {
		gnp("allow-b", 10, "[{action: Allow}]")
		expect("allow to b", yes, all...)
	})
	t.Run("ipVersion 6 rule affects only IPv6", func(t *testing.T) {
		gnp("allow-b", 10, "[{action: Allow, ipVersion: 6}]")
		expect("allow IPv6 to b", map[string]bool{"ping6": true, "tcp6": true, "ping-back": true, "ping6-back": true, "tcp6-back": true}, all...)
		gnp("allow-b", 10, "[{action: Allow, ipVersion: 4}]")
		expect("allow IPv4 to b", map[string]bool{"ping": true, "ping-back": true, "ping6-back": true, "tcp6-back": true}, all...)
		gnp("allow-b", 10, "[{action: Allow}]")
		expect("allow to b", yes, all...)
	})
	t.Run("workload to host over IPv6 follows defaultEndpointToHostAction", func(t *testing.T) {
		// Drop (the default) for the host's own IPv6 address, while neighbour discovery
		// towards the host (accepted before policy) keeps b reachable through it.
		if n, _ := testbed.Ping(a.NS, hostIP6(c, "node1"), 2, 300*time.Millisecond); n != 0 {
			t.Error("a workload reached its own host over IPv6: defaultEndpointToHostAction Drop not enforced")
		}
		expect("still routed through the host", yes, all...)
	})
	t.Run("forged IPv6 source dropped", func(t *testing.T) {
		forged := netip.MustParseAddr("fd00:99::1")
		if out, err := exec.Command("ip", "-n", a.NS.Name, "addr", "add", forged.String()+"/128", "dev", "eth0", "nodad").CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		own := false
		for range 10 {
			if own = sink.probe(t, a, b.IP6, a.IP6); own {
				break
			}
		}
		if !own {
			t.Fatal("UDP over IPv6 from the workload's own address did not arrive: the probe cannot tell")
		}
		for range 3 {
			if sink.probe(t, a, b.IP6, forged) {
				t.Fatal("a datagram from a forged IPv6 source arrived")
			}
		}
	})
}

// udp6 is a UDP sink over IPv6 in a container that records which source each token came from.
type udp6 struct {
	mu   sync.Mutex
	seen map[string]netip.Addr
}

const udp6SinkPort = 7006

func udp6Sink(t *testing.T, ct *cluster.Container) *udp6 {
	t.Helper()
	s := &udp6{seen: map[string]netip.Addr{}}
	var pc net.PacketConn
	if err := ct.NS.Do(func() (err error) {
		pc, err = net.ListenPacket("udp6", fmt.Sprintf("[::]:%d", udp6SinkPort))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 100)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if ua, ok := from.(*net.UDPAddr); ok {
				a, _ := netip.AddrFromSlice(ua.IP)
				s.mu.Lock()
				s.seen[string(buf[:n])] = a.Unmap()
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// probe sends one datagram from src in ct to dst and reports whether it arrived from src.
func (s *udp6) probe(t *testing.T, ct *cluster.Container, dst, src netip.Addr) bool {
	t.Helper()
	var c net.Conn
	err := ct.NS.Do(func() (err error) {
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: src.AsSlice()}}
		c, err = d.Dial("udp6", netip.AddrPortFrom(dst, udp6SinkPort).String())
		return err
	})
	if err != nil {
		t.Fatalf("UDP from %s in %s: %v", src, ct, err)
	}
	defer c.Close()
	b := make([]byte, 8)
	rand.Read(b)
	token := hex.EncodeToString(b)
	if _, err := c.Write([]byte(token)); err != nil {
		return false
	}
	for deadline := time.Now().Add(probeTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s.mu.Lock()
		got, ok := s.seen[token]
		s.mu.Unlock()
		if ok {
			return got == src
		}
	}
	return false
}

// tcp6Server accepts TCP over IPv6 on port in ct and greets each connection.
func tcp6Server(t *testing.T, ct *cluster.Container, port int) func() {
	t.Helper()
	var l net.Listener
	if err := ct.NS.Do(func() (err error) { l, err = net.Listen("tcp6", fmt.Sprintf("[::]:%d", port)); return err }); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi\n"))
			c.Close()
		}
	}()
	return func() { l.Close() }
}

// tcp6Connects connects over IPv6 and reads the greeting.
func tcp6Connects(from *cluster.Container, dst netip.Addr, port int) bool {
	var c net.Conn
	err := from.NS.Do(func() (err error) {
		c, err = net.DialTimeout("tcp6", netip.AddrPortFrom(dst, uint16(port)).String(), probeTimeout)
		return err
	})
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(probeTimeout))
	buf := make([]byte, 3)
	n, _ := c.Read(buf)
	return n > 0
}
