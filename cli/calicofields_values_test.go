package cli

import (
	"encoding/json"
	"strings"
)

// Values for TestEveryCalicoFieldRoundTrips: one valid value per Calico field path, and the
// helpers that set and read a value at a path of a JSON document.

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
