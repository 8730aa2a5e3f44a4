package api

import (
	"errors"
	"strings"
	"testing"
)

// mustDecode decodes one YAML document, applies defaults and returns the resource.
func mustDecode(t *testing.T, y string) Resource {
	t.Helper()
	rs, err := DecodeDocuments([]byte(y))
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, y)
	}
	if len(rs) != 1 {
		t.Fatalf("got %d resources", len(rs))
	}
	if d, ok := rs[0].(Defaulter); ok {
		d.Default()
	}
	return rs[0]
}

// wantFieldError asserts err is a *ValidationError holding an error for path whose reason
// contains reason.
func wantFieldError(t *testing.T, err error, path, reason string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError for %s, got %v", path, err)
	}
	for _, fe := range ve.Errors {
		if fe.Path == path && strings.Contains(fe.Reason, reason) {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("message %q does not name %s", err.Error(), path)
			}
			return
		}
	}
	t.Errorf("no error at %s containing %q; got: %v", path, reason, err)
}

func pool(spec string) string {
	return "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: " + spec
}

func kind(k, meta, spec string, more ...string) string {
	return "apiVersion: projectcalico.org/v3\nkind: " + k + "\nmetadata: " + meta + "\nspec: " + spec + "\n" + strings.Join(more, "\n")
}

