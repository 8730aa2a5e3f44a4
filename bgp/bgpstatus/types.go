// Package bgpstatus is the wire contract between the node agent's status socket and
// `brindle node status`. It has no GoBGP dependency so that the lean CLI build can read
// status without linking the speaker.
package bgpstatus

import (
	"net/netip"
	"time"
)

// PeerType says why a peering exists (BIRD's Mesh_, Node_ and Global_ protocol names).
type PeerType string

// The three peer types calicoctl prints.
const (
	PeerMesh         PeerType = "node-to-node mesh"
	PeerNodeSpecific PeerType = "node specific"
	PeerGlobal       PeerType = "global"
)

// PeerStatus is one row of `brindle node status`, in the words BIRD and calicoctl use.
type PeerStatus struct {
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port,omitempty"`
	Type    PeerType   `json:"type"`
	// State is BIRD's protocol state: "up" when established, "start" otherwise.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Info is the BGP session state ("Established", "Active", ...) and, while the session
	// is not up, why it last went down.
	Info string `json:"info"`
	// NotStarted: the session is held out of the speaker (its password is unreadable, or
	// the kernel refuses TCP MD5); Info says why.
	NotStarted bool `json:"notStarted,omitempty"`
}

// Status is what the agent reports about its speaker.
type Status struct {
	RouterID netip.Addr   `json:"routerID"`
	AS       uint32       `json:"asNumber"`
	Peers    []PeerStatus `json:"peers"`
}

// Reply is the JSON body served at Path. BGP is nil when the agent runs no speaker (a
// felix-only role); `node status` then says the BGP backend is not running, as calicoctl does.
type Reply struct {
	BGP *Status `json:"bgp"`
	// WireGuard is the node's WireGuard state; nil when FelixConfiguration leaves it off.
	WireGuard *WireGuardStatus `json:"wireguard,omitempty"`
	// WireGuardV6 is the IPv6 device's (wireguardEnabledV6); nil when it is off.
	WireGuardV6 *WireGuardStatus `json:"wireguardV6,omitempty"`
}

// WireGuardStatus says whether this node encrypts, and if not, why. Device is the device as
// the kernel holds it (`wg show`), read back through the WireGuard control library.
type WireGuardStatus struct {
	Enabled   bool             `json:"enabled"`
	Running   bool             `json:"running"`
	Reason    string           `json:"reason,omitempty"`
	Iface     string           `json:"iface,omitempty"`
	PublicKey string           `json:"publicKey,omitempty"`
	Address   string           `json:"address,omitempty"`
	Device    *WireGuardDevice `json:"device,omitempty"`
}

// WireGuardDevice is `wg show` for one device.
type WireGuardDevice struct {
	PublicKey    string          `json:"publicKey"`
	ListenPort   int             `json:"listenPort"`
	FirewallMark int             `json:"firewallMark"`
	Peers        []WireGuardPeer `json:"peers"`
}

// WireGuardPeer is one peer of the device.
type WireGuardPeer struct {
	PublicKey     string    `json:"publicKey"`
	Endpoint      string    `json:"endpoint,omitempty"`
	AllowedIPs    []string  `json:"allowedIPs"`
	LastHandshake time.Time `json:"lastHandshake,omitempty"`
	RxBytes       int64     `json:"rxBytes"`
	TxBytes       int64     `json:"txBytes"`
}

// WireGuardSource is implemented by a Source that also knows the node's WireGuard state.
type WireGuardSource interface {
	WireGuardStatus(v6 bool) *WireGuardStatus
}
