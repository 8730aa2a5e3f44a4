package dataplane

import (
	"context"
	"github.com/brindle-net/brindle/calc"
	"net/netip"
	"strings"
	"testing"
)

// workload attaches a workload namespace to host namespace a through veth cali<tag>, with
// addr/32 and the Calico-style gateway, and routes addr to it on the host.
func workload(t *testing.T, a, tag, addr string) (ns, iface string) {
	t.Helper()
	ns = newNS(t, "w"+tag)
	iface = "cali" + strings.Repeat(tag, 11)[:11]
	sh(t, "ip", "-n", a, "link", "add", iface, "type", "veth", "peer", "name", "eth0", "netns", ns)
	sh(t, "ip", "-n", a, "link", "set", iface, "up")
	sh(t, "ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv4.conf."+iface+".proxy_arp=1", "net.ipv4.ip_forward=1")
	sh(t, "ip", "-n", a, "route", "add", addr+"/32", "dev", iface, "scope", "link")
	sh(t, "ip", "-n", ns, "addr", "add", addr+"/32", "dev", "eth0")
	sh(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", ns, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
	sh(t, "ip", "-n", ns, "route", "add", "10.0.0.0/8", "via", "169.254.1.1", "dev", "eth0")
	return ns, iface
}

// pings reports whether one of two pings got a reply (the first may wait for ARP on a
// loaded machine).
func pings(ns, dst string) bool {
	for range 2 {
		if _, err := shOK("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", dst); err == nil {
			return true
		}
	}
	return false
}

func applyPol(t *testing.T, dp *Dataplane, s PolicySpec) {
	t.Helper()
	if err := dp.ApplyPolicy(context.Background(), s); err != nil {
		t.Fatalf("apply policy: %v", err)
	}
}

// allowProfile is the CNI plugin's profile: egress Allow, ingress Allow from members of set.
func twoWorkloadSpec(i1, i2 string, a1, a2 string) PolicySpec {
	p := netip.MustParsePrefix
	net := "s.net1"
	return PolicySpec{
		ToHost: "Drop", DropInvalid: true,
		Sets: map[string]PolSet{net: {Kind: SetNets, Nets: []netip.Prefix{p(a1 + "/32"), p(a2 + "/32")}}},
		Chains: map[string]PolChain{
			"ri-net1": {Rules: []PolRule{{Action: ActionAllow, Src: PolMatch{Sets: []string{net}}, ICMPType: -1, ICMPCode: -1, NotICMPType: -1, NotICMPCode: -1}}},
			"ro-net1": {Rules: []PolRule{{Action: ActionAllow, ICMPType: -1, ICMPCode: -1, NotICMPType: -1, NotICMPCode: -1}}},
		},
		Endpoints: map[string]PolEndpoint{
			i1: {Sources: []netip.Prefix{p(a1 + "/32")}, Ingress: PolDirection{Profiles: []string{"ri-net1"}}, Egress: PolDirection{Profiles: []string{"ro-net1"}}},
			i2: {Sources: []netip.Prefix{p(a2 + "/32")}, Ingress: PolDirection{Profiles: []string{"ri-net1"}}, Egress: PolDirection{Profiles: []string{"ro-net1"}}},
		},
	}
}

func anyRule(action string) PolRule {
	return PolRule{Action: action, ICMPType: -1, ICMPCode: -1, NotICMPType: -1, NotICMPCode: -1}
}

func TestPolicyEnforced(t *testing.T) {
	needRoot(t)
	a := newNS(t, "a")
	sh(t, "ip", "-n", a, "addr", "add", "169.254.1.1/32", "dev", "lo")
	w1, i1 := workload(t, a, "1", "10.65.0.1")
	w2, i2 := workload(t, a, "2", "10.65.0.2")
	if !pings(w1, "10.65.0.2") {
		t.Fatal("no connectivity before any policy")
	}
	dp := newDP(t, a)
	// The table with no endpoint: a workload interface nobody knows is dropped.
	applyPol(t, dp, PolicySpec{ToHost: "Drop"})
	if pings(w1, "10.65.0.2") {
		t.Error("unknown workload interfaces must be dropped")
	}
	spec := twoWorkloadSpec(i1, i2, "10.65.0.1", "10.65.0.2")
	applyPol(t, dp, spec)
	if !pings(w1, "10.65.0.2") || !pings(w2, "10.65.0.1") {
		t.Fatalf("profile allows within the network:\n%s", sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle"))
	}
	// A deny-all policy in tier default for w2's ingress.
	spec.Chains["pi-deny"] = PolChain{Rules: []PolRule{anyRule(ActionDeny)}}
	ep := spec.Endpoints[i2]
	ep.Ingress.Tiers = []PolTier{{Name: "default", Policies: []string{"pi-deny"}}}
	spec.Endpoints[i2] = ep
	applyPol(t, dp, spec)
	if pings(w1, "10.65.0.2") {
		t.Error("deny policy did not stop the ping")
	}
	// Edit it to Allow ICMP only.
	icmp := anyRule(ActionAllow)
	icmp.Proto = 1
	spec.Chains["pi-deny"] = PolChain{Rules: []PolRule{icmp}}
	applyPol(t, dp, spec)
	if !pings(w1, "10.65.0.2") {
		t.Error("edited policy (allow icmp) did not let the ping through")
	}
	c, err := dp.ChainCounters([]string{"pi-deny"})
	if err != nil || len(c["pi-deny"]) != 2 || c["pi-deny"][1].Packets == 0 || c["pi-deny"][1].Tag != "r0:Allow" {
		t.Errorf("counters of pi-deny: %+v %v", c, err)
	}
	// Restart: a new reconciler recognises everything and sends nothing.
	dp2 := newDP(t, a)
	applyPol(t, dp2, spec)
	if n := dp2.PolicyWrites(); n != 0 {
		t.Errorf("restart with the same spec sent %d transactions, want 0", n)
	}
	// Someone deletes the table: noticed, and rewritten.
	sh(t, "ip", "netns", "exec", a, "nft", "delete", "table", "ip", "brindle")
	if !dp2.tableLost() {
		t.Error("deleted table not noticed")
	}
	dp2.MarkResync()
	applyPol(t, dp2, spec)
	if !pings(w1, "10.65.0.2") {
		t.Error("no ping after the table was rewritten")
	}
	if pings(w1, "169.254.1.1") {
		t.Error("workload to host must be dropped by defaultEndpointToHostAction Drop")
	}
}

// TestNATLayoutFixKeepsPolicy: the NAT reconciler replaces a set of the wrong shape without
// touching the policy chains that share the table.
func TestNATLayoutFixKeepsPolicy(t *testing.T) {
	needRoot(t)
	a := newNS(t, "n")
	dp := newDP(t, a)
	applyPol(t, dp, twoWorkloadSpec("cali11111111111", "cali22222222222", "10.65.0.1", "10.65.0.2"))
	// An all-hosts set of another shape (an interval set), as a hand edit or an older layout.
	sh(t, "ip", "netns", "exec", a, "nft", "add set ip brindle all-hosts { type ipv4_addr; flags interval; }")
	d := calc.Desired{TunnelSources: []netip.Addr{netip.MustParseAddr("10.1.0.1")}}
	apply(t, dp, d)
	out := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle")
	mustContain(t, out, "chain pol-forward", "chain fw-cali11111111111", "10.1.0.1")
	set := sh(t, "ip", "netns", "exec", a, "nft", "list", "set", "ip", "brindle", "all-hosts")
	mustNotContain(t, set, "flags interval")
}

// TestPolicyMisshapenSet: a set of ours with another shape, referenced by a chain of ours
// (an older layout), is replaced in the one transaction that rewrites the chains.
func TestPolicyMisshapenSet(t *testing.T) {
	needRoot(t)
	a := newNS(t, "m")
	sh(t, "ip", "netns", "exec", a, "nft", "add table ip brindle; add set ip brindle s.net1 { type inet_service; }; "+
		"add chain ip brindle ri-net1; add rule ip brindle ri-net1 tcp dport @s.net1 accept")
	dp := newDP(t, a)
	spec := twoWorkloadSpec("cali11111111111", "cali22222222222", "10.65.0.1", "10.65.0.2")
	applyPol(t, dp, spec)
	out := sh(t, "ip", "netns", "exec", a, "nft", "list", "set", "ip", "brindle", "s.net1")
	mustContain(t, out, "type ipv4_addr", "10.65.0.1")
	// And it is stable: a restarted reconciler finds nothing to do.
	dp2 := newDP(t, a)
	applyPol(t, dp2, spec)
	if n := dp2.PolicyWrites(); n != 0 {
		t.Errorf("after the replacement a restart sent %d transactions", n)
	}
}
