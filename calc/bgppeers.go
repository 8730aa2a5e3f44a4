package calc

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// ComputeBGP derives this node's BGP speaker configuration the way Calico's confd renders
// bird.cfg (calico-model.md §5): the node-to-node mesh, then explicit BGPPeers (global ones
// first, so a node-specific peering to the same ip:port is dropped), reverse peerings on the
// nodes a peerSelector or peerIP points at (so every session has two configured ends),
// passive ends chosen by address, and route-reflector client marking.
func ComputeBGP(in BGPInput) BGPDesired {
	d := newBGPDeriver(in)
	out := BGPDesired{AS: d.myAS, ListenPort: d.listenPort(in.NodeName)}
	if !d.hasMe || (!d.me.IPv4.IsValid() && !d.me.IPv6.IsValid()) {
		d.skip("node "+in.NodeName, "no Node resource with a BGP address yet")
		out.Skipped = d.sortedSkips()
		return out
	}
	out.RouterID, out.IPv6 = d.me.IPv4, d.me.IPv6
	d.explicitPeers()
	d.meshPeers()
	out.Peers = d.finish()
	out.Skipped = d.sortedSkips()
	return out
}

type peerKey struct {
	addr netip.Addr
	port uint16
}

// target is one peering before the per-node finishing touches.
type target struct {
	BGPPeer
	calicoNode string // name of the Calico node at Address, if it is one
	rrCluster  string // that node's routeReflectorClusterID
}

type bgpDeriver struct {
	in      BGPInput
	me      BGPNode
	hasMe   bool
	myAS    uint32
	nodes   []BGPNode // sorted by name
	global  map[peerKey]target
	node    map[peerKey]target
	mesh    map[peerKey]target
	skipped []Decision
}

func newBGPDeriver(in BGPInput) *bgpDeriver {
	d := &bgpDeriver{in: in, global: map[peerKey]target{}, node: map[peerKey]target{}, mesh: map[peerKey]target{}}
	d.nodes = slices.Clone(in.Nodes)
	slices.SortFunc(d.nodes, func(a, b BGPNode) int { return cmp.Compare(a.Name, b.Name) })
	for _, n := range d.nodes {
		if n.Name == in.NodeName {
			d.me, d.hasMe = n, true
		}
	}
	d.myAS = d.asOf(d.me)
	return d
}

func (d *bgpDeriver) skip(subject, reason string) {
	d.skipped = append(d.skipped, Decision{Subject: subject, Reason: reason})
}

func (d *bgpDeriver) sortedSkips() []Decision {
	slices.SortFunc(d.skipped, func(a, b Decision) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Reason, b.Reason))
	})
	return d.skipped
}

func (d *bgpDeriver) globalAS() uint32 {
	if d.in.Global.ASNumber != 0 {
		return d.in.Global.ASNumber
	}
	return DefaultBGPAS
}

func (d *bgpDeriver) asOf(n BGPNode) uint32 {
	if n.AS != 0 {
		return n.AS
	}
	return d.globalAS()
}

// listenPort is the node's port from node.<name>, else the global one; 179 reads as 0.
func (d *bgpDeriver) listenPort(name string) uint16 {
	p := d.in.Global.ListenPort
	if nc, ok := d.in.NodeConfigs[name]; ok && nc.ListenPort != 0 {
		p = nc.ListenPort
	}
	if p == 179 {
		return 0
	}
	return p
}

// meshPeers adds a Mesh_ peering to every other node, unless the mesh is off or this node
// is a route reflector; route reflectors are left out of everyone's mesh. An explicit
// peering to the same address wins: GoBGP holds one session per address.
func (d *bgpDeriver) meshPeers() {
	if m := d.in.Global.NodeToNodeMeshEnabled; m != nil && !*m {
		return
	}
	if d.me.RRClusterID != "" {
		d.skip("node-to-node mesh", "this node is a route reflector (cluster ID "+d.me.RRClusterID+")")
		return
	}
	for _, n := range d.nodes {
		if n.Name == d.me.Name {
			continue
		}
		if n.RRClusterID != "" {
			d.skip("mesh peer "+n.Name, "route reflector (cluster ID "+n.RRClusterID+"), not part of the mesh")
			continue
		}
		for _, t := range d.nodeTargets(n, BGPPeerSpec{Password: d.in.Global.NodeMeshPassword,
			PasswordProblem: d.in.Global.NodeMeshPasswordProblem, MaxRestartTime: d.in.Global.NodeMeshMaxRestartTime}) {
			t.Type, t.Reason = BGPPeerMesh, "node-to-node mesh with node "+n.Name
			d.mesh[peerKey{t.Address, t.Port}] = t
		}
	}
}

