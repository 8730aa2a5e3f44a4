// Package bgp embeds GoBGP's server behind a declarative interface: the agent states the
// peers and the prefixes it wants (SetPeers, SetAdvertisements), the speaker diffs that
// against what GoBGP holds, and learned best paths come back through a coalescing queue
// that the agent drains from its own loop (nothing is programmed from a GoBGP callback).
package bgp

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
)

// PeerType says why a peering exists; it is shown by `brindle node status` and never sent to
// GoBGP (a changed description would reset the session).
type PeerType = bgpstatus.PeerType

// The three peer types calicoctl prints (Mesh_, Node_ and Global_ protocols in BIRD).
const (
	PeerMesh         = bgpstatus.PeerMesh
	PeerNodeSpecific = bgpstatus.PeerNodeSpecific
	PeerGlobal       = bgpstatus.PeerGlobal
)

// Peer is one desired BGP session. Two peers with the same Address cannot coexist in GoBGP
// (it keys neighbours by address only), so SetPeers rejects the second one.
type Peer struct {
	Address netip.Addr
	// Port is the peer's TCP port; 0 means 179.
	Port uint16
	AS   uint32
	Type PeerType
	// Passive: wait for the peer to connect. One end of every brindle-to-brindle session
	// must be passive because GoBGP has no collision detection (gobgp.md §2).
	Passive bool
	// Password enables TCP MD5; the kernel must support TCP_MD5SIG.
	Password string
	// LocalAddress is the source address (Calico sourceAddress UseNodeIP); zero leaves it
	// unset, which also lets inbound connections arrive on any local address.
	LocalAddress netip.Addr
	// RestartTime is the graceful-restart time we advertise; 0 means DefaultRestartTime.
	RestartTime time.Duration
	// KeepOriginalNextHop is accepted for Calico compatibility: GoBGP never rewrites the
	// next hop of learned routes towards iBGP peers and an eBGP speaker does so by protocol.
	KeepOriginalNextHop bool
	// TTLSecurity is the GTSM hop count (0 = off; then eBGP uses multihop 255 like Calico).
	TTLSecurity uint8
	// RRClient marks the peer a route-reflector client with cluster ID RRClusterID.
	RRClient    bool
	RRClusterID string
	// Hold, when set, keeps the session out of GoBGP and says why in status (a password
	// that could not be read, or a kernel without TCP MD5): a peer that should be
	// authenticated never runs unauthenticated.
	Hold string
}

// DefaultRestartTime is BIRD's graceful-restart time, which Calico keeps by default.
const DefaultRestartTime = 120 * time.Second

// String renders the peer for logs.
func (p Peer) String() string {
	return fmt.Sprintf("%s port %d AS %d (%s)", p.Address, p.port(), p.AS, p.Type)
}

func (p Peer) port() uint16 {
	if p.Port == 0 {
		return 179
	}
	return p.Port
}

// Advertisement is one prefix this node originates.
type Advertisement struct {
	Prefix netip.Prefix
	// NextHop zero means "self": GoBGP puts the session's local address in its place.
	NextHop netip.Addr
}

// Route is a learned best path for one prefix, or its withdrawal.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
	// Peer is the neighbour the best path came from.
	Peer      netip.Addr
	Withdrawn bool
}

func (r Route) String() string {
	if r.Withdrawn {
		return r.Prefix.String() + " withdrawn"
	}
	return fmt.Sprintf("%s via %s (from %s)", r.Prefix, r.NextHop, r.Peer)
}
