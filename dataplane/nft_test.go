package dataplane

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

func TestMergeRanges(t *testing.T) {
	p := netip.MustParsePrefix
	got := mergeRanges([]netip.Prefix{p("10.1.0.0/16"), p("10.0.0.0/8"), p("192.168.0.0/24"), p("192.168.1.0/24"), p("240.0.0.0/4")})
	want := []ipRange{{0x0a000000, 0x0b000000}, {0xc0a80000, 0xc0a80200}, {0xf0000000, 1 << 32}}
	if !slices.Equal(got, want) {
		t.Errorf("got %x want %x", got, want)
	}
	// The /4 reaching the top of the space has no end element.
	if e := rangeElems(want[2:]); len(e) != 1 || e[0].IntervalEnd {
		t.Errorf("top range elements: %+v", e)
	}
}

// TestNATOutgoing: a workload behind host A pings an outside host that has no route back
// to the pool; only masquerading makes the reply come back.
func TestNATOutgoing(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t) // "b" plays the outside world: it knows nothing of 192.168.0.0/16
	w := newNS(t, "w")
	sh(t, "ip", "-n", a, "link", "add", "cali0000000000a", "type", "veth", "peer", "name", "eth0", "netns", w)
	sh(t, "ip", "-n", a, "link", "set", "cali0000000000a", "up")
	sh(t, "ip", "-n", a, "addr", "add", "169.254.1.1/32", "dev", "lo")
	sh(t, "ip", "-n", w, "addr", "add", "192.168.0.5/32", "dev", "eth0")
	sh(t, "ip", "-n", w, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", w, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
	// The workload's only route out is the gateway; it reaches the outside host's /32 only.
	sh(t, "ip", "-n", w, "route", "add", "10.0.1.2/32", "via", "169.254.1.1", "dev", "eth0")

	s := twoNodes("node-a", calc.ModeNever, false)
	s.DeleteNode("node-b")
	s.SetWorkload(calc.LocalWorkload{Iface: "cali0000000000a", IPs: []netip.Prefix{netip.MustParsePrefix("192.168.0.5/32")}})
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	if _, err := shOK("ip", "netns", "exec", w, "ping", "-c", "1", "-W", "1", "10.0.1.2"); err == nil {
		t.Fatal("ping without natOutgoing succeeded: the outside host must not route to the pool")
	}
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("192.168.0.0/16"), NATOutgoing: true})
	apply(t, dp, calc.Compute(s))
	sh(t, "ip", "netns", "exec", w, "ping", "-c", "2", "-W", "2", "10.0.1.2")
	table := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle")
	mustContain(t, table, "192.168.0.0/16", "ip saddr @masq-pools ip daddr != @all-pools masquerade")
}

func TestNFTTableShapeAndRestart(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	s := twoNodes("node-a", calc.ModeAlways, true)
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("10.244.0.0/16"), IPIPMode: calc.ModeAlways})
	d := calc.Compute(s)
	dp := newDP(t, a)
	err := dp.Apply(t.Context(), d)
	// tunl0 needs the ipip module; everything else must be in place regardless.
	if err != nil {
		t.Logf("apply: %v", err)
	}
	table := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle")
	mustContain(t, table,
		"10.244.0.0/16", "192.168.0.0/16", "10.0.1.1", "10.0.1.2",
		"ip protocol ipencap ip saddr @all-hosts accept",
		"udp dport 4789 ip saddr @all-hosts accept",
		"udp dport 4789 counter packets 0 bytes 0 drop")

	// A restarted agent finds the table as it wants it and sends nothing.
	dp2 := newDP(t, a)
	c, err := dp2.h.nft()
	if err != nil {
		t.Fatal(err)
	}
	have, err := readNFT(c)
	if err != nil {
		t.Fatal(err)
	}
	if !shapesOK(have) || !slices.Equal(have.rules[chainInput], buildNFTSpec(&d).input) {
		t.Errorf("read back rules %v, want %v", have.rules, buildNFTSpec(&d).input)
	}
	// Drop a host: only that element changes, rules stay (the counter keeps counting).
	s.DeleteNode("node-b")
	d = calc.Compute(s)
	dp2.Apply(t.Context(), d)
	table = sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle")
	mustNotContain(t, table, "10.0.1.2")
	mustContain(t, table, "10.0.1.1")
}

// TestRuleBytesStable: the rule builder is pure and produces the layout documented in
// nftrules.go (checked at the expression level so a change is a reviewed change).
func TestRuleBytesStable(t *testing.T) {
	sets := map[string]*nftables.Set{
		setAllPools: {Name: setAllPools, ID: 1}, setMasqPools: {Name: setMasqPools, ID: 2}, setAllHosts: {Name: setAllHosts, ID: 3}}
	m := ruleExprs(ruleMasq, sets)
	if len(m) != 5 {
		t.Fatalf("masq rule: %d exprs", len(m))
	}
	if l := m[3].(*expr.Lookup); l.SetName != setAllPools || !l.Invert {
		t.Errorf("masq must exclude destinations in all pools: %+v", l)
	}
	if _, ok := m[4].(*expr.Masq); !ok {
		t.Errorf("masq rule ends with %T", m[4])
	}
	if d := ruleExprs(ruleVXLANDrop, sets); d[len(d)-1].(*expr.Verdict).Kind != expr.VerdictDrop {
		t.Error("vxlan-drop does not drop")
	}
	if ruleExprs("nonsense", sets) != nil {
		t.Error("unknown tag produced a rule")
	}
}

