package ipam

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// The WireGuard device address comes from any IPv4 pool (no encapsulation needed), under
// Calico's handle and attribute type, into spec.wireguard.interfaceIPv4Address, and only
// while the node publishes a public key; withdrawing the key releases it and drops the empty
// spec.wireguard.
func TestWireGuardTunnelAddress(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "p4", "10.70.0.0/16", 26, `"ipipMode":"Never"`)
	create(t, c, "Node", `{"metadata":{"name":"n1"},"spec":{"bgp":{"ipv4Address":"10.0.0.1/24"}}}`)
	ctx := ctxT(t)
	if ip, err := a.EnsureTunnelAddress(ctx, "n1", WireGuard); err != nil || ip.IsValid() {
		t.Fatalf("without a public key: %v %v, want none", ip, err)
	}
	setKey := func(key string) {
		t.Helper()
		r, err := c.Get(ctx, "Node", "", "n1")
		if err != nil {
			t.Fatal(err)
		}
		n := r.(*api.Node)
		n.Status.WireguardPublicKey = key
		if _, err := c.Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	setKey("bJCNxHRhTeRAvUAaVDs2VInYwUrTCmMHUgBvJ6aYzkU=")
	ip, err := a.EnsureTunnelAddress(ctx, "n1", WireGuard)
	if err != nil || !ip.Is4() {
		t.Fatalf("with a public key: %v %v", ip, err)
	}
	r, err := c.Get(ctx, "Node", "", "n1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"wireguard":{"interfaceIPv4Address":"`+ip.String()+`"}`) {
		t.Fatalf("node not updated: %s", b)
	}
	info, _ := a.LookupIP(ctx, ip)
	if info.Handle != "wireguard-tunnel-addr-n1" || info.Attrs[AttrType] != "wireguardTunnelAddress" {
		t.Fatalf("tunnel allocation: %+v", info)
	}
	if again, err := a.EnsureTunnelAddress(ctx, "n1", WireGuard); err != nil || again != ip {
		t.Fatalf("second call must keep %s: %v %v", ip, again, err)
	}
	setKey("")
	if got, err := a.EnsureTunnelAddress(ctx, "n1", WireGuard); err != nil || got.IsValid() {
		t.Fatalf("after the key was withdrawn: %v %v, want none", got, err)
	}
	r, _ = c.Get(ctx, "Node", "", "n1")
	if b, _ = json.Marshal(r); strings.Contains(string(b), "wireguard") {
		t.Fatalf("spec.wireguard left: %s", b)
	}
	checkClean(t, a)
}
