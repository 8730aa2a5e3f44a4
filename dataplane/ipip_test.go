package dataplane

import (
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

// TestIPIPTunnel needs a kernel with the ipip module (this machine's has none; the VM suite
// runs Debian's). It pings between two hosts over tunl0.
func TestIPIPTunnel(t *testing.T) {
	needRoot(t)
	probe := newNS(t, "probe")
	if out, err := shOK("ip", "-n", probe, "link", "add", "bdpipip0", "type", "ipip"); err != nil {
		t.Skipf("kernel has no ipip support (`ip link add type ipip`: %s); the VM suite covers this", out)
	}
	a, b := hostPair(t)
	state := func(local string) *calc.State {
		s := twoNodes(local, calc.ModeNever, false)
		s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("192.168.0.0/16"), IPIPMode: calc.ModeAlways})
		s.SetNode(calc.Node{Name: "node-a", IPv4: netip.MustParsePrefix("10.0.1.1/24"), IPIPTunnelAddr: netip.MustParseAddr("192.168.0.1")})
		s.SetNode(calc.Node{Name: "node-b", IPv4: netip.MustParsePrefix("10.0.1.2/24"), IPIPTunnelAddr: netip.MustParseAddr("192.168.0.65")})
		return s
	}
	da, db := newDP(t, a), newDP(t, b)
	apply(t, da, calc.Compute(state("node-a")))
	apply(t, db, calc.Compute(state("node-b")))
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26 via 10.0.1.2 dev tunl0 proto 80 onlink")
	mustContain(t, sh(t, "ip", "-n", a, "addr", "show", "tunl0"), "mtu 1480", "inet 192.168.0.1/32")
	sh(t, "ip", "netns", "exec", a, "ping", "-c", "2", "-W", "2", "-I", "192.168.0.1", "192.168.0.65")
}
