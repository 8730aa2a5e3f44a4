package scenarios

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/brindle-net/brindle/test/testbed"
)

// WorkloadOptions is one Calico-style workload wired by hand, for scenarios that run before or
// without the CNI plugin.
type WorkloadOptions struct {
	Name   string     // short, used in the namespace name
	IP     netip.Addr // the workload's /32
	HostIf string     // host-side veth, e.g. "calia1" (15 chars at most)
	MTU    int        // default 1480, the IPIP MTU
}

// AddWorkload creates a workload namespace on host the way Calico's CNI plugin does: eth0 with
// <ip>/32 and a default route via 169.254.1.1 (answered by proxy ARP on the host veth, whose
// MAC is ee:ee:ee:ee:ee:ee), and on the host `<ip>/32 dev <HostIf> scope link`.
func AddWorkload(t testing.TB, bed *testbed.Bed, host *testbed.Host, o WorkloadOptions) *testbed.Netns {
	t.Helper()
	if o.MTU == 0 {
		o.MTU = 1480
	}
	w, err := testbed.NewNetns(bed.Tag + "-w-" + o.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if err := wireWorkload(host, w, o); err != nil {
		t.Fatalf("workload %s on %s: %v", o.Name, host.HostName, err)
	}
	return w
}

func wireWorkload(host *testbed.Host, w *testbed.Netns, o WorkloadOptions) error {
	mac, _ := net.ParseMAC("ee:ee:ee:ee:ee:ee")
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: o.HostIf, MTU: o.MTU, HardwareAddr: mac},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(w.NS)),
	}
	if err := host.NL.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s: %w", o.HostIf, err)
	}
	// proxy_delay=0: the first ARP for the gateway is answered at once, not after up to 0.8 s.
	for key, val := range map[string]string{
		"net/ipv4/conf/" + o.HostIf + "/proxy_arp":    "1",
		"net/ipv4/neigh/" + o.HostIf + "/proxy_delay": "0",
	} {
		if err := host.Sysctl(key, val); err != nil {
			return err
		}
	}
	hl, err := host.NL.LinkByName(o.HostIf)
	if err != nil {
		return err
	}
	if err := host.NL.LinkSetUp(hl); err != nil {
		return err
	}
	ip32 := netip.PrefixFrom(o.IP, 32)
	if err := host.NL.RouteAdd(&netlink.Route{LinkIndex: hl.Attrs().Index, Dst: ipNet(ip32), Scope: netlink.SCOPE_LINK}); err != nil {
		return fmt.Errorf("route %s dev %s: %w", ip32, o.HostIf, err)
	}
	eth0, err := w.NL.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("workload eth0: %w", err)
	}
	if err := w.NL.LinkSetMTU(eth0, o.MTU); err != nil {
		return err
	}
	if err := testbed.AddrUp(w, "eth0", ip32); err != nil {
		return err
	}
	gw := netip.MustParsePrefix("169.254.1.1/32")
	if err := w.NL.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: ipNet(gw), Scope: netlink.SCOPE_LINK}); err != nil {
		return fmt.Errorf("route 169.254.1.1 dev eth0: %w", err)
	}
	// The workload's default route leads only into its host's namespace, which has none.
	def := &netlink.Route{LinkIndex: eth0.Attrs().Index, Dst: ipNet(netip.MustParsePrefix("0.0.0.0/0")), Gw: gw.Addr().AsSlice()}
	if err := w.NL.RouteAdd(def); err != nil {
		return fmt.Errorf("default via 169.254.1.1: %w", err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
