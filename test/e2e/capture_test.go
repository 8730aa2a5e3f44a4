package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// wire is how a container-to-container packet must look on the fabric.
type wire int

const (
	wirePlain wire = iota // the pod addresses themselves
	wireVXLAN             // UDP 4789 between host addresses around the pod packet
	wireIPIP              // protocol 4 between host addresses around the pod packet
)

func (w wire) String() string { return [...]string{"plain", "VXLAN", "IPIP"}[w] }

// classify says what form a packet between the two containers took, if it is one.
func classify(p testbed.Packet, from, to *cluster.Container, fromHost, toHost netip.Addr) (wire, bool) {
	inner := p.Inner
	switch {
	case p.Outer.Src == from.IP && p.Outer.Dst == to.IP:
		return wirePlain, true
	case inner == nil || inner.Src != from.IP || inner.Dst != to.IP:
		return 0, false
	case p.Outer.Src != fromHost || p.Outer.Dst != toHost:
		return 0, false
	case p.VXLAN:
		return wireVXLAN, true
	case p.Outer.Proto == 4:
		return wireIPIP, true
	}
	return 0, false
}

// expectWire pings to from from while capturing on from's host port of the fabric, and
// checks every packet of the flow took the wanted form (and that there were some).
func expectWire(t *testing.T, c *cluster.Cluster, from, to *cluster.Container, want wire) {
	t.Helper()
	capt, err := c.Bed.Fabric.Capture(c.HostPort(from.Host))
	if err != nil {
		t.Fatal(err)
	}
	got, err := testbed.Ping(from.NS, to.IP, 3, time.Second)
	pkts := capt.Stop()
	if err != nil || got != 3 {
		t.Fatalf("ping %s -> %s during capture: %d/3 (err %v)", from, to, got, err)
	}
	counts := map[wire]int{}
	for _, p := range pkts {
		if w, ok := classify(p, from, to, hostIP(c, from.Host), hostIP(c, to.Host)); ok {
			counts[w]++
		}
	}
	if counts[want] < 3 {
		t.Errorf("%s -> %s: want >= 3 %s packets on the fabric, saw %v; capture: %v", from, to, want, counts, pkts)
	}
	for w, n := range counts {
		if w != want {
			t.Errorf("%s -> %s: %d packets went %s, want all %s", from, to, n, w, want)
		}
	}
}
