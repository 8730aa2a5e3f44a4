package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryCalicoFieldRoundTrips applies, for every field path of Calico v3.30's API
// (../api/testdata/calico-v3-fields.txt, generated from Calico's source by
// api/internal/calicofields), a document that sets that field to a valid value, reads it back
// with `get -o json` and checks the value survived apply -> etcd -> get. Paths that Calico's
// own validator rejects in that position must be rejected with an error naming the field.
func TestEveryCalicoFieldRoundTrips(t *testing.T) {
	e := newCLIEnv(t)
	fields := readCalicoFields(t)
	tags := map[string]string{}
	for _, f := range fields {
		tags[f.kind+" "+f.path] = f.validate
	}
	n := 0
	for _, f := range fields {
		if f.shape == "object" || f.shape == "list" || f.shape == "map" {
			continue
		}
		tag := f.validate
		if strings.HasSuffix(f.path, "[]") || strings.HasSuffix(f.path, "{}") {
			parent := tags[f.kind+" "+f.path[:len(f.path)-2]]
			if _, after, ok := strings.Cut(parent, "dive,"); ok {
				tag = after
			} else {
				tag = parent
			}
		}
		value := sampleValue(f.kind, f.path, f.shape, tag)
		doc := baseDoc(f.kind)
		for _, extra := range contextFor(f.kind, f.path) {
			setPath(doc, extra.path, extra.value)
		}
		setPath(doc, f.path, value)
		b, _ := json.Marshal(doc)
		n++
		if want, rejected := mustReject(f.kind, f.path); rejected {
			r := e.runWith(string(b), "apply", "-f", "-")
			if r.err == nil {
				t.Errorf("%s %s: Calico's validator rejects it in this position, brindle applied it", f.kind, f.path)
				e.ok(string(b), "delete", "-f", "-")
			} else if msg := r.err.Error(); !strings.Contains(msg, want) {
				t.Errorf("%s %s: Calico rejects it here, brindle's error %q lacks %q", f.kind, f.path, msg, want)
			}
			continue
		}
		r := e.runWith(string(b), "apply", "-f", "-")
		if r.err != nil {
			t.Errorf("%s %s = %v: apply failed: %v\n%s", f.kind, f.path, value, r.err, b)
			continue
		}
		meta := doc["metadata"].(map[string]any)
		args := []string{"get", f.kind, meta["name"].(string), "-o", "json"}
		if ns, ok := meta["namespace"].(string); ok {
			args = append(args, "-n", ns)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(e.ok("", args...)), &got); err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		want := value
		if strings.HasSuffix(f.path, "[]") {
			want = []any{value}
		} else if strings.HasSuffix(f.path, "{}") {
			want = map[string]any{"k": value}
		}
		if g := getPath(got, f.path); !reflect.DeepEqual(g, normalise(want)) {
			t.Errorf("%s %s: set %v, got back %v", f.kind, f.path, value, g)
		}
		e.ok(string(b), "delete", "-f", "-")
	}
	if n < 600 {
		t.Errorf("only %d leaf paths tested; the field list looks truncated", n)
	}
}

type calicoField struct{ kind, path, shape, validate string }

func readCalicoFields(t *testing.T) []calicoField {
	f, err := os.Open("../api/testdata/calico-v3-fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []calicoField
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := strings.Split(sc.Text(), "\t"); len(p) == 4 && !strings.HasPrefix(p[0], "#") {
			out = append(out, calicoField{p[0], p[1], p[2], p[3]})
		}
	}
	return out
}

// baseDoc is a minimal valid resource of each kind.
func baseDoc(kind string) map[string]any {
	name := "f1"
	spec := map[string]any{}
	meta := map[string]any{"name": name}
	switch kind {
	case "ClusterInformation", "KubeControllersConfiguration", "IPAMConfiguration", "FelixConfiguration", "BGPConfiguration":
		meta["name"] = "default"
	case "NetworkPolicy", "NetworkSet":
		meta["namespace"] = "ns1"
	case "WorkloadEndpoint":
		meta["namespace"] = "ns1"
		meta["name"] = "node1-k8s-pod1-eth0"
		spec = map[string]any{"node": "node1", "orchestrator": "k8s", "pod": "pod1", "endpoint": "eth0", "interfaceName": "cali0123456789a"}
	case "HostEndpoint":
		spec = map[string]any{"node": "node1", "interfaceName": "eth0"}
	case "IPPool":
		spec = map[string]any{"cidr": "10.1.0.0/16"}
	case "BGPPeer":
		spec = map[string]any{"peerIP": "10.0.0.9", "asNumber": 64513}
	case "CalicoNodeStatus":
		spec = map[string]any{"node": "node1", "classes": []any{"Agent"}, "updatePeriodSeconds": 10}
	}
	return map[string]any{"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": meta, "spec": spec}
}

