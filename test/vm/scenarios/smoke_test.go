package scenarios

// INFRASTRUCTURE SMOKE TEST. It proves the VM runner and the test bed, not brindle: the
// tunnel, routes and workloads are programmed by hand here, the way brindle's node agent will
// program them. The real IPIP scenarios (issue #7: full mesh, CrossSubnet, route reflector,
// Always -> CrossSubnet switch) start `brindle node run` instead and live next to this file.

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/brindle-net/brindle/test/testbed"
)

type smokeHost struct {
	h     *testbed.Host
	block netip.Prefix // the host's "affine block"
	tun   netip.Addr   // tunl0 address from the block
	pod   netip.Addr
	pods  *testbed.Netns
}

func TestInfraSmokeIPIP(t *testing.T) {
	RequireVM(t)
	bed := testbed.Start(t, testbed.Options{
		Prefix: nsPrefix,
		Hosts:  []testbed.HostOptions{{Name: "a"}, {Name: "b"}},
	})
	hosts := []*smokeHost{
		{h: bed.Host("a"), block: netip.MustParsePrefix("10.244.1.0/24"), tun: netip.MustParseAddr("10.244.1.1"), pod: netip.MustParseAddr("10.244.1.2")},
		{h: bed.Host("b"), block: netip.MustParsePrefix("10.244.2.0/24"), tun: netip.MustParseAddr("10.244.2.1"), pod: netip.MustParseAddr("10.244.2.2")},
	}
	for i, sh := range hosts {
		setupTunl0(t, sh)
		sh.pods = AddWorkload(t, bed, sh.h, WorkloadOptions{Name: sh.h.HostName + "1", IP: sh.pod, HostIf: fmt.Sprintf("calismoke%d", i)})
	}
	for _, sh := range hosts {
		for _, peer := range hosts {
			if peer != sh {
				routeViaTunl0(t, sh.h, peer.block, peer.h.Addr.Addr())
			}
		}
	}
	a, b := hosts[0], hosts[1]
	fabricCounters(t, bed, a.h.Addr.Addr(), b.h.Addr.Addr())
	capA, err := bed.Fabric.Capture("h0") // host a's port on the fabric bridge
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capA.Stop() })

	stop, err := testbed.ServeUDPEcho(b.pods, netip.AddrPortFrom(b.pod, 5555))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if got, err := testbed.UDPEchoes(a.pods, netip.AddrPortFrom(b.pod, 5555), 5, 2*time.Second); err != nil || got != 5 {
		t.Errorf("UDP pod a -> pod b: %d/5 echoes, err %v", got, err)
	}
	for _, p := range [][2]*smokeHost{{a, b}, {b, a}} {
		if got, err := testbed.Ping(p[0].pods, p[1].pod, 3, 2*time.Second); err != nil || got != 3 {
			t.Errorf("ping %s -> %s: %d/3 replies, err %v", p[0].pod, p[1].pod, got, err)
		}
	}

	// Each direction carried 5 UDP + 3 echo requests + 3 echo replies inside IPIP.
	counters, err := nftCounters(bed.Fabric, "netdev", "bvmsmoke")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fabric nft counters: %+v", counters)
	for _, name := range []string{"ipip-a-b", "ipip-b-a"} {
		if c := counters[name]; c.Packets < 11 {
			t.Errorf("fabric counter %s (ip protocol 4 between host addresses): %d packets, want >= 11", name, c.Packets)
		}
	}
	for _, name := range []string{"plain-pod-traffic", "plain-pod-traffic-in"} {
		if c := counters[name]; c.Packets != 0 {
			t.Errorf("fabric counter %s: %d packets; pod addresses must not appear unencapsulated", name, c.Packets)
		}
	}
	checkCapture(t, capA.Stop(), a, b)
}

