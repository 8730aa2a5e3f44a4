package node

import (
	"net/netip"
	"sort"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc"
)

// bgpNode is what BGP peer derivation needs from one Node resource, kept per node instead
// of the decoded api.Node: at 10,000 nodes the full resources (metadata, spec, a label map
// each) were ~11 MB of the agent's live heap.
type bgpNode struct {
	ipv4, ipv6 netip.Addr
	as         uint32
	rrCluster  string
	// labels are key/value pairs sorted by key, flattened: one small slice instead of a map
	// per node. Keys are interned (few distinct keys across a cluster).
	labels []string
}

// nodeLabelKeys bounds key interning, so that a cluster with unusual per-node label keys
// costs no more than it did without interning.
const nodeLabelKeys = 256

func (c *cache) toBGPNode(n *api.Node) bgpNode {
	var out bgpNode
	if b := n.Spec.BGP; b != nil {
		out.ipv4 = parseAddr(b.IPv4Address)
		out.ipv6 = parseAddr(b.IPv6Address)
		if b.ASNumber != nil {
			out.as = uint32(*b.ASNumber)
		}
		out.rrCluster = b.RouteReflectorClusterID
	}
	if len(n.Labels) == 0 {
		return out
	}
	keys := make([]string, 0, len(n.Labels))
	for k := range n.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out.labels = make([]string, 0, 2*len(keys))
	for _, k := range keys {
		out.labels = append(out.labels, c.internKey(k), n.Labels[k])
	}
	return out
}

func (c *cache) internKey(k string) string {
	if s, ok := c.labelKeys[k]; ok {
		return s
	}
	if len(c.labelKeys) < nodeLabelKeys {
		c.labelKeys[k] = k
	}
	return k
}

// calc form, built only when BGP peers are derived.
func (n bgpNode) calc(name string) calc.BGPNode {
	out := calc.BGPNode{Name: name, IPv4: n.ipv4, IPv6: n.ipv6, AS: n.as, RRClusterID: n.rrCluster}
	if len(n.labels) > 0 {
		out.Labels = make(map[string]string, len(n.labels)/2)
		for i := 0; i+1 < len(n.labels); i += 2 {
			out.Labels[n.labels[i]] = n.labels[i+1]
		}
	}
	return out
}
