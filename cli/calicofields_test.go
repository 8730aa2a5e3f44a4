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
