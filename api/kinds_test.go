package api

import (
	"encoding/json"
	"testing"
)

// yamlCases: every kind written as a user would in YAML, and the JSON brindle must store.
// Where Calico's dump holds the kind, the expected JSON is the dump's value verbatim.
var yamlCases = []struct {
	kind, yaml, want string
}{
	{"IPPool", `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: default-ipv4-ippool
  uid: 4afccf2f-c282-49d1-8ca8-5bff91de60f5
  creationTimestamp: "2026-11-25T19:31:14Z"
spec:
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
  blockSize: 24
`, `{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"default-ipv4-ippool","uid":"4afccf2f-c282-49d1-8ca8-5bff91de60f5","creationTimestamp":"2026-11-25T19:31:14Z"},"spec":{"cidr":"10.244.0.0/16","vxlanMode":"Never","ipipMode":"Always","natOutgoing":true,"blockSize":24,"nodeSelector":"all()","allowedUses":["Workload","Tunnel"],"assignmentMode":"Automatic"}}`},
	{"Node", `
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: rr1
  uid: a22282c7-7ada-432c-a3c3-a10fdb058419
  creationTimestamp: "2026-11-25T19:31:15Z"
  labels:
    route-reflector: true
spec:
  bgp:
    ipv4Address: 192.168.100.2/24
    routeReflectorClusterID: 224.0.0.1
`, `{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"rr1","uid":"a22282c7-7ada-432c-a3c3-a10fdb058419","creationTimestamp":"2026-11-25T19:31:15Z","labels":{"route-reflector":"true"}},"spec":{"bgp":{"ipv4Address":"192.168.100.2/24","routeReflectorClusterID":"224.0.0.1"}},"status":{}}`},
	{"BGPPeer", `
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata:
  name: peer-with-route-reflectors
  uid: b4de3f51-decf-441c-a77f-da36e0310da1
  creationTimestamp: "2026-11-25T19:31:15Z"
spec:
  nodeSelector: all()
  peerSelector: route-reflector == 'true'
`, `{"kind":"BGPPeer","apiVersion":"projectcalico.org/v3","metadata":{"name":"peer-with-route-reflectors","uid":"b4de3f51-decf-441c-a77f-da36e0310da1","creationTimestamp":"2026-11-25T19:31:15Z"},"spec":{"nodeSelector":"all()","peerSelector":"route-reflector == 'true'"}}`},
	{"BGPConfiguration", `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
  uid: ade4b7d5-d393-45fe-9618-d1332b2f999f
  creationTimestamp: "2026-11-25T19:31:15Z"
spec:
  logSeverityScreen: Info
  nodeToNodeMeshEnabled: false
  asNumber: 63400
`, `{"kind":"BGPConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default","uid":"ade4b7d5-d393-45fe-9618-d1332b2f999f","creationTimestamp":"2026-11-25T19:31:15Z"},"spec":{"logSeverityScreen":"Info","nodeToNodeMeshEnabled":false,"asNumber":63400}}`},
	{"ClusterInformation", `
apiVersion: projectcalico.org/v3
kind: ClusterInformation
metadata: {name: default, uid: 2f81c9b5-c936-4e33-8482-234667df16e6, creationTimestamp: "2026-11-25T19:31:14Z"}
spec: {clusterGUID: 12f4fc3075d541368b3a6bcda3852060, datastoreReady: true}
`, `{"kind":"ClusterInformation","apiVersion":"projectcalico.org/v3","metadata":{"name":"default","uid":"2f81c9b5-c936-4e33-8482-234667df16e6","creationTimestamp":"2026-11-25T19:31:14Z"},"spec":{"clusterGUID":"12f4fc3075d541368b3a6bcda3852060","datastoreReady":true}}`},
	{"GlobalNetworkPolicy", `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: default.allow-icmp-and-dns
  uid: abd5b565-eabf-4dba-9f39-f6a485d5f29b
  creationTimestamp: "2026-11-25T19:31:15Z"
  annotations:
    projectcalico.org/metadata: '{"name":"allow-icmp-and-dns"}'
spec:
  order: 100
  selector: all()
  ingress:
  - action: Allow
    protocol: ICMP
  - action: Allow
    protocol: TCP
    source:
      nets: [10.244.0.0/16]
    destination:
      ports: [80, "443"]
  egress:
  - action: Allow
    protocol: UDP
    destination:
      ports: [53]
  - action: Allow
`, `{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"default.allow-icmp-and-dns","uid":"abd5b565-eabf-4dba-9f39-f6a485d5f29b","creationTimestamp":"2026-11-25T19:31:15Z","annotations":{"projectcalico.org/metadata":"{\"name\":\"allow-icmp-and-dns\"}"}},"spec":{"order":100,"ingress":[{"action":"Allow","protocol":"ICMP","source":{},"destination":{}},{"action":"Allow","protocol":"TCP","source":{"nets":["10.244.0.0/16"]},"destination":{"ports":[80,443]}}],"egress":[{"action":"Allow","protocol":"UDP","source":{},"destination":{"ports":[53]}},{"action":"Allow","source":{},"destination":{}}],"selector":"all()","types":["Ingress","Egress"]}}`},
	{"Tier", `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: default, uid: 85a56e8f-b703-4313-bea6-f63382bc427d, creationTimestamp: "2026-11-25T19:31:14Z"}
spec: {}
`, `{"kind":"Tier","apiVersion":"projectcalico.org/v3","metadata":{"name":"default","uid":"85a56e8f-b703-4313-bea6-f63382bc427d","creationTimestamp":"2026-11-25T19:31:14Z"},"spec":{"order":1000000,"defaultAction":"Deny"}}`},
	{"Profile", `
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: calico-peer-test, uid: 4d52d88d-ab80-46d6-ac59-0683e22c85e1, creationTimestamp: "2026-11-25T19:31:42Z"}
spec:
  ingress:
  - action: Allow
    source: {selector: has(calico-peer-test)}
  egress:
  - action: Allow
  labelsToApply:
    calico-peer-test: ""
`, `{"kind":"Profile","apiVersion":"projectcalico.org/v3","metadata":{"name":"calico-peer-test","uid":"4d52d88d-ab80-46d6-ac59-0683e22c85e1","creationTimestamp":"2026-11-25T19:31:42Z"},"spec":{"ingress":[{"action":"Allow","source":{"selector":"has(calico-peer-test)"},"destination":{}}],"egress":[{"action":"Allow","source":{},"destination":{}}],"labelsToApply":{"calico-peer-test":""}}}`},
	{"WorkloadEndpoint", `
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node1-cni-abc-eth0
  namespace: default
  uid: 578d6be9-fde6-491c-b936-7e0ce9c04706
  creationTimestamp: "2026-11-25T19:31:42Z"
  labels:
    projectcalico.org/namespace: default
    projectcalico.org/orchestrator: cni
spec:
  orchestrator: cni
  node: node1
  containerID: abc
  endpoint: eth0
  ipNetworks: [10.244.154.0/32]
  profiles: [calico-peer-test]
  interfaceName: caliabc
  mac: 36:11:68:19:19:aa
`, `{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"node1-cni-abc-eth0","namespace":"default","uid":"578d6be9-fde6-491c-b936-7e0ce9c04706","creationTimestamp":"2026-11-25T19:31:42Z","labels":{"projectcalico.org/namespace":"default","projectcalico.org/orchestrator":"cni"}},"spec":{"orchestrator":"cni","node":"node1","containerID":"abc","endpoint":"eth0","ipNetworks":["10.244.154.0/32"],"profiles":["calico-peer-test"],"interfaceName":"caliabc","mac":"36:11:68:19:19:aa"}}`},
	// Kinds the dump does not hold: expected JSON follows Calico's field names and omitempty rules.
	{"FelixConfiguration", `
apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  reportingInterval: 0s
  ipipEnabled: true
  vxlanVNI: 4096
  defaultEndpointToHostAction: Return
  failsafeInboundHostPorts: [{protocol: tcp, port: 22}]
  natPortRange: "32768:65535"
  routeRefreshInterval: 90s
`, `{"kind":"FelixConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"routeRefreshInterval":"1m30s","defaultEndpointToHostAction":"Return","ipipEnabled":true,"vxlanVNI":4096,"reportingInterval":"0s","failsafeInboundHostPorts":[{"protocol":"tcp","port":22}],"natPortRange":"32768:65535"}}`},
	{"IPAMConfiguration", `
apiVersion: projectcalico.org/v3
kind: IPAMConfiguration
metadata: {name: default}
spec: {strictAffinity: true, maxBlocksPerHost: 4}
`, `{"kind":"IPAMConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"strictAffinity":true,"maxBlocksPerHost":4,"autoAllocateBlocks":true}}`},
	{"NetworkPolicy", `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  selector: app == 'web'
  egress:
  - action: Deny
    protocol: 17
    notProtocol: TCP
    ipVersion: 4
    destination: {notPorts: ["1000:2000", dns], notNets: [10.0.0.0/8]}
  - action: Allow
    protocol: ICMP
    icmp: {type: 8, code: 0}
  ingress:
  - action: Allow
    protocol: TCP
    http: {methods: [GET], paths: [{prefix: /api}]}
`, `{"kind":"NetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"web","namespace":"prod"},"spec":{"ingress":[{"action":"Allow","protocol":"TCP","source":{},"destination":{},"http":{"methods":["GET"],"paths":[{"prefix":"/api"}]}}],"egress":[{"action":"Deny","ipVersion":4,"protocol":17,"notProtocol":"TCP","source":{},"destination":{"notNets":["10.0.0.0/8"],"notPorts":["1000:2000","dns"]}},{"action":"Allow","protocol":"ICMP","icmp":{"type":8,"code":0},"source":{},"destination":{}}],"selector":"app == 'web'","types":["Ingress","Egress"]}}`},
	{"NetworkSet", `
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: ext, namespace: prod, labels: {role: db}}
spec: {nets: [198.51.100.0/24, 2001:db8::/32]}
`, `{"kind":"NetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"ext","namespace":"prod","labels":{"role":"db"}},"spec":{"nets":["198.51.100.0/24","2001:db8::/32"]}}`},
	{"GlobalNetworkSet", `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: blocked}
spec: {nets: [203.0.113.7]}
`, `{"kind":"GlobalNetworkSet","apiVersion":"projectcalico.org/v3","metadata":{"name":"blocked"},"spec":{"nets":["203.0.113.7"]}}`},
	{"HostEndpoint", `
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0}
spec:
  node: node1
  interfaceName: eth0
  expectedIPs: [192.168.100.11]
  ports: [{name: ssh, protocol: TCP, port: 22}]
`, `{"kind":"HostEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"node1-eth0"},"spec":{"node":"node1","interfaceName":"eth0","expectedIPs":["192.168.100.11"],"ports":[{"name":"ssh","protocol":"TCP","port":22}]}}`},
	{"IPReservation", `
apiVersion: projectcalico.org/v3
kind: IPReservation
metadata: {name: gw}
spec: {reservedCIDRs: [10.244.0.1, 10.244.255.0/24]}
`, `{"kind":"IPReservation","apiVersion":"projectcalico.org/v3","metadata":{"name":"gw"},"spec":{"reservedCIDRs":["10.244.0.1","10.244.255.0/24"]}}`},
	{"CalicoNodeStatus", `
apiVersion: projectcalico.org/v3
kind: CalicoNodeStatus
metadata: {name: node1-status}
spec: {node: node1, classes: [Agent, BGP], updatePeriodSeconds: 10}
`, `{"kind":"CalicoNodeStatus","apiVersion":"projectcalico.org/v3","metadata":{"name":"node1-status"},"spec":{"node":"node1","classes":["Agent","BGP"],"updatePeriodSeconds":10},"status":{}}`},
	{"KubeControllersConfiguration", `
apiVersion: projectcalico.org/v3
kind: KubeControllersConfiguration
metadata: {name: default}
spec:
  healthChecks: Enabled
  etcdV3CompactionPeriod: 10m0s
  controllers:
    node: {reconcilerPeriod: 5m}
`, `{"kind":"KubeControllersConfiguration","apiVersion":"projectcalico.org/v3","metadata":{"name":"default"},"spec":{"healthChecks":"Enabled","etcdV3CompactionPeriod":"10m0s","controllers":{"node":{"reconcilerPeriod":"5m0s"}}}}`}, // durations are re-written as metav1.Duration does
	{"BGPFilter", `
apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: {name: no-default}
spec:
  importV4:
  - {action: Reject, matchOperator: Equal, cidr: 0.0.0.0/0}
  exportV6:
  - {action: Accept, source: RemotePeers}
`, `{"kind":"BGPFilter","apiVersion":"projectcalico.org/v3","metadata":{"name":"no-default"},"spec":{"importV4":[{"cidr":"0.0.0.0/0","matchOperator":"Equal","action":"Reject"}],"exportV6":[{"source":"RemotePeers","action":"Accept"}]}}`},
}

