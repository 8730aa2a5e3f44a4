package api

import (
	"encoding/json"
	"sort"
	"sync"
)

// actedOn lists, per kind, the top-level spec fields brindle implements. Every other field
// Calico defines is accepted, validated and stored (so configurations round-trip and
// calicoctl sees them), and UnsupportedFields names it so that the agent can say once that
// it is ignored. Update this table in the change that makes brindle act on a field.
//
// Built on first use: the CNI plugin links this package and pays for every package-level map
// at each start.
var actedOn = sync.OnceValue(func() map[string]map[string]bool {
	return map[string]map[string]bool{
		// node/tunnels.go (MTUs), node/report.go (status reporting), node/wireguard.go.
		"FelixConfiguration": set("ipipMTU", "vxlanMTU", "reportingInterval", "reportingTTL",
			"wireguardEnabled", "wireguardInterfaceName", "wireguardListeningPort", "wireguardMTU",
			"wireguardRoutingRulePriority", "wireguardHostEncryptionEnabled", "wireguardKeepAlive",
			"wireguardEnabledV6", "wireguardInterfaceNameV6", "wireguardListeningPortV6", "wireguardMTUV6"),
		// node/convert.go calcBGPConfig (passwords: node/secrets.go).
		"BGPConfiguration": set("nodeToNodeMeshEnabled", "asNumber", "listenPort", "nodeMeshMaxRestartTime",
			"nodeMeshPassword"),
		// node/convert.go calcPeerSpec.
		"BGPPeer": set("node", "nodeSelector", "peerIP", "asNumber", "peerSelector", "keepOriginalNextHop",
			"sourceAddress", "maxRestartTime", "ttlSecurity", "password"),
		"IPPool": set("cidr", "vxlanMode", "ipipMode", "natOutgoing", "disabled", "disableBGPExport", "blockSize",
			"nodeSelector", "allowedUses", "assignmentMode"),
		"WorkloadEndpoint": set("orchestrator", "workload", "node", "containerID", "pod", "endpoint", "serviceAccountName",
			"ipNetworks", "ipv4Gateway", "ipv6Gateway", "profiles", "interfaceName", "mac", "ports", "allowSpoofedSourcePrefixes"),
	}
})

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// UnsupportedFields returns the JSON paths of the fields set in r that brindle stores but
// does not act on, sorted: top-level spec fields of the kinds in actedOn, and the rule
// fields no dataplane enforces (application-layer "http" and Kubernetes "services") of
// policies and profiles. It returns nil for a resource that uses nothing unsupported.
func UnsupportedFields(r Resource) []string {
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	var doc struct {
		Spec map[string]json.RawMessage `json:"spec"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var out []string
	if acted, ok := actedOn()[r.GetTypeMeta().Kind]; ok {
		for k := range doc.Spec {
			if !acted[k] {
				out = append(out, "spec."+k)
			}
		}
	}
	for _, dir := range []string{"ingress", "egress"} {
		var rules []struct {
			HTTP        json.RawMessage `json:"http"`
			Source      struct{ Services json.RawMessage }
			Destination struct{ Services json.RawMessage }
		}
		if raw, ok := doc.Spec[dir]; !ok || json.Unmarshal(raw, &rules) != nil {
			continue
		}
		for i, rule := range rules {
			p := "spec." + dir + "[" + itoa(i) + "]"
			if rule.HTTP != nil {
				out = append(out, p+".http")
			}
			if rule.Source.Services != nil {
				out = append(out, p+".source.services")
			}
			if rule.Destination.Services != nil {
				out = append(out, p+".destination.services")
			}
		}
	}
	sort.Strings(out)
	return out
}