type pathValue struct {
	path  string
	value any
}

var ruleRE = regexp.MustCompile(`^spec\.(ingress|egress|exportV4|importV4|exportV6|importV6)\[\]`)

// contextFor returns the other fields a path needs to make a valid resource (a rule needs an
// action; ports need a protocol that has them; an ICMP code needs a type).
func contextFor(kind, path string) []pathValue {
	var out []pathValue
	rule := ruleRE.FindString(path)
	policyRule := strings.Contains(rule, "gress[]")
	switch {
	case policyRule:
		out = append(out, pathValue{rule + ".action", "Allow"})
		switch {
		case strings.Contains(path, "orts"):
			out = append(out, pathValue{rule + ".protocol", "TCP"})
		case strings.Contains(path, "ICMP") || strings.Contains(path, "icmp"):
			out = append(out, pathValue{rule + ".protocol", "ICMP"}, pathValue{path[:strings.LastIndex(path, ".")] + ".type", 8})
		case strings.Contains(path, "http"):
			out = append(out, pathValue{rule + ".protocol", "TCP"})
		case strings.Contains(path, ".services."):
			out = append(out, pathValue{path[:strings.LastIndex(path, ".")] + ".name", "svc"}, pathValue{path[:strings.LastIndex(path, ".")] + ".namespace", "ns1"})
		}
	case rule != "":
		out = append(out, pathValue{rule + ".action", "Accept"})
		if strings.Contains(path, "matchOperator") || strings.Contains(path, "prefixLength") {
			out = append(out, pathValue{rule + ".cidr", map[bool]string{true: "fd00::/64", false: "10.0.0.0/24"}[strings.Contains(rule, "V6")]})
		}
		if strings.HasSuffix(path, ".cidr") || strings.Contains(path, "prefixLength") {
			out = append(out, pathValue{rule + ".matchOperator", "In"})
		}
	}
	switch {
	case kind == "BGPConfiguration" && strings.HasPrefix(path, "spec.prefixAdvertisements[]"):
		out = append(out, pathValue{"spec.prefixAdvertisements[].cidr", "10.0.0.0/24"}, pathValue{"spec.prefixAdvertisements[].communities[]", "65000:100"})
	case kind == "BGPConfiguration" && strings.HasPrefix(path, "spec.communities[]"):
		out = append(out, pathValue{"spec.communities[].name", "c1"}, pathValue{"spec.communities[].value", "65000:100"},
			pathValue{"spec.prefixAdvertisements[].cidr", "10.0.0.0/24"}, pathValue{"spec.prefixAdvertisements[].communities[]", "65000:100"})
	case strings.HasPrefix(path, "spec.failsafe") || strings.HasPrefix(path, "spec.routeTableRange"):
		p := path[:strings.LastIndex(path, ".")]
		if strings.HasSuffix(p, "Ports[]") {
			out = append(out, pathValue{p + ".protocol", "TCP"}, pathValue{p + ".port", 22})
		} else {
			out = append(out, pathValue{p + ".min", 1}, pathValue{p + ".max", 250})
		}
	case strings.HasPrefix(path, "spec.healthTimeoutOverrides[]"):
		out = append(out, pathValue{"spec.healthTimeoutOverrides[].name", "InternalDataplaneMainLoop"}, pathValue{"spec.healthTimeoutOverrides[].timeout", "1m0s"})
	case strings.HasPrefix(path, "spec.ports[]"):
		out = append(out, pathValue{"spec.ports[].name", "http"}, pathValue{"spec.ports[].protocol", "TCP"}, pathValue{"spec.ports[].port", 80})
	case strings.HasPrefix(path, "spec.ipNATs[]"):
		out = append(out, pathValue{"spec.ipNetworks[]", "10.1.2.3/32"}, pathValue{"spec.ipNATs[].internalIP", "10.1.2.3"}, pathValue{"spec.ipNATs[].externalIP", "172.16.0.1"})
	case strings.HasPrefix(path, "spec.nodeMeshPassword.secretKeyRef") || strings.HasPrefix(path, "spec.password.secretKeyRef"):
		out = append(out, pathValue{path[:strings.LastIndex(path, ".")] + ".key", "k"})
	case strings.HasPrefix(path, "spec.addresses[]"):
		out = append(out, pathValue{"spec.addresses[].address", "10.0.0.1"})
	case strings.HasPrefix(path, "spec.orchRefs[]"):
		out = append(out, pathValue{"spec.orchRefs[].orchestrator", "k8s"})
	case kind == "BGPPeer" && path == "spec.peerSelector":
		out = append(out, pathValue{"spec.peerIP", nil}, pathValue{"spec.asNumber", nil})
	case kind == "BGPPeer" && path == "spec.localWorkloadSelector":
		out = append(out, pathValue{"spec.peerIP", nil})
	case kind == "BGPPeer" && path == "spec.reachableBy":
		out = append(out, pathValue{"spec.peerIP", "10.0.0.9"})
	case kind == "BGPPeer" && path == "spec.nodeSelector":
	case kind == "GlobalNetworkPolicy" && (path == "spec.preDNAT" || path == "spec.doNotTrack"):
		out = append(out, pathValue{"spec.applyOnForward", true})
	case kind == "IPAMConfiguration" && path == "spec.autoAllocateBlocks":
		out = append(out, pathValue{"spec.strictAffinity", true})
	}
	return out
}