// TestEveryKindFromYAML decodes each kind from YAML, applies defaults, validates, and compares
// the stored JSON; the JSON must also decode back to the same bytes.
func TestEveryKindFromYAML(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range yamlCases {
		covered[c.kind] = true
		t.Run(c.kind, func(t *testing.T) {
			rs, err := DecodeDocuments([]byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].GetTypeMeta().Kind != c.kind {
				t.Fatalf("got %d resources, first %T", len(rs), rs[0])
			}
			r := rs[0]
			if d, ok := r.(Defaulter); ok {
				d.Default()
			}
			if err := r.(Validator).Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			assertJSON(t, "stored", r, c.want)
			again, err := DecodeDocuments([]byte(c.want))
			if err != nil {
				t.Fatal(err)
			}
			assertJSON(t, "JSON round trip", again[0], c.want)
		})
	}
	for _, k := range Kinds() {
		if !covered[k.Kind] {
			t.Errorf("kind %s has no YAML case", k.Kind)
		}
		if _, ok := k.New().(Validator); !ok {
			t.Errorf("kind %s has no Validate method", k.Kind)
		}
	}
}

// TestLookupAliases checks calicoctl's names resolve to the right kinds.
func TestLookupAliases(t *testing.T) {
	for alias, want := range map[string]string{
		"ipp": "IPPool", "pools": "IPPool", "IPPool": "IPPool", "no": "Node", "nos": "Node",
		"bgpp": "BGPPeer", "bps": "BGPPeer", "bgpconfig": "BGPConfiguration", "bgpc": "BGPConfiguration",
		"felixconfigs": "FelixConfiguration", "fc": "FelixConfiguration", "policy": "NetworkPolicy",
		"np": "NetworkPolicy", "policies": "NetworkPolicy", "gnp": "GlobalNetworkPolicy", "gnps": "GlobalNetworkPolicy",
		"wep": "WorkloadEndpoint", "weps": "WorkloadEndpoint", "hep": "HostEndpoint", "pro": "Profile",
		"netsets": "NetworkSet", "globalnetworksets": "GlobalNetworkSet", "ipreservations": "IPReservation",
		"cns": "CalicoNodeStatus", "caliconodestatuses": "CalicoNodeStatus", "clusterinfo": "ClusterInformation",
		"ipamconfigs": "IPAMConfiguration", "ipamconfigurations": "IPAMConfiguration", "tiers": "Tier",
		"kubecontrollersconfigurations": "KubeControllersConfiguration", "bgpfilters": "BGPFilter",
	} {
		k, ok := LookupKind(alias)
		if !ok || k.Kind != want {
			t.Errorf("LookupKind(%q) = %v, want %s", alias, k, want)
		}
	}
	ns := map[string]bool{}
	for _, k := range Kinds() {
		if k.Namespaced {
			ns[k.Kind] = true
		}
		if _, err := json.Marshal(k.NewResource()); err != nil {
			t.Errorf("%s: empty resource does not encode: %v", k.Kind, err)
		}
	}
	if len(ns) != 3 || !ns["WorkloadEndpoint"] || !ns["NetworkPolicy"] || !ns["NetworkSet"] {
		t.Errorf("namespaced kinds = %v, want exactly WorkloadEndpoint, NetworkPolicy, NetworkSet", ns)
	}
}
