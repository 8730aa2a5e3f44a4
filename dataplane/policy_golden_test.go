package dataplane

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files from current output")

// goldenSpec covers each rule field the renderer knows, two tiers (one passing by default),
// profiles, named ports, inline lists that become content-named sets, and an endpoint with
// an extra allowed source prefix.
func goldenSpec() PolicySpec {
	p := netip.MustParsePrefix
	rule := func(action string) PolRule {
		return PolRule{Action: action, ICMPType: -1, ICMPCode: -1, NotICMPType: -1, NotICMPCode: -1}
	}
	web := rule(ActionAllow)
	web.Proto = 6
	web.Src = PolMatch{Sets: []string{"s.sel-frontend"}, NotNets: []netip.Prefix{p("10.66.0.0/16")}}
	web.Dst = PolMatch{Ports: []PortRange{{80, 80}, {8000, 8100}}, PortSets: []string{"s.np-http"}}
	ping := rule(ActionAllow)
	ping.Proto, ping.ICMPType, ping.ICMPCode = 1, 8, 0
	ping.Index = 1
	logged := rule(ActionLog)
	logged.LogPrefix, logged.Index = "calico-packet", 2
	deny := rule(ActionDeny)
	deny.NotProto, deny.Index = 17, 3
	deny.Src.Nets = []netip.Prefix{p("192.168.0.0/16"), p("172.16.0.0/12")}
	deny.Dst.NotPorts = []PortRange{{53, 53}}
	pass := rule(ActionPass)
	pass.Dst.Sets = []string{"s.sel-db"}
	notICMP := rule(ActionAllow)
	notICMP.Proto, notICMP.NotICMPType = 1, 5
	return PolicySpec{
		ToHost: "Drop", DropInvalid: true, VXLANPort: 4789,
		Sets: map[string]PolSet{
			"s.sel-frontend": {Kind: SetNets, Nets: []netip.Prefix{p("10.65.0.1/32"), p("10.65.0.8/29"), p("10.65.0.9/32")}},
			"s.sel-db":       {Kind: SetNets, Nets: []netip.Prefix{p("10.65.1.2/32")}},
			"s.np-http":      {Kind: SetNamedPorts, Ports: []NamedPort{{netip.MustParseAddr("10.65.0.2"), 6, 8080}}},
		},
		Chains: map[string]PolChain{
			"pi-web":   {Rules: []PolRule{web, ping, logged, deny}},
			"po-pass":  {Rules: []PolRule{pass}},
			"po-icmp":  {Rules: []PolRule{notICMP}},
			"ri-net1":  {Rules: []PolRule{rule(ActionAllow)}},
			"ro-net1":  {Rules: []PolRule{rule(ActionAllow)}},
			"pi-empty": {},
		},
		Endpoints: map[string]PolEndpoint{
			"cali0000000001": {Sources: []netip.Prefix{p("10.65.0.2/32"), p("10.70.0.0/24")},
				Ingress: PolDirection{Tiers: []PolTier{{Name: "security", Policies: []string{"pi-empty"}, PassByDefault: true},
					{Name: "default", Policies: []string{"pi-web"}}}, Profiles: []string{"ri-net1"}},
				Egress: PolDirection{Tiers: []PolTier{{Name: "default", Policies: []string{"po-pass", "po-icmp"}}}, Profiles: []string{"ro-net1"}}},
			"cali0000000002": {Sources: []netip.Prefix{p("10.65.0.3/32")}},
		},
	}
}

// TestPolicyGolden writes goldenSpec into a fresh namespace and compares `nft list table`
// with testdata/policy.nft (go test -run TestPolicyGolden -update rewrites it).
func TestPolicyGolden(t *testing.T) {
	checkPolicyGolden(t, "g", goldenSpec, "policy.nft")
}

// checkPolicyGolden writes spec() into a fresh namespace, compares its family's `brindle`
// table with testdata/file (-update rewrites it after review), and checks that the same spec
// written again sends nothing to that table.
func checkPolicyGolden(t *testing.T, tag string, spec func() PolicySpec, file string) {
	needRoot(t)
	a := newNS(t, tag)
	dp := newDP(t, a)
	s := spec()
	applyPol(t, dp, s)
	family, table := "ip", dp.pol
	if s.V6 {
		family, table = "ip6", dp.pol6
	}
	got := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", family, "brindle")
	// Hashes are not part of the layout under review.
	got = regexp.MustCompile(`h:[0-9a-f]{64}`).ReplaceAllString(got, "h:<hash>")
	path := filepath.Join("testdata", file)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("ruleset differs from %s (run with -update after review):\n%s", path, got)
	}
	w0 := tableWrites(dp, table)
	if w0 == 0 {
		t.Fatalf("no transaction counted on the %s table: the rewrite check below would prove nothing", family)
	}
	applyPol(t, dp, spec())
	if tableWrites(dp, table) != w0 {
		t.Error("an unchanged spec was written again")
	}
}