// mustReject lists the paths Calico's validator rejects whatever their value, with what
// brindle's error must name.
func mustReject(kind, path string) (string, bool) {
	switch {
	case path == "spec.ipip.enabled" || path == "spec.ipip.mode":
		return "spec.ipip", true
	case path == "spec.nat-outgoing":
		return "spec.nat-outgoing", true
	case kind != "Profile" && strings.HasPrefix(path, "spec.egress[].http"):
		return "http", true
	case kind != "Profile" && strings.HasPrefix(path, "spec.egress[].source.services"):
		return "source.services", true
	case kind != "Profile" && strings.HasPrefix(path, "spec.ingress[].destination.services"):
		return "destination.services", true
	}
	return "", false
}

// byTag maps Calico's validate tags to a value each accepts.
var byTag = map[string]any{
	"selector": "all()", "name": "abc", "logLevel": "Info", "ipv4": "10.0.0.5", "ipv6": "fd00::5",
	"ip": "10.0.0.6", "net": "10.0.0.0/24", "netv4": "10.0.0.0/24", "cidr": "10.0.0.0/24", "cidrs": "10.0.0.0/24",
	"netv6": "fd00::/64", "cidrv4": "10.0.0.5/24", "cidrv6": "fd00::5/64", "regexp": "^eth", "action": "Allow",
	"filterAction": "Accept", "matchOperator": "In", "interface": "eth1", "bgpFilterInterface": "eth*",
	"ifaceFilter": "eth+", "ifaceFilterSlice": "eth+", "acceptReturn": "Accept", "dropReject": "Drop", "dropAcceptReturn": "Accept",
	"mac": "02:00:00:00:00:01", "keyValueList": "a=b", "createDefaultHostEndpoint": "Enabled",
	"assignIPs": "AllServices", "vxlanMode": "Never", "ipIpMode": "Never", "sourceAddress": "UseNodeIP",
	"routeSource": "CalicoIPAM", "reachableBy": "10.0.0.1", "prometheusHost": "localhost", "iptablesBackend": "Auto",
	"ipType": "InternalIP", "containerID": "abc123", "bpfServiceMode": "DSR", "bpfLogLevel": "Debug",
	"assignmentMode": "Manual", "IP:port": "10.0.0.1:179", "portName": "http", "ignoredInterface": "eth9",
	"wireguardPublicKey": "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=", "policyType": "Ingress",
	"labels": "v", "ipVersion": 4, "gt=0": 1, "gte=-1": 5, "gte=1": 5, "bgpFilterPrefixLengthV4": 24,
	"bgpFilterPrefixLengthV6": 64, "gte=0": 3, "gt=0,lt=32766": 100, "required,gte=0": 10,
}