var invalidCases = []struct {
	name, yaml, path, reason string
}{
	// IPPool (calico-model.md §2)
	{"pool cidr missing", pool("{blockSize: 26}"), "spec.cidr", "is required"},
	{"pool cidr not masked", pool("{cidr: 10.244.1.0/16}"), "spec.cidr", "did you mean 10.244.0.0/16?"},
	{"pool cidr garbage", pool("{cidr: 10.244.0.0}"), "spec.cidr", "CIDR form"},
	{"pool link-local v4", pool("{cidr: 169.254.0.0/16}"), "spec.cidr", "link-local"},
	{"pool link-local v6", pool("{cidr: 'fe80::/64'}"), "spec.cidr", "link-local"},
	{"pool block too small", pool("{cidr: 10.0.0.0/8, blockSize: 19}"), "spec.blockSize", "20-32"},
	{"pool block too big", pool("{cidr: 10.0.0.0/8, blockSize: 33}"), "spec.blockSize", "20-32"},
	{"pool v6 block", pool("{cidr: 'fd00::/48', blockSize: 64}"), "spec.blockSize", "116-128"},
	{"pool smaller than block", pool("{cidr: 10.0.0.0/28, blockSize: 26}"), "spec.cidr", "smaller than one block"},
	{"pool ipip mode", pool("{cidr: 10.0.0.0/16, ipipMode: Sometimes}"), "spec.ipipMode", "Never, Always, CrossSubnet"},
	{"pool vxlan mode", pool("{cidr: 10.0.0.0/16, vxlanMode: always}"), "spec.vxlanMode", "Never, Always, CrossSubnet"},
	{"pool both encaps", pool("{cidr: 10.0.0.0/16, ipipMode: Always, vxlanMode: CrossSubnet}"), "spec.vxlanMode", "cannot both be enabled"},
	{"pool ipip v6", pool("{cidr: 'fd00::/48', ipipMode: Always}"), "spec.ipipMode", "IPv6"},
	{"pool allowed use", pool("{cidr: 10.0.0.0/16, allowedUses: [Workload, Services]}"), "spec.allowedUses[1]", "Workload, Tunnel, LoadBalancer"},
	{"pool load balancer mixed", pool("{cidr: 10.0.0.0/16, allowedUses: [Workload, LoadBalancer]}"), "spec.allowedUses", "LoadBalancer cannot be combined"},
	{"pool load balancer vxlan", pool("{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], vxlanMode: Always}"), "spec.allowedUses", "IPIP or VXLAN"},
	{"pool load balancer no export", pool("{cidr: 10.0.0.0/16, allowedUses: [LoadBalancer], disableBGPExport: true}"), "spec.disableBGPExport", "announced"},
	{"bgp communities unused", kind("BGPConfiguration", "{name: default}", "{communities: [{name: a, value: '1:2'}]}"), "spec.communities", "prefixAdvertisements"},
	{"bgp mesh password", kind("BGPConfiguration", "{name: default}", "{nodeToNodeMeshEnabled: false, nodeMeshPassword: {secretKeyRef: {name: s, key: k}}}"), "spec.nodeMeshPassword", "nodeToNodeMeshEnabled"},
	{"bgp ignored iface", kind("BGPConfiguration", "{name: default}", "{ignoredInterfaces: ['*']}"), "spec.ignoredInterfaces[0]", "interface"},
	{"bgp prefix adv communities", kind("BGPConfiguration", "{name: default}", "{prefixAdvertisements: [{cidr: 10.0.0.0/8}]}"), "spec.prefixAdvertisements[0].communities", "required"},
	{"peer workload selector asn", kind("BGPPeer", "{name: p}", "{localWorkloadSelector: all()}"), "spec.asNumber", "localWorkloadSelector"},
	{"peer next hop both", kind("BGPPeer", "{name: p}", "{peerIP: 10.0.0.1, asNumber: 1, keepOriginalNextHop: true, nextHopMode: Keep}"), "spec.keepOriginalNextHop", "nextHopMode"},
	{"peer reachable family", kind("BGPPeer", "{name: p}", "{peerIP: 10.0.0.1, asNumber: 1, reachableBy: 'fd00::1'}"), "spec.reachableBy", "family"},
	{"peer reachable alone", kind("BGPPeer", "{name: p}", "{peerSelector: all(), reachableBy: 10.0.0.1}"), "spec.reachableBy", "peerIP"},
	{"filter prefix without cidr", kind("BGPFilter", "{name: f}", "{importV4: [{action: Accept, prefixLength: {min: 8}}]}"), "spec.importV4[0].prefixLength", "cidr"},
	{"filter iface", kind("BGPFilter", "{name: f}", "{importV4: [{action: Accept, interface: 'a/b'}]}"), "spec.importV4[0].interface", "interface"},
	{"node empty bgp", kind("Node", "{name: node1}", "{bgp: {}}"), "spec.bgp", "empty"},
	{"wep port name", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, ports: [{protocol: TCP, port: 80}]}"), "spec.ports[0].name", "hostPort"},
	{"wep container id", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, containerID: 'a_b'}"), "spec.containerID", "letters"},
	{"wep nat family", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, ipNetworks: [10.0.0.1/32], ipNATs: [{internalIP: 10.0.0.1, externalIP: 'fd00::1'}]}"), "spec.ipNATs[0].externalIP", "same IP version"},
	{"hep port name", kind("HostEndpoint", "{name: h}", "{node: n1, interfaceName: eth0, ports: [{protocol: TCP, port: 22}]}"), "spec.ports[0].name", "required"},
	{"netset namespace label", kind("NetworkSet", "{name: s, namespace: ns, labels: {projectcalico.org/namespace: x}}", "{}"), "metadata.labels[projectcalico.org/namespace]", "reserved"},
	{"annotation key", kind("IPPool", "{name: p, annotations: {'bad key': x}}", "{cidr: 10.0.0.0/16}"), "metadata.annotations[bad key]", "key"},
	{"cns period", kind("CalicoNodeStatus", "{name: s}", "{node: n1, classes: [BGP], updatePeriodSeconds: 86401}"), "spec.updatePeriodSeconds", "86400"},
	{"cns classes twice", kind("CalicoNodeStatus", "{name: s}", "{node: n1, classes: [BGP, BGP], updatePeriodSeconds: 5}"), "spec.classes[1]", "twice"},
	{"pool allowed use twice", pool("{cidr: 10.0.0.0/16, allowedUses: [Tunnel, Tunnel]}"), "spec.allowedUses[1]", "twice"},
	{"pool node selector", pool("{cidr: 10.0.0.0/16, nodeSelector: 'a =='}"), "spec.nodeSelector", "a =="},
	{"pool assignment mode", pool("{cidr: 10.0.0.0/16, assignmentMode: Auto}"), "spec.assignmentMode", "Automatic, Manual"},
	{"pool name upper", kind("IPPool", "{name: Pool1}", "{cidr: 10.0.0.0/16}"), "metadata.name", "lower case"},
	{"pool name underscore", kind("IPPool", "{name: my_pool}", "{cidr: 10.0.0.0/16}"), "metadata.name", "lower case"},
	{"pool namespaced", kind("IPPool", "{name: p, namespace: x}", "{cidr: 10.0.0.0/16}"), "metadata.namespace", "not namespaced"},
	{"label value", kind("IPPool", "{name: p, labels: {a: 'b c'}}", "{cidr: 10.0.0.0/16}"), "metadata.labels[a]", "label value"},
	// Node
	{"node ipv4 without prefix", kind("Node", "{name: n1}", "{bgp: {ipv4Address: 10.0.0.5}}"), "spec.bgp.ipv4Address", "10.0.0.5/24"},
	{"node ipv4 is v6", kind("Node", "{name: n1}", "{bgp: {ipv4Address: 'fd00::5/64'}}"), "spec.bgp.ipv4Address", "IPv4"},
	{"node ipv6 is v4", kind("Node", "{name: n1}", "{bgp: {ipv6Address: 10.0.0.5/24}}"), "spec.bgp.ipv6Address", "IPv6"},
	{"node rr cluster id", kind("Node", "{name: n1}", "{bgp: {routeReflectorClusterID: rr1}}"), "spec.bgp.routeReflectorClusterID", "IPv4 address"},
	{"node as zero", kind("Node", "{name: n1}", "{bgp: {asNumber: 0}}"), "spec.bgp.asNumber", "1-4294967295"},
	{"node tunnel addr", kind("Node", "{name: n1}", "{bgp: {ipv4IPIPTunnelAddr: 10.0.0.1/32}}"), "spec.bgp.ipv4IPIPTunnelAddr", "IPv4 address"},
	{"node vxlan mac", kind("Node", "{name: n1}", "{vxlanTunnelMACAddr: zz}"), "spec.vxlanTunnelMACAddr", "MAC"},
	{"node name", kind("Node", "{name: Node_1}", "{}"), "metadata.name", "lower case"},
	{"node pod cidr", "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {}\nstatus: {podCIDRs: [x]}", "status.podCIDRs[0]", "CIDR"},
	// BGPPeer
	{"peer ip", kind("BGPPeer", "{name: b}", "{peerIP: 10.0.0.300, asNumber: 64512}"), "spec.peerIP", "IPv4:port"},
	{"peer port range", kind("BGPPeer", "{name: b}", "{peerIP: '10.0.0.1:99999', asNumber: 64512}"), "spec.peerIP", "IPv4:port"},
	{"peer v6 bracket", kind("BGPPeer", "{name: b}", "{peerIP: 'fd00::1]:179', asNumber: 64512}"), "spec.peerIP", "[IPv6]:port"},
	{"peer port zero", kind("BGPPeer", "{name: b}", "{peerIP: '10.0.0.1:0', asNumber: 64512}"), "spec.peerIP", "1-65535"},
	{"peer ip and selector", kind("BGPPeer", "{name: b}", "{peerIP: 10.0.0.1, asNumber: 1, peerSelector: all()}"), "spec.peerSelector", "cannot be combined with spec.peerIP"},
	{"peer node and selector", kind("BGPPeer", "{name: b}", "{node: n1, nodeSelector: all(), peerIP: 10.0.0.1, asNumber: 1}"), "spec.nodeSelector", "cannot be combined with spec.node"},
	{"peer without as", kind("BGPPeer", "{name: b}", "{peerIP: 10.0.0.1}"), "spec.asNumber", "required"},
	{"peer nothing", kind("BGPPeer", "{name: b}", "{nodeSelector: all()}"), "spec.peerIP", "either"},
	{"peer selector parse", kind("BGPPeer", "{name: b}", "{peerSelector: 'has('}"), "spec.peerSelector", "has("},
	{"peer source address", kind("BGPPeer", "{name: b}", "{peerIP: 10.0.0.1, asNumber: 1, sourceAddress: NodeIP}"), "spec.sourceAddress", "UseNodeIP, None"},
	{"peer as with selector", kind("BGPPeer", "{name: b}", "{peerSelector: all(), asNumber: 5}"), "spec.asNumber", "must be empty"},
	// BGPConfiguration
	{"bgpconfig as zero", kind("BGPConfiguration", "{name: default}", "{asNumber: 0}"), "spec.asNumber", "1-4294967295"},
	{"bgpconfig bind mode", kind("BGPConfiguration", "{name: default}", "{bindMode: All}"), "spec.bindMode", "None, NodeIP"},
	{"bgpconfig log", kind("BGPConfiguration", "{name: default}", "{logSeverityScreen: loud}"), "spec.logSeverityScreen", "Info"},
	{"bgpconfig node mesh", kind("BGPConfiguration", "{name: node.n1}", "{nodeToNodeMeshEnabled: true}"), "spec.nodeToNodeMeshEnabled", "default"},
	{"bgpconfig community", kind("BGPConfiguration", "{name: default}", "{communities: [{name: c, value: '70000:1'}]}"), "spec.communities[0].value", "16-bit"},
	{"bgpconfig prefix community", kind("BGPConfiguration", "{name: default}", "{prefixAdvertisements: [{cidr: 10.0.0.0/8, communities: [nope]}]}"), "spec.prefixAdvertisements[0].communities[0]", "spec.communities"},
	{"bgpconfig service cidr", kind("BGPConfiguration", "{name: default}", "{serviceClusterIPs: [{cidr: x}]}"), "spec.serviceClusterIPs[0].cidr", "CIDR"},
	// FelixConfiguration
	{"felix vxlan port", kind("FelixConfiguration", "{name: default}", "{vxlanPort: 70000}"), "spec.vxlanPort", "0-65535"},
	{"felix vni", kind("FelixConfiguration", "{name: default}", "{vxlanVNI: 16777216}"), "spec.vxlanVNI", "0-16777215"},
	{"felix endpoint action", kind("FelixConfiguration", "{name: default}", "{defaultEndpointToHostAction: Allow}"), "spec.defaultEndpointToHostAction", "Drop, Accept, Return"},
	{"felix nat address", kind("FelixConfiguration", "{name: default}", "{natOutgoingAddress: 'fd00::1'}"), "spec.natOutgoingAddress", "IPv4"},
	{"felix mtu pattern", kind("FelixConfiguration", "{name: default}", "{mtuIfacePattern: '(eth'}"), "spec.mtuIfacePattern", "regular expression"},
	{"felix mtu negative", kind("FelixConfiguration", "{name: default}", "{ipipMTU: -1}"), "spec.ipipMTU", "negative"},
	{"felix route protocol", kind("FelixConfiguration", "{name: default}", "{deviceRouteProtocol: 300}"), "spec.deviceRouteProtocol", "0-255"},
	{"felix failsafe proto", kind("FelixConfiguration", "{name: default}", "{failsafeInboundHostPorts: [{protocol: icmp, port: 1}]}"), "spec.failsafeInboundHostPorts[0].protocol", "TCP"},
	{"felix per-node name", kind("FelixConfiguration", "{name: node.Bad_Node}", "{}"), "metadata.name", "lower case"},
	// Policies and rules (calico-model.md §6)
	{"gnp action", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: allow}]}"), "spec.ingress[0].action", "Allow, Deny, Log, Pass"},
	{"gnp protocol", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: tcp}]}"), "spec.ingress[0].protocol", "TCP, UDP"},
	{"gnp protocol number", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: 0}]}"), "spec.ingress[0].protocol", "1-255"},
	{"gnp ports need protocol", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, destination: {ports: [80]}}]}"), "spec.ingress[0].destination.ports", "TCP, UDP"},
	{"gnp ports with icmp", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: ICMP, source: {ports: [80]}}]}"), "spec.ingress[0].source.ports", "TCP, UDP"},
	{"gnp named port", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: TCP, destination: {ports: [Web_Port]}}]}"), "spec.ingress[0].destination.ports[0]", "named port"},
	{"gnp icmp needs protocol", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, icmp: {type: 8}}]}"), "spec.ingress[0].icmp", "ICMP or ICMPv6"},
	{"gnp icmp type", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: ICMP, icmp: {type: 255}}]}"), "spec.ingress[0].icmp.type", "0-254"},
	{"gnp icmp code alone", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: ICMP, icmp: {code: 1}}]}"), "spec.ingress[0].icmp.code", "type"},
	{"gnp icmp v6 mismatch", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: ICMP, ipVersion: 6}]}"), "spec.ingress[0].protocol", "ipVersion 6"},
	{"gnp ip version", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, ipVersion: 5}]}"), "spec.ingress[0].ipVersion", "4 or 6"},
	{"gnp net", kind("GlobalNetworkPolicy", "{name: p}", "{egress: [{action: Deny, destination: {nets: [10.0.0.0/33]}}]}"), "spec.egress[0].destination.nets[0]", "CIDR"},
	{"gnp net family", kind("GlobalNetworkPolicy", "{name: p}", "{egress: [{action: Deny, ipVersion: 4, destination: {notNets: ['fd00::/8']}}]}"), "spec.egress[0].destination.notNets[0]", "ipVersion 4"},
	{"gnp rule selector", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {selector: 'a = b'}}]}"), "spec.ingress[0].source.selector", "a = b"},
	{"gnp selector", kind("GlobalNetworkPolicy", "{name: p}", "{selector: 'has(x'}"), "spec.selector", "has(x"},
	{"gnp types", kind("GlobalNetworkPolicy", "{name: p}", "{types: [Inbound]}"), "spec.types[0]", "Ingress, Egress"},
	{"gnp prednat type egress", kind("GlobalNetworkPolicy", "{name: p}", "{preDNAT: true, applyOnForward: true, types: [Ingress, Egress]}"), "spec.types[1]", "preDNAT"},
	{"gnp prednat donottrack", kind("GlobalNetworkPolicy", "{name: p}", "{preDNAT: true, doNotTrack: true, applyOnForward: true}"), "spec.preDNAT", "doNotTrack"},
	{"gnp name two dots", kind("GlobalNetworkPolicy", "{name: sec.a.b}", "{tier: sec}"), "metadata.name", "DNS label"},
	{"gnp default tier foreign prefix", kind("GlobalNetworkPolicy", "{name: sec.p}", "{}"), "metadata.name", "\"default.<name>\" or"},
	{"gnp ports udplite", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: UDPLite, destination: {ports: [80]}}]}"), "spec.ingress[0].destination.ports", "TCP, UDP or SCTP"},
	{"gnp port zero", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: TCP, destination: {ports: [0]}}]}"), "spec.ingress[0].destination.ports[0]", "1-65535"},
	{"gnp bare ip net", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {nets: [10.0.0.1]}}]}"), "spec.ingress[0].source.nets[0]", "CIDR"},
	{"gnp mixed families", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {nets: ['fd00::/8']}}]}"), "spec.ingress[0].destination.nets[0]", "mix IPv4 and IPv6"},
	{"gnp catch-all notNets", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {notNets: [0.0.0.0/0]}}]}"), "spec.ingress[0].source.notNets[0]", "catch-all"},
	{"gnp global in rule selector", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {selector: global()}}]}"), "spec.ingress[0].source.selector", "namespaceSelector"},
	{"gnp global combined", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {namespaceSelector: \"global() && a == 'b'\"}}]}"), "spec.ingress[0].source.namespaceSelector", "cannot be combined"},
	{"gnp global in policy selector", kind("GlobalNetworkPolicy", "{name: p}", "{selector: global()}"), "spec.selector", "only valid"},
	{"gnp egress source services", kind("GlobalNetworkPolicy", "{name: p}", "{egress: [{action: Allow, source: {services: {name: s, namespace: ns1}}}]}"), "spec.egress[0].source.services", "egress"},
	{"gnp ingress dest services", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, destination: {services: {name: s, namespace: ns1}}}]}"), "spec.ingress[0].destination.services", "ingress"},
	{"gnp services namespace", kind("GlobalNetworkPolicy", "{name: p}", "{egress: [{action: Allow, destination: {services: {name: s}}}]}"), "spec.egress[0].destination.services.namespace", "required"},
	{"np services with ports", kind("NetworkPolicy", "{name: p, namespace: ns}", "{egress: [{action: Allow, protocol: TCP, destination: {services: {name: s}, ports: [80]}}]}"), "spec.egress[0].destination.ports", "services"},
	{"np services name", kind("NetworkPolicy", "{name: p, namespace: ns}", "{egress: [{action: Allow, destination: {services: {name: S_1}}}]}"), "spec.egress[0].destination.services.name", "lower case"},
	{"np http egress", kind("NetworkPolicy", "{name: p, namespace: ns}", "{egress: [{action: Allow, http: {methods: [GET]}}]}"), "spec.egress[0].http", "egress"},
	{"np http methods twice", kind("NetworkPolicy", "{name: p, namespace: ns}", "{ingress: [{action: Allow, http: {methods: [GET, GET]}}]}"), "spec.ingress[0].http.methods[1]", "twice"},
	{"np http path slash", kind("NetworkPolicy", "{name: p, namespace: ns}", "{ingress: [{action: Allow, http: {paths: [{prefix: api}]}}]}"), "spec.ingress[0].http.paths[0]", "start with '/'"},
	{"np rule annotation", kind("NetworkPolicy", "{name: p, namespace: ns}", "{ingress: [{action: Allow, metadata: {annotations: {'a b': c}}}]}"), "spec.ingress[0].metadata.annotations[a b]", "key"},
	{"np hints twice", kind("NetworkPolicy", "{name: p, namespace: ns}", "{performanceHints: [AssumeNeededOnEveryNode, AssumeNeededOnEveryNode]}"), "spec.performanceHints[1]", "twice"},
	{"np name dots", kind("NetworkPolicy", "{name: a.b.c, namespace: ns}", "{tier: a}"), "metadata.name", "DNS label"},
	{"tier anp order", kind("Tier", "{name: adminnetworkpolicy}", "{order: 5}"), "spec.order", "1000"},
	{"felix bpf log level", kind("FelixConfiguration", "{name: default}", "{bpfLogLevel: Verbose}"), "spec.bpfLogLevel", "Debug, Info, Off"},
	{"felix ct timeout", kind("FelixConfiguration", "{name: default}", "{bpfConntrackTimeouts: {tcpSynSent: soon}}"), "spec.bpfConntrackTimeouts.tcpSynSent", "Auto"},
	{"felix route table ranges", kind("FelixConfiguration", "{name: default}", "{routeTableRange: {min: 1, max: 2}, routeTableRanges: [{min: 1, max: 2}]}"), "spec.routeTableRange", "routeTableRanges"},
	{"felix node port names", kind("FelixConfiguration", "{name: default}", "{kubeNodePortRanges: [http]}"), "spec.kubeNodePortRanges[0]", "named port"},
	{"felix debug port", kind("FelixConfiguration", "{name: default}", "{debugPort: 70000}"), "spec.debugPort", "at most 65535"},
	{"felix force track ifaces", kind("FelixConfiguration", "{name: default}", "{bpfForceTrackPacketsFromIfaces: ['a/b']}"), "spec.bpfForceTrackPacketsFromIfaces[0]", "interface"},
	{"felix feature gates", kind("FelixConfiguration", "{name: default}", "{featureGates: 'a=b,c'}"), "spec.featureGates", "key=value"},
	{"felix bpf log filters", kind("FelixConfiguration", "{name: default}", "{bpfLogFilters: {'a b': 'tcp'}}"), "spec.bpfLogFilters[a b]", "interface"},
	{"felix wg iface", kind("FelixConfiguration", "{name: default}", "{wireguardInterfaceName: 'wg:0'}"), "spec.wireguardInterfaceName", "interface"},
	{"felix wg port zero", kind("FelixConfiguration", "{name: default}", "{wireguardListeningPort: 0}"), "spec.wireguardListeningPort", "at least 1"},
	{"felix external nodes v6", kind("FelixConfiguration", "{name: default}", "{externalNodesList: ['fd00::/64']}"), "spec.externalNodesList[0]", "IPv4"},
	{"ippool v1 ipip", kind("IPPool", "{name: p}", "{cidr: 10.0.0.0/16, ipip: {enabled: true}}"), "spec.ipip", "ipipMode"},
	{"ippool v1 nat", kind("IPPool", "{name: p}", "{cidr: 10.0.0.0/16, nat-outgoing: true}"), "spec.nat-outgoing", "natOutgoing"},
	{"bgppeer reverse", kind("BGPPeer", "{name: p}", "{peerIP: 10.0.0.1, asNumber: 1, reversePeering: Sometimes}"), "spec.reversePeering", "Auto, Manual"},
	{"kcc sync labels", kind("KubeControllersConfiguration", "{name: default}", "{controllers: {node: {syncLabels: Always}}}"), "spec.controllers.node.syncLabels", "Enabled, Disabled"},
	{"kcc template selector", kind("KubeControllersConfiguration", "{name: default}", "{controllers: {node: {hostEndpoint: {templates: [{nodeSelector: 'has(x'}]}}}}"), "spec.controllers.node.hostEndpoint.templates[0].nodeSelector", "has(x"},
	{"node wireguard key", kind("Node", "{name: node1}", "{}", "status: {wireguardPublicKey: nope}"), "status.wireguardPublicKey", "WireGuard"},
	{"gnp http deny", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Deny, http: {methods: [GET]}}]}"), "spec.ingress[0].http", "Allow"},
	{"gnp http path", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, http: {paths: [{exact: /a, prefix: /b}]}}]}"), "spec.ingress[0].http.paths[0]", "exactly one"},
	{"gnp prednat egress", kind("GlobalNetworkPolicy", "{name: p}", "{preDNAT: true, applyOnForward: true, egress: [{action: Allow}]}"), "spec.egress", "preDNAT"},
	{"gnp prednat forward", kind("GlobalNetworkPolicy", "{name: p}", "{preDNAT: true}"), "spec.applyOnForward", "must be true"},
	{"gnp tier name", kind("GlobalNetworkPolicy", "{name: p}", "{tier: security}"), "metadata.name", "security.<name>"},
	{"np tier name", kind("NetworkPolicy", "{name: other.p, namespace: ns}", "{tier: security}"), "metadata.name", "security.<name>"},
	{"np namespace", kind("NetworkPolicy", "{name: p, namespace: Prod}", "{}"), "metadata.namespace", "lower case"},
	{"np services mixed", kind("NetworkPolicy", "{name: p, namespace: ns}", "{egress: [{action: Allow, destination: {services: {name: s}, selector: all()}}]}"), "spec.egress[0].destination.services", "cannot be combined"},
	{"profile rule", kind("Profile", "{name: p}", "{egress: [{action: Accept}]}"), "spec.egress[0].action", "Allow"},
	{"tier action", kind("Tier", "{name: t}", "{defaultAction: Allow}"), "spec.defaultAction", "Deny, Pass"},
	{"tier dotted name", kind("Tier", "{name: a.b}", "{}"), "metadata.name", "'-'"},
	// Endpoints and sets
	{"wep ip network", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: cali1, ipNetworks: [10.0.0.0/24]}"), "spec.ipNetworks[0]", "single address"},
	{"wep node", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{interfaceName: cali1}"), "spec.node", "required"},
	{"wep iface", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: 'cali/1'}"), "spec.interfaceName", "interface name"},
	{"wep mac", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, mac: 'ee:ee'}"), "spec.mac", "MAC"},
	{"wep nat", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, ipNetworks: [10.0.0.1/32], ipNATs: [{internalIP: 10.0.0.2, externalIP: 1.2.3.4}]}"), "spec.ipNATs[0].internalIP", "ipNetworks"},
	{"wep port", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, ports: [{name: http, protocol: ICMP, port: 80}]}"), "spec.ports[0].protocol", "TCP, UDP or SCTP"},
	{"hep iface or ips", kind("HostEndpoint", "{name: h}", "{node: n1}"), "spec.interfaceName", "expectedIPs"},
	{"hep expected ip", kind("HostEndpoint", "{name: h}", "{node: n1, expectedIPs: [10.0.0.0/24]}"), "spec.expectedIPs[0]", "IP address"},
	{"netset net", kind("NetworkSet", "{name: s, namespace: ns}", "{nets: [nope]}"), "spec.nets[0]", "CIDR"},
	{"gns net", kind("GlobalNetworkSet", "{name: s}", "{nets: [1.2.3.4/40]}"), "spec.nets[0]", "CIDR"},
	{"ipreservation", kind("IPReservation", "{name: r}", "{reservedCIDRs: [x]}"), "spec.reservedCIDRs[0]", "CIDR"},
	{"clusterinfo singleton", kind("ClusterInformation", "{name: other}", "{}"), "metadata.name", "singleton"},
	{"clusterinfo guid", kind("ClusterInformation", "{name: default}", "{clusterGUID: XYZ}"), "spec.clusterGUID", "hex"},
	{"ipam both off", kind("IPAMConfiguration", "{name: default}", "{autoAllocateBlocks: false}"), "spec.autoAllocateBlocks", "strictAffinity"},
	{"ipam negative", kind("IPAMConfiguration", "{name: default}", "{maxBlocksPerHost: -1}"), "spec.maxBlocksPerHost", "negative"},
	{"cns class", kind("CalicoNodeStatus", "{name: s}", "{node: n1, classes: [Everything]}"), "spec.classes[0]", "Agent, BGP, Routes"},
	{"kcc singleton", kind("KubeControllersConfiguration", "{name: x}", "{}"), "metadata.name", "singleton"},
	{"bgpfilter action", kind("BGPFilter", "{name: f}", "{importV4: [{action: Drop}]}"), "spec.importV4[0].action", "Accept, Reject"},
	{"bgpfilter family", kind("BGPFilter", "{name: f}", "{importV6: [{action: Accept, matchOperator: In, cidr: 10.0.0.0/8}]}"), "spec.importV6[0].cidr", "family"},
}