// setupTunl0 configures the IPIP fallback device that loading ipip creates in every namespace,
// as Calico does: up, MTU 1480 (uplink 1500 - 20), the tunnel address as /32.
func setupTunl0(t *testing.T, sh *smokeHost) {
	t.Helper()
	l, err := sh.h.NL.LinkByName("tunl0")
	if err != nil {
		// ipip not loaded yet: creating an ipip link loads it and brings the fallback device.
		if err := sh.h.NL.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: "tunl0"}}); err != nil {
			t.Fatalf("tunl0 in %s: %v", sh.h.Name, err)
		}
		if l, err = sh.h.NL.LinkByName("tunl0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := l.(*netlink.Iptun); !ok {
		t.Fatalf("tunl0 in %s is a %s, not an ipip tunnel", sh.h.Name, l.Type())
	}
	if err := sh.h.NL.LinkSetMTU(l, 1480); err != nil {
		t.Fatal(err)
	}
	if err := testbed.AddrUp(sh.h.Netns, "tunl0", netip.PrefixFrom(sh.tun, 32)); err != nil {
		t.Fatal(err)
	}
}

// routeViaTunl0 adds `<block> via <peer> dev tunl0 onlink`, the route Calico's IPIP mode uses.
func routeViaTunl0(t *testing.T, h *testbed.Host, block netip.Prefix, peer netip.Addr) {
	t.Helper()
	l, err := h.NL.LinkByName("tunl0")
	if err != nil {
		t.Fatal(err)
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(block), Gw: peer.AsSlice(), Flags: int(netlink.FLAG_ONLINK)}
	if err := h.NL.RouteAdd(r); err != nil {
		t.Fatalf("route %s via %s dev tunl0 onlink in %s: %v", block, peer, h.Name, err)
	}
}

// fabricCounters counts, on the fabric, IPIP between the two host addresses and any
// unencapsulated packet from or to the pod range. The chains hook ingress of each host's
// fabric port (h0 = a, h1 = b), which sees exactly what that host puts on the wire.
func fabricCounters(t *testing.T, bed *testbed.Bed, a, b netip.Addr) {
	t.Helper()
	ruleset := fmt.Sprintf(`table netdev bvmsmoke {
	chain from_a {
		type filter hook ingress device "h0" priority 0;
		ip protocol 4 ip saddr %[1]s ip daddr %[2]s counter comment "ipip-a-b"
		ip saddr 10.244.0.0/16 counter comment "plain-pod-traffic"
	}
	chain from_b {
		type filter hook ingress device "h1" priority 0;
		ip protocol 4 ip saddr %[2]s ip daddr %[1]s counter comment "ipip-b-a"
		ip saddr 10.244.0.0/16 counter comment "plain-pod-traffic-in"
	}
}
`, a, b)
	if err := nftApply(bed.Fabric, ruleset); err != nil {
		t.Fatal(err)
	}
}

// checkCapture wants IPIP packets on host a's fabric port whose outer addresses are the hosts'
// and inner addresses the pods', in both directions.
func checkCapture(t *testing.T, pkts []testbed.Packet, a, b *smokeHost) {
	t.Helper()
	var ab, ba int
	for _, p := range pkts {
		if p.Outer.Proto != 4 || p.Inner == nil {
			continue
		}
		if p.Outer.Src == a.h.Addr.Addr() && p.Outer.Dst == b.h.Addr.Addr() && p.Inner.Src == a.pod && p.Inner.Dst == b.pod {
			ab++
		}
		if p.Outer.Src == b.h.Addr.Addr() && p.Outer.Dst == a.h.Addr.Addr() && p.Inner.Src == b.pod && p.Inner.Dst == a.pod {
			ba++
		}
	}
	t.Logf("capture on the fabric: %d packets, %d IPIP a->b with pod addresses inside, %d b->a", len(pkts), ab, ba)
	if ab < 8 || ba < 8 {
		t.Errorf("capture: %d IPIP a->b and %d b->a carrying pod a <-> pod b, want >= 8 each (5 UDP + 3 ICMP); first packets: %v",
			ab, ba, first(pkts, 10))
	}
}

func first(p []testbed.Packet, n int) []testbed.Packet {
	if len(p) > n {
		return p[:n]
	}
	return p
}
