package calc

import (
	"net/netip"
	"slices"
)

// srcKind says which kind of input a contribution came from.
type srcKind uint8

const (
	srcBlock srcKind = iota
	srcLearned
	srcWorkload
	srcNode
	srcVTEP // the resolution of one tunnel address: skips for the nodes that lost it
)

// srcID names one input: a block or learned route by prefix, a workload or node by name.
type srcID struct {
	kind srcKind
	pfx  netip.Prefix
	name string
}

// contrib is what one input added to the output, remembered so that it can be taken back
// when the input changes.
type contrib struct {
	dsts    []uint64 // route keys where this input has a candidate
	skips   []Decision
	deps    []string // nodes whose change re-derives this input (blocks only)
	host    uint32   // tunnel source address (nodes only)
	hasHost bool
	vtep    uint64 // tunnel address key of this node's VTEP candidate
	hasVTEP bool
}

// incr is the incremental form of Compute's output: every input's contribution, the
// candidates per destination, and the sorted outputs of the last Compute. Output slices are
// never modified once returned; a change builds new ones by merging.
type incr struct {
	srcs     map[srcID]contrib
	cands    map[uint64][]candidate // route key -> candidates from all inputs
	users    map[string]map[netip.Prefix]struct{}
	vcands   map[uint64][]VTEP // tunnel address key -> VTEP candidates, one per node
	hostRefs map[uint32]int

	routes []Route
	vteps  []VTEP
	hosts  []netip.Addr
	skips  []Decision // from inputs only, sorted; nil when empty

	// Changes collected during one Compute.
	chRoutes []uint64
	chVTEPs  []uint64
	chHosts  []uint64
	skipAdd  []Decision
	skipDel  []Decision
	cur      sink
}

func newIncr() incr {
	return incr{srcs: map[srcID]contrib{}, cands: map[uint64][]candidate{},
		users: map[string]map[netip.Prefix]struct{}{}, vcands: map[uint64][]VTEP{}, hostRefs: map[uint32]int{},
		routes: []Route{}, vteps: []VTEP{}, hosts: []netip.Addr{}}
}

// sink collects one input's new contribution while it is derived.
type sink struct {
	inc *incr
	id  srcID
	n   contrib
}

func (k *sink) route(r Route, rank int) {
	key := prefixKey(r.Dst)
	k.inc.cands[key] = append(k.inc.cands[key], candidate{r: r, rank: rank, src: k.id})
	k.n.dsts = append(k.n.dsts, key)
	k.inc.chRoutes = append(k.inc.chRoutes, key)
}

func (k *sink) skip(subject, reason string) {
	k.n.skips = append(k.n.skips, Decision{Subject: subject, Reason: reason})
}

func (k *sink) dep(node string) {
	u := k.inc.users[node]
	if u == nil {
		u = map[netip.Prefix]struct{}{}
		k.inc.users[node] = u
	}
	u[k.id.pfx] = struct{}{}
	k.n.deps = append(k.n.deps, node)
}

func (k *sink) host(a netip.Addr) {
	v := addrU32(a)
	k.inc.hostRefs[v]++
	k.n.host, k.n.hasHost = v, true
	k.inc.chHosts = append(k.inc.chHosts, uint64(v))
}

func (k *sink) vtep(v VTEP) {
	key := addrKey(v.TunnelIP)
	k.inc.vcands[key] = append(k.inc.vcands[key], v)
	k.n.vtep, k.n.hasVTEP = key, true
	k.inc.chVTEPs = append(k.inc.chVTEPs, key)
}

// begin starts re-deriving input id: its old contribution is taken back, and the returned
// sink (valid until commit) collects the new one.
func (inc *incr) begin(id srcID) *sink {
	inc.withdraw(id)
	inc.cur = sink{inc: inc, id: id}
	return &inc.cur
}

// commit records what the sink collected as input id's contribution.
func (inc *incr) commit(k *sink) {
	n := k.n
	if len(n.dsts) == 0 && len(n.skips) == 0 && len(n.deps) == 0 && !n.hasHost && !n.hasVTEP {
		return
	}
	inc.skipAdd = append(inc.skipAdd, n.skips...)
	inc.srcs[k.id] = n
}

// withdraw takes back everything input id contributed.
func (inc *incr) withdraw(id srcID) {
	old, ok := inc.srcs[id]
	if !ok {
		return
	}
	delete(inc.srcs, id)
	for _, key := range old.dsts {
		cs := slices.DeleteFunc(inc.cands[key], func(c candidate) bool { return c.src == id })
		if len(cs) == 0 {
			delete(inc.cands, key)
		} else {
			inc.cands[key] = cs
		}
		inc.chRoutes = append(inc.chRoutes, key)
	}
	inc.skipDel = append(inc.skipDel, old.skips...)
	for _, node := range old.deps {
		if u := inc.users[node]; u != nil {
			delete(u, id.pfx)
			if len(u) == 0 {
				delete(inc.users, node)
			}
		}
	}
	if old.hasHost {
		if inc.hostRefs[old.host]--; inc.hostRefs[old.host] <= 0 {
			delete(inc.hostRefs, old.host)
		}
		inc.chHosts = append(inc.chHosts, uint64(old.host))
	}
	if old.hasVTEP {
		vs := slices.DeleteFunc(inc.vcands[old.vtep], func(v VTEP) bool { return v.Node == id.name })
		if len(vs) == 0 {
			delete(inc.vcands, old.vtep)
		} else {
			inc.vcands[old.vtep] = vs
		}
		inc.chVTEPs = append(inc.chVTEPs, old.vtep)
	}
}

func addrU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// addrKey orders an address as prefixKey orders its /32.
func addrKey(a netip.Addr) uint64 { return uint64(addrU32(a))<<16 | 32 }
