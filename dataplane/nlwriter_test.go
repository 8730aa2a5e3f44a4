package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestNLWriterMatchesAcks: more requests than one window, every seventh of them invalid
// (an interface index that does not exist). Each request must get its own outcome: an
// error for the invalid ones, the others programmed, and nothing else.
func TestNLWriterMatchesAcks(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	h, err := openNS("/var/run/netns/" + a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	w, err := h.writer()
	if err != nil {
		t.Fatal(err)
	}
	eth0, err := h.nl.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 3*nlWindow + 17
	results := make([]error, n)
	called := make([]int, n)
	for i := range n {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}), 32)
		k := kroute{typ: unix.RTN_UNICAST, link: eth0.Attrs().Index, gw: netip.MustParseAddr("10.0.1.2"), proto: ProtoBrindle}
		if i%7 == 3 {
			k.link = 99999
		}
		w.queue(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, routeBody(dst, k, 0), func(err error) {
			results[i] = err
			called[i]++
		})
	}
	w.flush()
	routes, err := h.nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: ProtoBrindle},
		netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		t.Fatal(err)
	}
	inKernel := map[netip.Prefix]bool{}
	for _, r := range routes {
		if dst, k, ok := fromKernel(r); ok && k.gw == netip.MustParseAddr("10.0.1.2") {
			inKernel[dst] = true
		}
	}
	var bad []string
	for i := range n {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}), 32)
		invalid := i%7 == 3
		switch {
		case called[i] != 1:
			bad = append(bad, fmt.Sprintf("%s: callback called %d times", dst, called[i]))
		case invalid && !errors.As(results[i], new(unix.Errno)):
			bad = append(bad, fmt.Sprintf("%s: want a kernel error, got %v", dst, results[i]))
		case !invalid && results[i] != nil:
			bad = append(bad, dst.String()+": "+results[i].Error())
		case invalid == inKernel[dst]:
			bad = append(bad, dst.String()+": kernel presence does not match the ack")
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d of %d requests wrong: %s", len(bad), n, strings.Join(bad[:min(5, len(bad))], "; "))
	}
}
