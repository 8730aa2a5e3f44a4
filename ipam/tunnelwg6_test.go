package ipam

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// The IPv6 device address comes from an IPv6 pool, under Calico's allocateip handle and
// attribute type, into spec.wireguard.interfaceIPv6Address, while the node publishes
// status.wireguardPublicKeyV6; the IPv4 address follows the IPv4 key independently.
func TestWireGuardV6TunnelAddress(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "p4", "10.70.0.0/16", 26, `"ipipMode":"Never"`)
	mkPool(t, c, "p6", "fd70::/112", 122, `"ipipMode":"Never"`)
	create(t, c, "Node", `{"metadata":{"name":"n1"},"spec":{"bgp":{"ipv4Address":"10.0.0.1/24","ipv6Address":"fc00::1/64"}}}`)
	ctx := ctxT(t)
	setKeys := func(k4, k6 string) {
		t.Helper()
		r, err := c.Get(ctx, "Node", "", "n1")
		if err != nil {
			t.Fatal(err)
		}
		n := r.(*api.Node)
		n.Status.WireguardPublicKey, n.Status.WireguardPublicKeyV6 = k4, k6
		if _, err := c.Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	setKeys("", "bJCNxHRhTeRAvUAaVDs2VInYwUrTCmMHUgBvJ6aYzkU=")
	if ip, err := a.EnsureTunnelAddress(ctx, "n1", WireGuard); err != nil || ip.IsValid() {
		t.Fatalf("IPv4 without its key: %v %v, want none", ip, err)
	}
	ip, err := a.EnsureTunnelAddress(ctx, "n1", WireGuardV6)
	if err != nil || !ip.Is6() || !strings.HasPrefix(ip.String(), "fd70::") {
		t.Fatalf("with an IPv6 key: %v %v, want an address of fd70::/112", ip, err)
	}
	r, _ := c.Get(ctx, "Node", "", "n1")
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"wireguard":{"interfaceIPv6Address":"`+ip.String()+`"}`) {
		t.Fatalf("node not updated: %s", b)
	}
	info, _ := a.LookupIP(ctx, ip)
	if info.Handle != "wireguard-v6-tunnel-addr-n1" || info.Attrs[AttrType] != "wireguardV6TunnelAddress" {
		t.Fatalf("tunnel allocation: %+v", info)
	}
	if again, err := a.EnsureTunnelAddress(ctx, "n1", WireGuardV6); err != nil || again != ip {
		t.Fatalf("second call must keep %s: %v %v", ip, again, err)
	}
	setKeys("", "")
	if got, err := a.EnsureTunnelAddress(ctx, "n1", WireGuardV6); err != nil || got.IsValid() {
		t.Fatalf("after the key was withdrawn: %v %v, want none", got, err)
	}
	r, _ = c.Get(ctx, "Node", "", "n1")
	if b, _ = json.Marshal(r); strings.Contains(string(b), "wireguard") {
		t.Fatalf("spec.wireguard left: %s", b)
	}
	checkClean(t, a)
}
