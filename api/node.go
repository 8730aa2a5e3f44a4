package api

import "encoding/base64"

// Node is one Calico host: its BGP identity and tunnel addresses.
type Node struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NodeSpec `json:"spec"`
	// Status has no omitempty: Calico stores "status":{} on every node.
	Status NodeStatus `json:"status"`
}

// NodeSpec mirrors libcalico-go's v3 NodeSpec.
type NodeSpec struct {
	BGP                  *NodeBGPSpec       `json:"bgp,omitempty"`
	IPv4VXLANTunnelAddr  string             `json:"ipv4VXLANTunnelAddr,omitempty"`
	VXLANTunnelMACAddr   string             `json:"vxlanTunnelMACAddr,omitempty"`
	IPv6VXLANTunnelAddr  string             `json:"ipv6VXLANTunnelAddr,omitempty"`
	VXLANTunnelMACAddrV6 string             `json:"vxlanTunnelMACAddrV6,omitempty"`
	OrchRefs             []OrchRef          `json:"orchRefs,omitempty"`
	Wireguard            *NodeWireguardSpec `json:"wireguard,omitempty"`
	Addresses            []NodeAddress      `json:"addresses,omitempty"`
	Interfaces           []NodeInterface    `json:"interfaces,omitempty"`
}

// NodeBGPSpec is the node's BGP identity. ipv4Address is in CIDR form (10.0.0.5/24): the
// prefix length tells CrossSubnet which peers share the node's subnet.
type NodeBGPSpec struct {
	ASNumber                *ASNumber `json:"asNumber,omitempty"`
	IPv4Address             string    `json:"ipv4Address,omitempty"`
	IPv6Address             string    `json:"ipv6Address,omitempty"`
	IPv4IPIPTunnelAddr      string    `json:"ipv4IPIPTunnelAddr,omitempty"`
	RouteReflectorClusterID string    `json:"routeReflectorClusterID,omitempty"`
}

// OrchRef ties the node to its name in an orchestrator.
type OrchRef struct {
	NodeName     string `json:"nodeName,omitempty"`
	Orchestrator string `json:"orchestrator"`
}

// NodeWireguardSpec holds the WireGuard interface addresses.
type NodeWireguardSpec struct {
	InterfaceIPv4Address string `json:"interfaceIPv4Address,omitempty"`
	InterfaceIPv6Address string `json:"interfaceIPv6Address,omitempty"`
}

// NodeAddress is one address the node is reachable at.
type NodeAddress struct {
	Address string `json:"address"`
	Type    string `json:"type,omitempty"`
}

// NodeInterface lists one interface's addresses.
type NodeInterface struct {
	Name      string   `json:"name,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
}

// NodeStatus is written by the agent.
type NodeStatus struct {
	WireguardPublicKey   string   `json:"wireguardPublicKey,omitempty"`
	WireguardPublicKeyV6 string   `json:"wireguardPublicKeyV6,omitempty"`
	PodCIDRs             []string `json:"podCIDRs,omitempty"`
}

// Node address types (NodeAddress.Type).
const (
	NodeAddrCalicoNodeIP = "CalicoNodeIP"
	NodeAddrInternalIP   = "InternalIP"
	NodeAddrExternalIP   = "ExternalIP"
)

// Validate checks the node's addresses and BGP identity.
func (n *Node) Validate() error {
	var e Errs
	checkMeta(&e, &n.ObjectMeta, false)
	s := &n.Spec
	if b := s.BGP; b != nil && *b == (NodeBGPSpec{}) {
		e.Add("spec.bgp", nil, "must not be empty: set ipv4Address or ipv6Address, or leave bgp out")
	}
	if b := s.BGP; b != nil {
		CheckASNumber(&e, "spec.bgp.asNumber", b.ASNumber)
		if b.IPv4Address != "" {
			CheckIfaceCIDR(&e, "spec.bgp.ipv4Address", b.IPv4Address, 4)
		}
		if b.IPv6Address != "" {
			CheckIfaceCIDR(&e, "spec.bgp.ipv6Address", b.IPv6Address, 6)
		}
		if b.IPv4IPIPTunnelAddr != "" {
			CheckIP(&e, "spec.bgp.ipv4IPIPTunnelAddr", b.IPv4IPIPTunnelAddr, 4)
		}
		if b.RouteReflectorClusterID != "" {
			CheckIP(&e, "spec.bgp.routeReflectorClusterID", b.RouteReflectorClusterID, 4)
		}
	}
	if s.IPv4VXLANTunnelAddr != "" {
		CheckIP(&e, "spec.ipv4VXLANTunnelAddr", s.IPv4VXLANTunnelAddr, 4)
	}
	if s.IPv6VXLANTunnelAddr != "" {
		CheckIP(&e, "spec.ipv6VXLANTunnelAddr", s.IPv6VXLANTunnelAddr, 6)
	}
	if s.VXLANTunnelMACAddr != "" {
		CheckMAC(&e, "spec.vxlanTunnelMACAddr", s.VXLANTunnelMACAddr)
	}
	if s.VXLANTunnelMACAddrV6 != "" {
		CheckMAC(&e, "spec.vxlanTunnelMACAddrV6", s.VXLANTunnelMACAddrV6)
	}
	for i, o := range s.OrchRefs {
		if o.Orchestrator == "" {
			e.Add("spec.orchRefs["+itoa(i)+"].orchestrator", nil, "is required")
		}
	}
	if w := s.Wireguard; w != nil {
		if w.InterfaceIPv4Address != "" {
			CheckIP(&e, "spec.wireguard.interfaceIPv4Address", w.InterfaceIPv4Address, 4)
		}
		if w.InterfaceIPv6Address != "" {
			CheckIP(&e, "spec.wireguard.interfaceIPv6Address", w.InterfaceIPv6Address, 6)
		}
	}
	for i, a := range s.Addresses {
		p := "spec.addresses[" + itoa(i) + "]"
		CheckNet(&e, p+".address", a.Address)
		CheckOneOf(&e, p+".type", a.Type, true, NodeAddrCalicoNodeIP, NodeAddrInternalIP, NodeAddrExternalIP)
	}
	checkWireguardKey(&e, "status.wireguardPublicKey", n.Status.WireguardPublicKey)
	checkWireguardKey(&e, "status.wireguardPublicKeyV6", n.Status.WireguardPublicKeyV6)
	for i, c := range n.Status.PodCIDRs {
		CheckCIDR(&e, "status.podCIDRs["+itoa(i)+"]", c, false)
	}
	return e.For(n)
}

// checkWireguardKey: a WireGuard public key is 32 bytes in standard base64 (Calico's
// validateWireguardPublicKey parses it with wgtypes.ParseKey).
func checkWireguardKey(e *Errs, path, key string) {
	if key == "" {
		return
	}
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 32 {
		e.Add(path, key, "must be a WireGuard public key: 32 bytes in base64")
	}
}