// TestLargeHostSet guards the chunking of set elements: one message with 10,000 elements
// overflows a 16-bit attribute length and the kernel silently keeps a fraction.
func TestLargeHostSet(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	dp := newDP(t, a)
	var d calc.Desired
	for i := range 10000 {
		d.TunnelSources = append(d.TunnelSources, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
	}
	apply(t, dp, d)
	d.TunnelSources = d.TunnelSources[1:] // one node leaves
	apply(t, dp, d)
	dp.nft.wait() // removals alone go in the background
	c, err := dp.h.nft()
	if err != nil {
		t.Fatal(err)
	}
	have, err := readNFT(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(have.elems[setAllHosts]); n != 9999 {
		t.Errorf("host set holds %d elements, want 9999", n)
	}
}

// TestNFTIncrementalKeepsCounters: a change between resyncs edits the table in place (the
// drop counters keep their values); it neither rebuilds the table nor rewrites rules.
func TestNFTIncrementalKeepsCounters(t *testing.T) {
	needRoot(t)
	a, b := hostPair(t)
	s := twoNodes("node-a", calc.ModeAlways, true)
	s.DeleteNode("node-b") // b's address is not a known node: its VXLAN packets are dropped
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	// Any UDP datagram to port 4789 from b counts on the drop rule.
	sh(t, "ip", "netns", "exec", b, "bash", "-c", "echo x > /dev/udp/10.0.1.1/4789")
	before := sh(t, "ip", "netns", "exec", a, "nft", "list", "chain", "ip", "brindle", "input")
	mustNotContain(t, before, "counter packets 0 bytes 0 drop comment \"brindle:vxlan-drop\"")
	s.SetNode(calc.Node{Name: "node-c", IPv4: netip.MustParsePrefix("10.0.1.9/24")})
	apply(t, dp, calc.Compute(s))
	after := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle")
	mustContain(t, after, "10.0.1.9")
	if got, want := counterLine(after), counterLine(before); got != want || want == "" {
		t.Errorf("vxlan-drop counter changed across an incremental apply: %q -> %q", want, got)
	}
}

func counterLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "brindle:vxlan-drop") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestHostSetDiffThenFullWrite: node joins and leaves are sent as element diffs; a later
// change of the pools (a full table write diffed against the remembered state) and a resync
// must both find the set exactly as the hosts list says.
func TestHostSetDiffThenFullWrite(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	dp := newDP(t, a)
	hosts := func(from, to int) []netip.Addr {
		var out []netip.Addr
		for i := from; i < to; i++ {
			out = append(out, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
		}
		return out
	}
	check := func(want []netip.Addr) {
		t.Helper()
		dp.nft.wait()
		c, err := dp.h.nft()
		if err != nil {
			t.Fatal(err)
		}
		have, err := readNFT(c)
		if err != nil {
			t.Fatal(err)
		}
		var got []netip.Addr
		for _, e := range have.elems[setAllHosts] {
			got = append(got, netip.AddrFrom4([4]byte(e.Key)))
		}
		slices.SortFunc(got, netip.Addr.Compare)
		if !slices.Equal(got, want) {
			t.Fatalf("all-hosts holds %d elements %v..., want %d", len(got), got[:min(3, len(got))], len(want))
		}
	}
	d := calc.Desired{TunnelSources: hosts(0, 3000), NAT: calc.NAT{AllPools: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12")}}}
	apply(t, dp, d)
	d.TunnelSources = hosts(5, 3002) // five leave, two join
	apply(t, dp, d)
	check(hosts(5, 3002))
	d.NAT.AllPools = append(d.NAT.AllPools, netip.MustParsePrefix("192.168.0.0/16"))
	d.TunnelSources = hosts(6, 3003)
	apply(t, dp, d)
	check(hosts(6, 3003))
	d.TunnelSources = hosts(0, 10)
	apply(t, dp, d)
	dp.MarkResync()
	apply(t, dp, d)
	check(hosts(0, 10))
}

// TestHostRemovalInBackground: a change that only removes hosts returns before the kernel
// is done (element deletion waits for an RCU grace period); the next apply waits for it,
// so a host that leaves and comes back at once ends up in the set.
func TestHostRemovalInBackground(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	dp := newDP(t, a)
	h1, h2 := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2")
	d := calc.Desired{TunnelSources: []netip.Addr{h1, h2}}
	apply(t, dp, d)
	for range 5 {
		apply(t, dp, calc.Desired{TunnelSources: []netip.Addr{h1}})
		apply(t, dp, calc.Desired{TunnelSources: []netip.Addr{h1, h2}})
	}
	apply(t, dp, calc.Desired{TunnelSources: []netip.Addr{h2}})
	dp.nft.wait()
	out := sh(t, "ip", "netns", "exec", a, "nft", "list", "set", "ip", "brindle", "all-hosts")
	mustContain(t, out, "10.1.0.2")
	mustNotContain(t, out, "10.1.0.1")
}
