package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestIPPoolDefaults(t *testing.T) {
	for _, c := range []struct {
		cidr      string
		blockSize int
	}{{"10.0.0.0/16", 26}, {"fd00:1::/64", 122}} {
		p := &IPPool{ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: c.cidr}}
		p.Default()
		s := p.Spec
		if s.BlockSize != c.blockSize || s.IPIPMode != "Never" || s.VXLANMode != "Never" || s.NodeSelector != "all()" ||
			!reflect.DeepEqual(s.AllowedUses, []string{"Workload", "Tunnel"}) || s.AssignmentMode != "Automatic" {
			t.Errorf("%s: defaults %+v", c.cidr, s)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: defaulted pool invalid: %v", c.cidr, err)
		}
	}
	// Set values survive.
	p := &IPPool{Spec: IPPoolSpec{CIDR: "10.0.0.0/16", BlockSize: 28, IPIPMode: "CrossSubnet", AllowedUses: []string{"Tunnel"}, NodeSelector: "has(x)"}}
	p.Default()
	if p.Spec.BlockSize != 28 || p.Spec.IPIPMode != "CrossSubnet" || len(p.Spec.AllowedUses) != 1 || p.Spec.NodeSelector != "has(x)" {
		t.Errorf("defaults overwrote set values: %+v", p.Spec)
	}
}

func TestPolicyTypesDefault(t *testing.T) {
	allow := []Rule{{Action: ActionAllow}}
	for _, c := range []struct {
		in, eg []Rule
		want   string
	}{{nil, nil, "Ingress"}, {allow, nil, "Ingress"}, {nil, allow, "Egress"}, {allow, allow, "Ingress,Egress"}} {
		g := &GlobalNetworkPolicy{Spec: GlobalNetworkPolicySpec{Ingress: c.in, Egress: c.eg}}
		g.Default()
		n := &NetworkPolicy{Spec: NetworkPolicySpec{Ingress: c.in, Egress: c.eg}}
		n.Default()
		if strings.Join(g.Spec.Types, ",") != c.want || strings.Join(n.Spec.Types, ",") != c.want {
			t.Errorf("ingress %d egress %d: types %v / %v, want %s", len(c.in), len(c.eg), g.Spec.Types, n.Spec.Types, c.want)
		}
	}
	g := &GlobalNetworkPolicy{Spec: GlobalNetworkPolicySpec{Types: []string{"Egress"}, Ingress: allow}}
	g.Default()
	if strings.Join(g.Spec.Types, ",") != "Egress" {
		t.Errorf("explicit types overwritten: %v", g.Spec.Types)
	}
}

func TestBGPConfigurationMeshDefault(t *testing.T) {
	d := &BGPConfiguration{ObjectMeta: ObjectMeta{Name: "default"}}
	d.Default()
	if d.Spec.NodeToNodeMeshEnabled == nil || !*d.Spec.NodeToNodeMeshEnabled {
		t.Errorf("default config: mesh %v, want true", d.Spec.NodeToNodeMeshEnabled)
	}
	off := &BGPConfiguration{ObjectMeta: ObjectMeta{Name: "default"}, Spec: BGPConfigurationSpec{NodeToNodeMeshEnabled: Ptr(false)}}
	off.Default()
	if off.MeshEnabled() {
		t.Error("explicit false overwritten")
	}
	n := &BGPConfiguration{ObjectMeta: ObjectMeta{Name: "node.n1"}}
	n.Default()
	if n.Spec.NodeToNodeMeshEnabled != nil {
		t.Error("per-node config got a mesh setting; it must inherit")
	}
	if err := n.Validate(); err != nil {
		t.Errorf("per-node config invalid after Default: %v", err)
	}
}

func TestTierAndIPAMDefaults(t *testing.T) {
	tier := &Tier{ObjectMeta: ObjectMeta{Name: "security"}}
	tier.Default()
	if tier.Spec.DefaultAction != "Deny" || tier.Spec.Order != nil {
		t.Errorf("tier defaults %+v", tier.Spec)
	}
	ic := &IPAMConfiguration{ObjectMeta: ObjectMeta{Name: "default"}}
	ic.Default()
	b, _ := json.Marshal(ic.Value())
	if string(b) != `{"auto_allocate_blocks":true}` {
		t.Errorf("stored IPAM config %s, want Calico's {\"auto_allocate_blocks\":true}", b)
	}
	back := IPAMConfigurationFromValue(IPAMConfigValue{StrictAffinity: true, MaxBlocksPerHost: 3})
	if back.Name != "default" || !back.Spec.StrictAffinity || back.Spec.MaxBlocksPerHost != 3 || *back.Spec.AutoAllocateBlocks {
		t.Errorf("from value: %+v", back.Spec)
	}
}

