package calc

import (
	"net/netip"
	"time"
)

// BGP peer types as calicoctl prints them (BIRD protocol names Mesh_, Node_, Global_).
const (
	BGPPeerMesh         = "node-to-node mesh"
	BGPPeerNodeSpecific = "node specific"
	BGPPeerGlobal       = "global"
)

// BGPNode is what peer derivation needs from a Node resource.
type BGPNode struct {
	Name string
	// IPv4/IPv6 are spec.bgp.ipv4Address/ipv6Address without the prefix length.
	IPv4, IPv6 netip.Addr
	// AS is spec.bgp.asNumber; 0 means the global AS.
	AS          uint32
	RRClusterID string
	Labels      map[string]string
}

// BGPPeerSpec is what peer derivation needs from a BGPPeer resource; the password is already
// resolved from its secret reference.
type BGPPeerSpec struct {
	Name         string
	Node         string
	NodeSelector string
	// PeerIP is "ip", "ip:port" or "[ipv6]:port".
	PeerIP              string
	ASNumber            uint32
	PeerSelector        string
	KeepOriginalNextHop bool
	Password            string
	// PasswordProblem, when set, says why the configured password could not be read (a
	// missing or unsafe secret file): the peering is held, never run without its password.
	PasswordProblem string
	MaxRestartTime  time.Duration
	// SourceAddress is "UseNodeIP" (the default when empty) or "None".
	SourceAddress string
	TTLSecurity   uint8
}

// BGPConfig is what peer derivation needs from a BGPConfiguration: "default" for the
// cluster, "node.<name>" for one node (only ListenPort is read from those, as in Calico).
type BGPConfig struct {
	// NodeToNodeMeshEnabled nil means true.
	NodeToNodeMeshEnabled *bool
	// ASNumber 0 means 64512.
	ASNumber         uint32
	ListenPort       uint16
	NodeMeshPassword string
	// NodeMeshPasswordProblem holds the mesh sessions as PasswordProblem holds a BGPPeer's.
	NodeMeshPasswordProblem string
	NodeMeshMaxRestartTime  time.Duration
}

// DefaultBGPAS is Calico's default AS number.
const DefaultBGPAS = 64512

// BGPInput is the whole datastore view peer derivation reads.
type BGPInput struct {
	NodeName string
	Nodes    []BGPNode
	Peers    []BGPPeerSpec
	Global   BGPConfig
	// NodeConfigs are the node.<name> BGPConfigurations, keyed by node name.
	NodeConfigs map[string]BGPConfig
}

// BGPPeer is one desired session of this node. Its fields line up with bgp.Peer.
type BGPPeer struct {
	Address netip.Addr
	// Port 0 means 179.
	Port    uint16
	AS      uint32
	Type    string
	Passive bool
	// Password, RestartTime (0 = default), KeepOriginalNextHop and TTLSecurity come from the
	// BGPPeer or, for the mesh, from nodeMeshPassword and nodeMeshMaxRestartTime.
	Password            string
	LocalAddress        netip.Addr
	RestartTime         time.Duration
	KeepOriginalNextHop bool
	TTLSecurity         uint8
	RRClient            bool
	RRClusterID         string
	// Hold, when set, says why the session must not start (its password is unreadable);
	// the peer is still listed so that status can say so.
	Hold string
	// Reason says which resource asked for this peering.
	Reason string
}

// BGPDesired is this node's speaker configuration.
type BGPDesired struct {
	// RouterID is the node's IPv4 address; invalid means the node cannot run BGP yet.
	RouterID netip.Addr
	// IPv6 is the node's bgp.ipv6Address, where the IPv6 sessions (Calico's bird6) listen;
	// invalid when the node has none.
	IPv6       netip.Addr
	AS         uint32
	ListenPort uint16
	Peers      []BGPPeer // sorted by address, then port
	Skipped    []Decision
}
