package node

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

// cache is the agent's view of the datastore, fed by watch events (cheap, no I/O). It owns
// the calc.State the dataplane is computed from and the raw resources BGP derivation reads.
type cache struct {
	me    string
	state *calc.State

	// nodes holds BGP's view of every node, only when this agent runs BGP (keepBGP):
	// routes, tunnels and VTEPs need only calc's Node, which state keeps.
	keepBGP    bool
	nodes      map[string]bgpNode
	labelKeys  map[string]string
	pools      map[string]*api.IPPool // by name
	peers      map[string]*api.BGPPeer
	bgpConfigs map[string]*api.BGPConfiguration
	felix      map[string]*api.FelixConfiguration
	affinities map[netip.Prefix]string // this node's affinity states
	localIPs   map[string][]netip.Addr // workload addresses on this node, by WEP key
	wepIface   map[string]string       // WEP key -> interface, to delete workloads

	// report names a record that does not decode (store's ReportBroken: once per key and
	// revision); nil reports nothing. skips logs calc's newly skipped inputs.
	report func(key string, rev int64, err error) store.BrokenRecord
	skips  skipLog
	// unsupported says once which set fields brindle ignores; nil in tests that leave it out.
	unsupported *unsupportedLog
	pol         *policyCache // calc/policy's Model, fed from the same events
	// secrets resolves BGP passwords (node/secrets.go); nil resolves none.
	secrets *secretFiles

	// What changed since the last look; the loop uses these to decide what to recompute.
	poolsChanged, nodesChanged, bgpChanged, felixChanged bool
}

func newCache(me string, keepBGP bool) *cache {
	return &cache{
		me: me, state: calc.NewState(me), keepBGP: keepBGP,
		nodes: map[string]bgpNode{}, labelKeys: map[string]string{}, pools: map[string]*api.IPPool{},
		peers: map[string]*api.BGPPeer{}, bgpConfigs: map[string]*api.BGPConfiguration{},
		felix: map[string]*api.FelixConfiguration{}, affinities: map[netip.Prefix]string{},
		localIPs: map[string][]netip.Addr{}, wepIface: map[string]string{}, pol: newPolicyCache(me),
	}
}

// apply folds one watch event into the cache.
func (c *cache) apply(ev store.Event) {
	if c.pol != nil {
		c.pol.event(ev)
	}
	if ev.Kind == nil {
		c.applyIPAM(ev)
		return
	}
	c.unsupported.note(ev)
	del := ev.Type == store.Deleted
	switch ev.Kind.Kind {
	case "Node":
		c.nodesChanged, c.bgpChanged = true, true
		if del {
			delete(c.nodes, ev.Name)
			c.state.DeleteNode(ev.Name)
			return
		}
		n := ev.Resource.(*api.Node)
		if c.keepBGP {
			c.nodes[ev.Name] = c.toBGPNode(n)
		}
		c.state.SetNode(calcNode(n))
	case "IPPool":
		c.poolsChanged, c.bgpChanged = true, true
		if old, ok := c.pools[ev.Name]; ok {
			if p, err := netip.ParsePrefix(old.Spec.CIDR); err == nil {
				c.state.DeletePool(p)
			}
		}
		if del {
			delete(c.pools, ev.Name)
			return
		}
		p := ev.Resource.(*api.IPPool)
		c.pools[ev.Name] = p
		if cp, ok := calcPool(p); ok {
			c.state.SetPool(cp)
		}
	case "WorkloadEndpoint":
		c.applyWEP(ev)
	case "BGPPeer":
		c.bgpChanged = true
		if del {
			delete(c.peers, ev.Name)
		} else {
			c.peers[ev.Name] = ev.Resource.(*api.BGPPeer)
		}
	case "BGPConfiguration":
		c.bgpChanged = true
		if del {
			delete(c.bgpConfigs, ev.Name)
		} else {
			c.bgpConfigs[ev.Name] = ev.Resource.(*api.BGPConfiguration)
		}
	case "FelixConfiguration":
		c.felixChanged = true
		if del {
			delete(c.felix, ev.Name)
		} else {
			c.felix[ev.Name] = ev.Resource.(*api.FelixConfiguration)
		}
	}
}

func (c *cache) applyWEP(ev store.Event) {
	key := ev.Key
	if iface, ok := c.wepIface[key]; ok {
		c.state.DeleteWorkload(iface)
		delete(c.wepIface, key)
		delete(c.localIPs, key)
		c.bgpChanged = true
	}
	if ev.Type == store.Deleted {
		return
	}
	w := ev.Resource.(*api.WorkloadEndpoint)
	if w.Spec.Node != c.me || w.Spec.InterfaceName == "" {
		return
	}
	lw := calc.LocalWorkload{Iface: w.Spec.InterfaceName}
	var ips []netip.Addr
	for _, s := range w.Spec.IPNetworks {
		if p, err := netip.ParsePrefix(s); err == nil {
			lw.IPs = append(lw.IPs, p)
			ips = append(ips, p.Addr())
		}
	}
	c.state.SetWorkload(lw)
	c.wepIface[key] = lw.Iface
	c.localIPs[key] = ips
	c.bgpChanged = true
}

// applyIPAM handles raw IPAM keys: blocks (routes for every node) and this node's affinities
// (what BGP advertises).
func (c *cache) applyIPAM(ev store.Event) {
	rest, ok := strings.CutPrefix(ev.Key, store.IPAMPrefix)
	if !ok {
		return
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 4 && parts[0] == "assignment" && parts[2] == "block":
		cidr, err := netip.ParsePrefix(store.CIDRFromKeySuffix(parts[3]))
		if err != nil {
			return
		}
		if ev.Type == store.Deleted {
			c.state.DeleteBlock(cidr)
			return
		}
		var b blockRoutes
		if err := decodeBlock(ev.Value, &b); err != nil {
			// As the watch does for resources: what cannot be read is gone, not stale.
			c.broken(ev, err)
			c.state.DeleteBlock(cidr)
			return
		}
		c.state.SetBlock(calcBlock(cidr, &b))
	case len(parts) == 5 && parts[0] == "host" && parts[1] == c.me && parts[3] == "block":
		cidr, err := netip.ParsePrefix(store.CIDRFromKeySuffix(parts[4]))
		if err != nil {
			return
		}
		c.bgpChanged = true
		if ev.Type == store.Deleted {
			delete(c.affinities, cidr)
			return
		}
		var a ipam.Affinity // a legacy empty value is a confirmed affinity
		if err := json.Unmarshal(ev.Value, &a); len(ev.Value) > 0 && err != nil {
			c.broken(ev, err)
			delete(c.affinities, cidr)
			return
		}
		c.affinities[cidr] = a.State
	}
}

func (c *cache) broken(ev store.Event, err error) {
	if c.report != nil {
		c.report(ev.Key, ev.Revision, err)
	}
}

// felixConfig is the effective FelixConfiguration for this node.
func (c *cache) felixConfig() api.FelixConfigurationSpec {
	return api.EffectiveFelixConfig(c.felix["default"], c.felix["node."+c.me])
}

// takeChanges returns and clears the change flags.
func (c *cache) takeChanges() (pools, nodes, bgp, felix bool) {
	pools, nodes, bgp, felix = c.poolsChanged, c.nodesChanged, c.bgpChanged, c.felixChanged
	c.poolsChanged, c.nodesChanged, c.bgpChanged, c.felixChanged = false, false, false, false
	return
}
