package cli

import (
	"sort"
	"strings"
)

// column is one table column: its header and how to read the cell from a resource.
type column struct {
	header string
	value  func(obj) string
}

func col(header string, path ...string) column {
	return column{header, func(m obj) string { return m.str(path...) }}
}

func boolCol(header string, path ...string) column {
	return column{header, func(m obj) string { return m.boolStr(path...) }}
}

var nameCol = col("NAME", "metadata", "name")

// tableColumns are calicoctl's default ("ps") and wide tables per kind; kinds calicoctl
// prints with only a name get NAME.
func tableColumns(kind string, wide bool, defaultASN string) []column {
	pick := func(ps, w []column) []column {
		if wide {
			return w
		}
		return ps
	}
	switch kind {
	case "IPPool":
		return pick(
			[]column{nameCol, col("CIDR", "spec", "cidr"), col("SELECTOR", "spec", "nodeSelector")},
			[]column{nameCol, col("CIDR", "spec", "cidr"), boolCol("NAT", "spec", "natOutgoing"),
				col("IPIPMODE", "spec", "ipipMode"), col("VXLANMODE", "spec", "vxlanMode"),
				boolCol("DISABLED", "spec", "disabled"), boolCol("DISABLEBGPEXPORT", "spec", "disableBGPExport"),
				col("SELECTOR", "spec", "nodeSelector")})
	case "Node":
		asn := column{"ASN", func(m obj) string {
			if m.get("spec", "bgp") == nil {
				return ""
			}
			if v := m.str("spec", "bgp", "asNumber"); v != "" {
				return v
			}
			return "(" + defaultASN + ")"
		}}
		return pick([]column{nameCol},
			[]column{nameCol, asn, col("IPV4", "spec", "bgp", "ipv4Address"), col("IPV6", "spec", "bgp", "ipv6Address")})
	case "BGPPeer":
		node := column{"NODE", func(m obj) string {
			if n := m.str("spec", "node"); n != "" {
				return n
			}
			if s := m.str("spec", "nodeSelector"); s != "" {
				return s
			}
			return "(global)"
		}}
		peer := column{"PEERIP", func(m obj) string {
			if ip := m.str("spec", "peerIP"); ip != "" {
				return ip
			}
			return m.str("spec", "peerSelector")
		}}
		return []column{nameCol, peer, node, col("ASN", "spec", "asNumber")}
	case "WorkloadEndpoint":
		ps := []column{col("WORKLOAD", "spec", "workload"), col("NODE", "spec", "node"),
			col("NETWORKS", "spec", "ipNetworks"), col("INTERFACE", "spec", "interfaceName")}
		return pick(ps, append(append([]column{nameCol}, ps...),
			col("PROFILES", "spec", "profiles"), column{"NATS", natsCell}))
	case "HostEndpoint":
		return pick([]column{nameCol, col("NODE", "spec", "node")},
			[]column{nameCol, col("NODE", "spec", "node"), col("INTERFACE", "spec", "interfaceName"),
				col("IPS", "spec", "expectedIPs"), col("PROFILES", "spec", "profiles")})
	case "NetworkPolicy", "GlobalNetworkPolicy":
		return pick([]column{nameCol},
			[]column{nameCol, col("ORDER", "spec", "order"), col("SELECTOR", "spec", "selector")})
	case "Profile":
		return pick([]column{nameCol}, []column{nameCol, {"LABELS", labelsCell("spec", "labelsToApply")}})
	case "NetworkSet", "GlobalNetworkSet":
		return pick([]column{nameCol}, []column{nameCol, col("NETS", "spec", "nets")})
	case "BGPConfiguration":
		return []column{nameCol, col("LOGSEVERITY", "spec", "logSeverityScreen"),
			col("MESHENABLED", "spec", "nodeToNodeMeshEnabled"), col("ASNUMBER", "spec", "asNumber")}
	case "IPReservation":
		return []column{nameCol, col("CIDRS", "spec", "reservedCIDRs")}
	case "Tier":
		return []column{nameCol, col("ORDER", "spec", "order")}
	}
	return []column{nameCol}
}

// labelsCell prints a label map as sorted k=v pairs.
func labelsCell(path ...string) func(obj) string {
	return func(m obj) string {
		mm, _ := m.get(path...).(map[string]any)
		keys := make([]string, 0, len(mm))
		for k := range mm {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + render(mm[k])
		}
		return strings.Join(parts, ",")
	}
}

// natsCell prints 1:1 NATs as internal->external pairs.
func natsCell(m obj) string {
	nats, _ := m.get("spec", "ipNATs").([]any)
	parts := make([]string, 0, len(nats))
	for _, n := range nats {
		if nm, ok := n.(map[string]any); ok {
			parts = append(parts, render(nm["internalIP"])+"->"+render(nm["externalIP"]))
		}
	}
	return strings.Join(parts, ",")
}