// nodeTargets are the peerings towards node n: one per address family both ends have.
func (d *bgpDeriver) nodeTargets(n BGPNode, spec BGPPeerSpec) []target {
	var out []target
	for _, a := range []netip.Addr{n.IPv4, n.IPv6} {
		if !a.IsValid() {
			continue
		}
		t := d.specTarget(a, d.listenPort(n.Name), d.asOf(n), spec)
		t.calicoNode, t.rrCluster = n.Name, n.RRClusterID
		out = append(out, t)
	}
	return out
}

func (d *bgpDeriver) specTarget(a netip.Addr, port uint16, as uint32, spec BGPPeerSpec) target {
	t := target{BGPPeer: BGPPeer{Address: a, Port: port, AS: as,
		Password: spec.Password, RestartTime: spec.MaxRestartTime,
		KeepOriginalNextHop: spec.KeepOriginalNextHop, TTLSecurity: spec.TTLSecurity}}
	if spec.PasswordProblem != "" {
		t.Hold = "password: " + spec.PasswordProblem
	}
	if spec.SourceAddress != "None" {
		t.LocalAddress = d.myAddr(a)
	}
	return t
}

// myAddr is this node's address of a's family (invalid if it has none).
func (d *bgpDeriver) myAddr(a netip.Addr) netip.Addr {
	if a.Is4() {
		return d.me.IPv4
	}
	return d.me.IPv6
}

func (d *bgpDeriver) isMe(a netip.Addr) bool { return a == d.me.IPv4 || a == d.me.IPv6 }

// finish merges the scopes, drops what cannot be a session, sets the passive end and
// route-reflector clients, and sorts.
func (d *bgpDeriver) finish() []BGPPeer {
	all := map[peerKey]target{}
	for k, t := range d.global {
		all[k] = t
	}
	for k, t := range d.node {
		if _, dup := d.global[k]; dup {
			d.skip("peer "+t.Address.String(), "node-specific peering dropped: a global peering to the same address and port exists")
			continue
		}
		all[k] = t
	}
	byAddr := map[netip.Addr]bool{}
	for _, t := range all {
		byAddr[t.Address] = true
	}
	for k, t := range d.mesh {
		if byAddr[t.Address] {
			d.skip("mesh peer "+t.calicoNode, "an explicit BGPPeer already peers with "+t.Address.String())
			continue
		}
		all[k] = t
	}
	keys := make([]peerKey, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b peerKey) int { return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.port, b.port)) })
	var out []BGPPeer
	seen := map[netip.Addr]bool{}
	for _, k := range keys {
		t := all[k]
		switch {
		case d.isMe(t.Address):
			continue // a selector or peerIP that includes this node itself
		case !d.myAddr(t.Address).IsValid():
			d.skip("peer "+t.Address.String(), "this node has no address of that family")
			continue
		case seen[t.Address]:
			d.skip(fmt.Sprintf("peer %s port %d", t.Address, t.Port), "another port to the same address is already peered; one session per address")
			continue
		}
		seen[t.Address] = true
		out = append(out, d.finishPeer(t))
	}
	return out
}

func (d *bgpDeriver) finishPeer(t target) BGPPeer {
	p := t.BGPPeer
	// Between two Calico nodes exactly one end connects: the one with the lower address as a
	// string, as Calico's templates decide. GoBGP has no collision detection, so two active
	// ends re-establish slowly and can flush graceful-restart routes (gobgp.md §2, §6).
	if t.calicoNode != "" {
		p.Passive = t.Address.String() > d.myAddr(t.Address).String()
	}
	if d.me.RRClusterID != "" && p.AS == d.myAS && t.rrCluster != d.me.RRClusterID {
		p.RRClient, p.RRClusterID = true, d.me.RRClusterID
		p.Reason += "; route-reflector client (cluster ID " + d.me.RRClusterID + ")"
	}
	return p
}
