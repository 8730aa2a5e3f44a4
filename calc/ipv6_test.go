package calc

import (
	"net/netip"
	"strings"
	"testing"
)

// IPv6 inputs (a pool with assign_ipv6 gives IPv6 blocks; node records written by hand may
// carry IPv6 where IPv4 belongs) reached prefixKey's As4 and panicked, crash-looping every
// agent (issue 10 item 3). Until IPv6 routing exists they are skipped with a reason.
func TestIPv6InputsAreSkippedNotFatal(t *testing.T) {
	for _, mode := range []struct{ ipip, vxlan string }{{"", ""}, {ModeAlways, ""}, {"", ModeAlways}, {ModeCrossSubnet, ""}} {
		for _, fromBGP := range []bool{false, true} {
			s := cluster(mode.ipip, mode.vxlan)
			s.RoutesFromBGP = fromBGP
			s.SetPool(Pool{CIDR: pfx("fd00:10::/112"), VXLANMode: mode.vxlan, BlockSize: 122, NATOutgoing: true})
			s.SetBlock(Block{CIDR: pfx("fd00:10::/122"), Node: "node-a"})   // local
			s.SetBlock(Block{CIDR: pfx("fd00:10::40/122"), Node: "node-b"}) // remote
			s.SetBlock(Block{CIDR: pfx("fd00:10::80/128"), Node: "node-a"}) // single address
			s.SetBlock(Block{CIDR: pfx("fd00:10::c0/122"), Node: "node-c", Borrowed: []BorrowedIP{{Addr: addr("fd00:10::c1"), Node: "node-b"}}})
			s.SetWorkload(LocalWorkload{Iface: "cali6", IPs: []netip.Prefix{pfx("fd00:10::2/128"), pfx("192.168.0.9/32")}})
			s.SetLearnedRoute(LearnedRoute{Dst: pfx("fd00:10::40/122"), NextHop: addr("fd00::2")})
			s.SetNode(Node{Name: "node-v6", IPv4: pfx("fd00::9/64"), IPIPTunnelAddr: addr("fd00::a"), VXLANTunnelAddr: addr("fd00::b")})
			s.SetBlock(Block{CIDR: pfx("192.168.1.0/26"), Node: "node-v6"})

			d := Compute(s)
			for _, r := range d.Routes {
				if !r.Dst.Addr().Is4() || (r.Gw.IsValid() && !r.Gw.Is4()) {
					t.Errorf("%+v: IPv6 route in the output %+v", mode, r)
				}
			}
			for _, v := range d.VTEPs {
				if !v.TunnelIP.Is4() || !v.HostIP.Is4() {
					t.Errorf("%+v: IPv6 VTEP %+v", mode, v)
				}
			}
			skipped := false
			for _, dec := range d.Skipped {
				if strings.Contains(dec.Subject, "fd00:10::40/122") && strings.Contains(dec.Reason, "IPv6") {
					skipped = true
				}
			}
			if !skipped {
				t.Errorf("%+v: the IPv6 block is not among the skipped decisions: %+v", mode, d.Skipped)
			}
			// IPv4 routing is untouched by the IPv6 inputs.
			if !fromBGP || mode.vxlan != "" {
				route(t, d, "192.168.0.64/26")
			}
			// And removing them again works incrementally.
			s.DeleteBlock(pfx("fd00:10::40/122"))
			s.DeleteLearnedRoute(pfx("fd00:10::40/122"))
			_ = Compute(s)
		}
	}
}
