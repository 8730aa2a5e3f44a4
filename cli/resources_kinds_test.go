package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"sigs.k8s.io/yaml"
)

const nodesYAML = `apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-a
  labels:
    route-reflector: true
spec:
  bgp:
    ipv4Address: 192.168.1.10/24
    asNumber: 65001
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-b
spec:
  bgp:
    ipv4Address: 192.168.1.11/24
    ipv6Address: fd00::11/64
---
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-c
`

func TestGetNodeFormats(t *testing.T) {
	e := newCLIEnv(t)
	if got := e.ok(nodesYAML, "apply", "-f", "-"); got != "Successfully applied 3 'Node' resource(s)\n" {
		t.Fatalf("apply printed %q", got)
	}
	if got, want := squash(e.ok("", "get", "nodes")), "NAME\nnode-a\nnode-b\nnode-c"; got != want {
		t.Errorf("get nodes:\n%s\nwant:\n%s", got, want)
	}
	// A node without its own AS number shows the one it inherits, in parentheses.
	want := "NAME ASN IPV4 IPV6\nnode-a 65001 192.168.1.10/24\nnode-b (64512) 192.168.1.11/24 fd00::11/64\nnode-c"
	if got := squash(e.ok("", "get", "no", "-o", "wide")); got != want {
		t.Errorf("get nodes -o wide:\n%s\nwant:\n%s", got, want)
	}
	e.ok("apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 63400}\n", "apply", "-f", "-")
	if got := squash(e.ok("", "get", "node", "node-b", "-o", "wide")); !strings.Contains(got, "node-b (63400) 192.168.1.11/24") {
		t.Errorf("inherited AS after BGPConfiguration: %s", got)
	}
	if got := e.ok("", "get", "nodes", "-o", "name"); got != "node-a\nnode-b\nnode-c\n" {
		t.Errorf("-o name: %q", got)
	}
	var list struct {
		Kind  string
		Items []api.Node
	}
	if err := yaml.Unmarshal([]byte(e.ok("", "get", "nodes", "-o", "yaml")), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "NodeList" || len(list.Items) != 3 || list.Items[0].Labels["route-reflector"] != "true" {
		t.Errorf("get nodes -o yaml: %+v", list)
	}
	var one api.Node
	if err := json.Unmarshal([]byte(e.ok("", "get", "node", "node-a", "-o", "json")), &one); err != nil {
		t.Fatal(err)
	}
	if one.Kind != "Node" || one.Spec.BGP == nil || one.Spec.BGP.ASNumber == nil || *one.Spec.BGP.ASNumber != 65001 {
		t.Errorf("get node node-a -o json: %+v", one)
	}
}

func TestGetBGPPeerTable(t *testing.T) {
	e := newCLIEnv(t)
	e.ok(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: global-peer}
spec: {peerIP: 192.168.1.1, asNumber: 65000}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: node-peer}
spec: {node: node-a, peerIP: 192.168.1.2, asNumber: 65002}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: rr-peer}
spec: {nodeSelector: all(), peerSelector: route-reflector=="true"}
`, "apply", "-f", "-")
	want := "NAME PEERIP NODE ASN\nglobal-peer 192.168.1.1 (global) 65000\nnode-peer 192.168.1.2 node-a 65002\nrr-peer route-reflector==\"true\" all()"
	if got := squash(e.ok("", "get", "bgppeers")); got != want {
		t.Errorf("get bgppeers:\n%s\nwant:\n%s", got, want)
	}
}

func TestWorkloadEndpointNamespaces(t *testing.T) {
	e := newCLIEnv(t)
	wep := func(ns, name, ip string) string {
		return `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: ` + name + `, namespace: ` + ns + `}
spec: {node: node-a, workload: ` + name + `-w, endpoint: eth0, orchestrator: cni, interfaceName: cali` + name + `, ipNetworks: [` + ip + `/32]}
`
	}
	e.ok(wep("default", "w1", "10.10.0.1")+"---\n"+wep("prod", "w2", "10.10.0.2"), "apply", "-f", "-")
	if got, want := squash(e.ok("", "get", "weps")), "WORKLOAD NODE NETWORKS INTERFACE\nw1-w node-a 10.10.0.1/32 caliw1"; got != want {
		t.Errorf("get weps (default namespace):\n%s\nwant:\n%s", got, want)
	}
	if got, want := squash(e.ok("", "get", "weps", "-n", "prod")), "WORKLOAD NODE NETWORKS INTERFACE\nw2-w node-a 10.10.0.2/32 caliw2"; got != want {
		t.Errorf("get weps -n prod:\n%s\nwant:\n%s", got, want)
	}
	want := "NAMESPACE WORKLOAD NODE NETWORKS INTERFACE\ndefault w1-w node-a 10.10.0.1/32 caliw1\nprod w2-w node-a 10.10.0.2/32 caliw2"
	if got := squash(e.ok("", "get", "workloadendpoints", "-A")); got != want {
		t.Errorf("get weps -A:\n%s\nwant:\n%s", got, want)
	}
	if got := e.ok("", "get", "weps", "--all-namespaces", "-o", "name"); got != "default/w1\nprod/w2\n" {
		t.Errorf("-A -o name: %q", got)
	}
	e.ok("", "label", "wep", "w2", "-n", "prod", "app=db")
	e.ok("", "delete", "wep", "w2", "--namespace", "prod")
	if msg := e.fails("", "get", "wep", "w2", "-n", "prod"); !strings.Contains(msg, "does not exist") {
		t.Errorf("wep after delete: %q", msg)
	}
}
