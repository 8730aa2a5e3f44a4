package cnitest

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/cni"
)

// WireHostPair is the Docker plugin's wiring: both ends in the host namespace (Docker moves
// the container end itself), the host end as the CNI path leaves it.
func TestWireHostPair(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	veth, side := "calihp"+randHex(4), "tmphp"+randHex(4)
	ip := netip.MustParsePrefix("10.244.9.60/32")
	t.Cleanup(func() { _ = cni.RemoveHostVeth(veth) })
	mac, err := cni.WireHostPair(veth, side, 1400, []netip.Prefix{ip})
	if err != nil {
		t.Fatal(err)
	}
	if mac == "" || mac == cni.HostVethMAC.String() {
		t.Errorf("container end's MAC %q", mac)
	}
	out := mustIP(t, host, "link", "show", veth)
	for _, want := range []string{"mtu 1400", "ee:ee:ee:ee:ee:ee"} {
		if !strings.Contains(out, want) {
			t.Errorf("host veth lacks %q: %s", want, out)
		}
	}
	if out := mustIP(t, host, "route", "show", ip.String()); !strings.Contains(out, "dev "+veth) || !strings.Contains(out, "scope link") {
		t.Errorf("host route: %q", out)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + veth + "/proxy_arp"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Errorf("proxy_arp on %s: %q %v", veth, b, err)
	}
	if out := mustIP(t, host, "link", "show", side); !strings.Contains(out, "mtu 1400") {
		t.Errorf("container end in the host namespace: %s", out)
	}
	// A second wiring of the same endpoint (a plugin that died half-way) replaces the pair.
	if _, err := cni.WireHostPair(veth, side, 1400, []netip.Prefix{ip}); err != nil {
		t.Fatalf("rewiring over a stale pair: %v", err)
	}
	if err := cni.RemoveHostVeth(veth); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "-n", host, "link", "show", side).CombinedOutput(); err == nil {
		t.Errorf("the container end outlived the host end: %s", out)
	}
	if out := mustIP(t, host, "route", "show", ip.String()); strings.TrimSpace(out) != "" {
		t.Errorf("host route left: %q", out)
	}
	if err := cni.RemoveHostVeth(veth); err != nil {
		t.Errorf("removing a missing veth must succeed: %v", err)
	}
}