// byPath covers fields whose constraint is not in a validate tag.
var byPath = map[string]any{
	"IPPool spec.cidr": "10.2.0.0/16", "BGPPeer spec.nextHopMode": "Self", "BGPPeer spec.reversePeering": "Manual",
	"ClusterInformation spec.clusterGUID": "0123456789abcdef0123456789abcdef", "IPPool spec.blockSize": 24, "IPPool spec.allowedUses[]": "Workload",
	"IPReservation spec.reservedCIDRs[]": "10.0.0.0/24", "BGPPeer spec.peerIP": "10.0.0.10",
	"BGPConfiguration spec.bindMode": "NodeIP", "BGPConfiguration spec.communities[].value": "65000:200",
	"BGPConfiguration spec.prefixAdvertisements[].communities[]": "65000:200",
	"WorkloadEndpoint spec.ipNetworks[]":                         "10.1.2.3/32", "WorkloadEndpoint spec.ipNATs[].internalIP": "10.1.2.3",
	"WorkloadEndpoint spec.ports[].hostIP": "10.0.0.1", "WorkloadEndpoint spec.interfaceName": "cali0123456789b",
	"WorkloadEndpoint spec.node": "node1", "WorkloadEndpoint spec.orchestrator": "k8s", "WorkloadEndpoint spec.pod": "pod1",
	"WorkloadEndpoint spec.endpoint": "eth0", "HostEndpoint spec.node": "node1",
	"Node status.podCIDRs[]": "10.0.0.0/24", "Node spec.orchRefs[].orchestrator": "k8s",
	"CalicoNodeStatus spec.classes[]": "BGP", "CalicoNodeStatus spec.node": "node1",
	"FelixConfiguration spec.natOutgoingAddress": "10.0.0.1", "FelixConfiguration spec.deviceRouteSourceAddress": "10.0.0.1",
	"FelixConfiguration spec.deviceRouteSourceAddressIPv6": "fd00::1", "FelixConfiguration spec.interfacePrefix": "cali",
	"FelixConfiguration spec.chainInsertMode": "Append", "FelixConfiguration spec.ipForwarding": "Enabled",
	"FelixConfiguration spec.floatingIPs": "Disabled", "FelixConfiguration spec.nftablesMode": "Enabled",
	"FelixConfiguration spec.externalNodesList[]": "10.0.0.0/24", "FelixConfiguration spec.openstackRegion": "region1",
	"FelixConfiguration spec.healthTimeoutOverrides[].name": "CalcGraph", "FelixConfiguration spec.mtuIfacePattern": "^eth",
	"FelixConfiguration spec.failsafeInboundHostPorts[].protocol": "UDP", "FelixConfiguration spec.failsafeOutboundHostPorts[].protocol": "UDP",
	"FelixConfiguration spec.failsafeInboundHostPorts[].net": "10.0.0.0/8", "FelixConfiguration spec.failsafeOutboundHostPorts[].net": "10.0.0.0/8",
	"FelixConfiguration spec.kubeNodePortRanges[]": "30000:32767", "FelixConfiguration spec.natPortRange": "20000:29999",
	"FelixConfiguration spec.bpfPSNATPorts": "20000:29999", "FelixConfiguration spec.routeTableRange.max": 200,
	"FelixConfiguration spec.routeTableRanges[].max": 300, "FelixConfiguration spec.routeSource": "WorkloadIPs",
	"FelixConfiguration spec.workloadSourceSpoofing": "Any", "FelixConfiguration spec.deviceRouteProtocol": 80,
	"GlobalNetworkPolicy spec.tier": "default", "NetworkPolicy spec.tier": "default",
	"KubeControllersConfiguration spec.logSeverityScreen": "Warning",
}

