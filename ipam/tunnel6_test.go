package ipam

import (
	"encoding/json"
	"strings"
	"testing"
)

// The IPv6 VXLAN tunnel address comes from an IPv6 pool with VXLAN, under Calico's handle
// and attribute type, into spec.ipv6VXLANTunnelAddr; an IPv4 VXLAN pool does not give one,
// nor does the IPv6 pool give an IPv4 one.
func TestVXLANV6TunnelAddress(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "p6", "fd00:40::/112", 122, `"vxlanMode":"Always"`)
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	if vx, err := a.EnsureTunnelAddress(ctx, "n1", VXLAN); err != nil || vx.IsValid() {
		t.Fatalf("IPv4 VXLAN from an IPv6 pool: %v %v", vx, err)
	}
	ip, err := a.EnsureTunnelAddress(ctx, "n1", VXLANV6)
	if err != nil || !ip.Is6() {
		t.Fatalf("EnsureTunnelAddress(VXLANV6): %v %v", ip, err)
	}
	r, err := c.Get(ctx, "Node", "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"ipv6VXLANTunnelAddr":"`+ip.String()+`"`) {
		t.Fatalf("node not updated: %s", b)
	}
	info, _ := a.LookupIP(ctx, ip)
	if info.Handle != "vxlan-v6-tunnel-addr-n1" || info.Attrs[AttrType] != "vxlanV6TunnelAddress" {
		t.Fatalf("tunnel allocation: %+v", info)
	}
	if again, err := a.EnsureTunnelAddress(ctx, "n1", VXLANV6); err != nil || again != ip {
		t.Fatalf("second call must keep %s: %v %v", ip, again, err)
	}
	if _, err := a.ReleaseNode(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	checkClean(t, a)
}