func TestEffectiveFelixConfig(t *testing.T) {
	global := &FelixConfiguration{Spec: FelixConfigurationSpec{ReportingInterval: &Duration{0}, VXLANVNI: Ptr(5000), LogSeverityScreen: "Debug"}}
	node := &FelixConfiguration{Spec: FelixConfigurationSpec{DefaultEndpointToHostAction: "Return", VXLANVNI: Ptr(6000)}}
	got := EffectiveFelixConfig(global, node)
	if got.ReportingInterval.Duration != 0 || *got.VXLANVNI != 6000 || got.LogSeverityScreen != "Debug" ||
		got.DefaultEndpointToHostAction != "Return" || got.RouteRefreshInterval.Duration != 90*time.Second || *got.VXLANPort != 4789 {
		t.Errorf("layering wrong: %+v", got)
	}
	if def := EffectiveFelixConfig(nil, nil); def.InterfacePrefix != "cali" || *def.HealthPort != 9099 || len(*def.FailsafeInboundHostPorts) != 9 {
		t.Errorf("defaults wrong: %+v", def)
	}
}

func TestCrossChecks(t *testing.T) {
	mk := func(name, cidr string, bs int) *IPPool {
		return &IPPool{TypeMeta: TypeMeta{Kind: "IPPool"}, ObjectMeta: ObjectMeta{Name: name}, Spec: IPPoolSpec{CIDR: cidr, BlockSize: bs}}
	}
	others := []*IPPool{mk("a", "10.0.0.0/16", 26), mk("b", "10.2.0.0/16", 26)}
	if err := CheckPoolOverlap(mk("c", "10.1.0.0/16", 26), others); err != nil {
		t.Errorf("disjoint pool rejected: %v", err)
	}
	wantFieldError(t, CheckPoolOverlap(mk("c", "10.0.128.0/17", 26), others), "spec.cidr", `overlaps IPPool "a"`)
	wantFieldError(t, CheckPoolOverlap(mk("c", "10.0.0.0/8", 26), others), "spec.cidr", `overlaps IPPool "b"`)
	if err := CheckPoolOverlap(mk("a", "10.0.0.0/16", 26), others); err != nil {
		t.Errorf("the pool itself counted as overlap: %v", err)
	}
	wantFieldError(t, ValidateUpdate(mk("a", "10.0.0.0/16", 26), mk("a", "10.0.0.0/16", 24)), "spec.blockSize", "cannot be changed (was 26)")
	wantFieldError(t, ValidateUpdate(mk("a", "10.0.0.0/16", 26), mk("a", "10.9.0.0/16", 26)), "spec.cidr", "cannot be changed")
	if err := ValidateUpdate(mk("a", "10.0.0.0/16", 26), &IPPool{ObjectMeta: ObjectMeta{Name: "a"}, Spec: IPPoolSpec{CIDR: "10.0.0.0/16", BlockSize: 26, Disabled: true}}); err != nil {
		t.Errorf("disabling a pool rejected: %v", err)
	}
}

func TestValueTypes(t *testing.T) {
	for in, want := range map[string]string{`80`: `80`, `"80"`: `80`, `"1000:2000"`: `"1000:2000"`, `"http"`: `"http"`} {
		var p Port
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Errorf("port %s: %v", in, err)
			continue
		}
		if b, _ := json.Marshal(p); string(b) != want {
			t.Errorf("port %s re-encoded %s, want %s", in, b, want)
		}
	}
	for _, bad := range []string{`70000`, `"5:"`, `"2:1"`, `"1x"`, `-1`} {
		var p Port
		if json.Unmarshal([]byte(bad), &p) == nil {
			t.Errorf("port %s accepted", bad)
		}
	}
	for in, want := range map[string]ASNumber{`64512`: 64512, `"64512"`: 64512, `"1.10"`: 65546, `4294967295`: 4294967295} {
		var a ASNumber
		if err := json.Unmarshal([]byte(in), &a); err != nil || a != want {
			t.Errorf("AS %s = %d (%v), want %d", in, a, err, want)
		}
	}
	for _, bad := range []string{`4294967296`, `-1`, `"1.70000"`, `1.5`} {
		var a ASNumber
		if json.Unmarshal([]byte(bad), &a) == nil {
			t.Errorf("AS %s accepted", bad)
		}
	}
	for in, want := range map[string]string{`"TCP"`: `"TCP"`, `6`: `6`, `"ICMPv6"`: `"ICMPv6"`} {
		var p Protocol
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(p); string(b) != want {
			t.Errorf("protocol %s re-encoded %s", in, b)
		}
	}
	for s, wantPort := range map[string]uint16{"10.0.0.1": 0, "10.0.0.1:1179": 1179, "fd00::1": 0, "[fd00::1]:1179": 1179} {
		a, port, err := ParsePeerIP(s)
		if err != nil || port != wantPort || PeerIPString(a, port) != s {
			t.Errorf("ParsePeerIP(%s) = %v %d %v", s, a, port, err)
		}
	}
	if got := WorkloadEndpointName("node-1", "k8s", "nginx-abc", "eth0"); got != "node--1-k8s-nginx--abc-eth0" {
		t.Errorf("WorkloadEndpointName = %s (calico-model.md §1.2 example: node--1-k8s-nginx--abc-eth0)", got)
	}
	if got := TieredPolicyName("allow-dns", ""); got != "default.allow-dns" {
		t.Errorf("TieredPolicyName = %s", got)
	}
	for _, n := range []string{"default.x", "knp.default.x", "security.x"} {
		tier := ""
		if strings.HasPrefix(n, "security.") {
			tier = "security"
		}
		if got := TieredPolicyName(n, tier); got != n {
			t.Errorf("TieredPolicyName(%s) = %s, want unchanged", n, got)
		}
	}
}