func sampleValue(kind, path, shape, tag string) any {
	if v, ok := byPath[kind+" "+path]; ok {
		return v
	}
	if strings.HasSuffix(path, "http.paths[].exact") || strings.HasSuffix(path, "http.paths[].prefix") {
		return "/api"
	}
	if strings.HasSuffix(path, ".protocol") || shape == "protocol" {
		return "UDP"
	}
	if strings.HasSuffix(path, "bpfConntrackTimeouts."+path[strings.LastIndex(path, ".")+1:]) {
		return "Auto"
	}
	tag = strings.TrimPrefix(strings.TrimPrefix(tag, "omitempty,"), "required,")
	if w, ok := strings.CutPrefix(tag, "oneof="); ok {
		return strings.Fields(w)[0]
	}
	for t, v := range byTag {
		if _, isNum := v.(int); isNum != (shape == "int") {
			continue
		}
		if tag == t || strings.HasPrefix(tag, t+",") || strings.HasPrefix(tag, t) && strings.Contains(t, "=") {
			return v
		}
	}
	switch shape {
	case "bool":
		return true
	case "int":
		return 7
	case "float":
		return 1.5
	case "duration":
		return "1m0s"
	case "time":
		return "2024-01-01T00:00:00Z"
	case "asnumber":
		return 64514
	case "port":
		return 8080
	}
	return "x"
}

// setPath sets a value at a Calico field path, creating one-item lists ("[]") and
// one-key maps ("{}") on the way; a nil value deletes the field.
func setPath(doc map[string]any, path string, value any) {
	segs := strings.Split(path, ".")
	cur := doc
	for i, seg := range segs {
		name := strings.TrimRight(seg, "[]{}")
		last := i == len(segs)-1
		switch {
		case strings.HasSuffix(seg, "[]"):
			list, _ := cur[name].([]any)
			if len(list) == 0 {
				list = []any{map[string]any{}}
			}
			if last {
				cur[name] = []any{value}
				return
			}
			cur[name] = list
			cur = list[0].(map[string]any)
		case strings.HasSuffix(seg, "{}"):
			cur[name] = map[string]any{"k": value}
			return
		case last:
			if value == nil {
				delete(cur, name)
			} else {
				cur[name] = value
			}
		default:
			next, _ := cur[name].(map[string]any)
			if next == nil {
				next = map[string]any{}
				cur[name] = next
			}
			cur = next
		}
	}
}

// getPath reads back what setPath wrote, in the same shape.
func getPath(doc map[string]any, path string) any {
	var cur any = doc
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		name := strings.TrimRight(seg, "[]{}")
		cur = m[name]
		if strings.HasSuffix(seg, "[]") && i < len(segs)-1 {
			l, _ := cur.([]any)
			if len(l) == 0 {
				return nil
			}
			cur = l[0]
		}
	}
	return cur
}

// normalise puts a sample value into the shape getPath returns it in (JSON numbers are
// float64; list items and map values are wrapped as setPath wrote them).
func normalise(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// An invalid policy in a multi-document apply names its field and writes nothing, not even
// the valid documents before it.
func TestInvalidPolicyWritesNothing(t *testing.T) {
	e := newCLIEnv(t)
	docs := `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: sec}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sec.ok}
spec: {tier: sec, ingress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: sec.bad}
spec:
  tier: sec
  preDNAT: true
  ingress:
  - action: Allow
    icmp: {type: 8}
    destination: {ports: [80]}
`
	msg := e.fails(docs, "apply", "-f", "-")
	for _, want := range []string{"document 3", "sec.bad", "spec.ingress[0].icmp: requires protocol ICMP or ICMPv6",
		"spec.ingress[0].destination.ports: ports require protocol TCP, UDP or SCTP", "spec.applyOnForward: must be true"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, kind := range []string{"tiers", "globalnetworkpolicies"} {
		if out := e.ok("", "get", kind, "-o", "name"); strings.Contains(out, "sec") {
			t.Errorf("an invalid document still let others be written: %s: %q", kind, out)
		}
	}
	// A policy named for another tier is refused with the name it needs.
	bad := strings.Replace(docs[:strings.Index(docs, "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: sec.bad}")], "name: sec.ok", "name: ok", 1)
	if msg := e.fails(bad, "apply", "-f", "-"); !strings.Contains(msg, `metadata.name: a policy in tier "sec" must be named "sec.<name>"`) {
		t.Errorf("tier prefix: %q", msg)
	}
}