func TestValidationErrors(t *testing.T) {
	for _, c := range invalidCases {
		t.Run(c.name, func(t *testing.T) {
			r := mustDecode(t, c.yaml)
			wantFieldError(t, r.(Validator).Validate(), c.path, c.reason)
		})
	}
}

// validCases are accepted by Calico's validator and so must be by brindle's.
var validCases = []struct{ name, yaml string }{
	{"types leave out a direction with rules", kind("GlobalNetworkPolicy", "{name: p}", "{types: [Ingress], egress: [{action: Allow}]}")},
	{"default tier prefix", kind("GlobalNetworkPolicy", "{name: default.p}", "{}")},
	{"kubernetes policy name", kind("NetworkPolicy", "{name: knp.default.a.b, namespace: ns}", "{}")},
	{"tiered name", kind("NetworkPolicy", "{name: sec.p, namespace: ns}", "{tier: sec}")},
	{"named ports", kind("NetworkPolicy", "{name: p, namespace: ns}", "{ingress: [{action: Allow, protocol: TCP, destination: {ports: [http, '8000:8080', 443]}}]}")},
	{"global namespace selector", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, source: {namespaceSelector: global()}}]}")},
	{"services as egress destination", kind("NetworkPolicy", "{name: p, namespace: ns}", "{egress: [{action: Allow, destination: {services: {name: kubernetes, namespace: default}}}]}")},
	{"icmp type and code", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow, protocol: ICMPv6, ipVersion: 6, icmp: {type: 128, code: 0}, source: {nets: ['fd00::/8']}}]}")},
	{"prednat ingress", kind("GlobalNetworkPolicy", "{name: p}", "{preDNAT: true, applyOnForward: true, types: [Ingress], ingress: [{action: Deny}]}")},
	{"disabled pool smaller than a block", pool("{cidr: 10.0.0.0/28, disabled: true}")},
	{"load balancer pool", pool("{cidr: 10.9.0.0/24, allowedUses: [LoadBalancer]}")},
	{"service IP as a bare address", kind("BGPConfiguration", "{name: default}", "{serviceExternalIPs: [{cidr: 203.0.113.5}]}")},
	{"host port without a name", kind("WorkloadEndpoint", "{name: w, namespace: default}", "{node: n1, interfaceName: c, ports: [{protocol: TCP, port: 80, hostPort: 8080, hostIP: 10.0.0.0/24}]}")},
	{"felix bpf fields", kind("FelixConfiguration", "{name: default}", "{bpfLogLevel: Debug, bpfConntrackTimeouts: {tcpSynSent: 20s, udpTimeout: Auto}, bpfLogFilters: {eth0: tcp}, routeTableRanges: [{min: 1, max: 250}], goGCThreshold: -1}")},
}

func TestCalicoValidIsValid(t *testing.T) {
	for _, c := range validCases {
		t.Run(c.name, func(t *testing.T) {
			r := mustDecode(t, c.yaml)
			if d, ok := r.(Defaulter); ok {
				d.Default()
			}
			if err := r.(Validator).Validate(); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}
}
