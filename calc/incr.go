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
	dsts    []netip.Prefix // route destinations where this input has a candidate
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
//
// Contributions and candidates live in slices addressed by index, with free lists, rather
// than one allocation each: a cold start derives 10,000 of them.
type incr struct {
	srcs     map[srcID]int32 // -> index in contribs
	contribs []contrib
	freeSrc  []int32
	cands    candIndex // route destination -> first candidate in cpool
	cpool    []candNode
	freeCand []int32
	users    map[string][]netip.Prefix // node -> blocks routed to it
	vcands   map[uint64][]VTEP         // tunnel address key -> VTEP candidates, one per node
	hostRefs map[uint32]int
	pfxslab  []netip.Prefix
	strslab  []string

	routes []Route
	vteps  []VTEP
	hosts  []netip.Addr
	skips  []Decision // from inputs only, sorted; nil when empty

	// Changes collected during one Compute.
	chRoutes []netip.Prefix
	chVTEPs  []uint64
	chHosts  []uint64
	skipAdd  []Decision
	skipDel  []Decision
	cur      sink
	fresh    bool // nothing derived yet: no contribution to take back
}

type candNode struct {
	c    candidate
	next int32 // -1 ends the list
}

// newIncr sizes the tables for the inputs (sources) and the route candidates they are
// expected to add: nodes add none, so sizing candidates by every input wasted ~1 MB at
// 10,000 nodes.
func newIncr(sources, candidates int) incr {
	return incr{srcs: make(map[srcID]int32, sources), cands: newCandIndex(candidates),
		contribs: make([]contrib, 0, sources), cpool: make([]candNode, 0, candidates),
		users: map[string][]netip.Prefix{}, vcands: map[uint64][]VTEP{}, hostRefs: map[uint32]int{},
		routes: []Route{}, vteps: []VTEP{}, hosts: []netip.Addr{}, fresh: true}
}

// sink collects one input's new contribution while it is derived.
type sink struct {
	inc   *incr
	id    srcID
	src   int32 // index the contribution will take
	dsts  []netip.Prefix
	skips []Decision
	deps  []string
	n     contrib
}

func (k *sink) route(r Route, rank int) {
	inc := k.inc
	key := r.Dst
	node := candNode{c: candidate{r: r, rank: int32(rank), src: k.src}, next: -1}
	if head, ok := inc.cands.get(key); ok {
		node.next = head
	}
	var at int32
	if n := len(inc.freeCand); n > 0 {
		at = inc.freeCand[n-1]
		inc.freeCand = inc.freeCand[:n-1]
		inc.cpool[at] = node
	} else {
		at = int32(len(inc.cpool))
		inc.cpool = append(inc.cpool, node)
	}
	inc.cands.set(key, at)
	k.dsts = append(k.dsts, key)
	inc.chRoutes = append(inc.chRoutes, key)
}

func (k *sink) skip(subject, reason string) {
	k.skips = append(k.skips, Decision{Subject: subject, Reason: reason})
}

func (k *sink) dep(node string) {
	if slices.Contains(k.deps, node) {
		return
	}
	k.inc.users[node] = append(k.inc.users[node], k.id.pfx)
	k.deps = append(k.deps, node)
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
	if !inc.fresh {
		inc.withdraw(id)
	}
	src := int32(len(inc.contribs))
	if n := len(inc.freeSrc); n > 0 {
		src = inc.freeSrc[n-1]
	}
	k := &inc.cur
	*k = sink{inc: inc, id: id, src: src, dsts: k.dsts[:0], skips: k.skips[:0], deps: k.deps[:0]}
	return k
}

// commit records what the sink collected as input id's contribution.
func (inc *incr) commit(k *sink) {
	n := k.n
	if len(k.dsts) == 0 && len(k.skips) == 0 && len(k.deps) == 0 && !n.hasHost && !n.hasVTEP {
		return
	}
	n.dsts = carve(&inc.pfxslab, k.dsts)
	n.deps = carve(&inc.strslab, k.deps)
	if len(k.skips) > 0 {
		n.skips = slices.Clone(k.skips)
		inc.skipAdd = append(inc.skipAdd, n.skips...)
	}
	if int(k.src) == len(inc.contribs) {
		inc.contribs = append(inc.contribs, n)
	} else {
		inc.freeSrc = inc.freeSrc[:len(inc.freeSrc)-1]
		inc.contribs[k.src] = n
	}
	inc.srcs[k.id] = k.src
}

// carve copies s into a slab shared by many contributions (one allocation per few thousand
// entries instead of one per input); the copy's capacity is its length, so appending to
// it never writes into a neighbour.
func carve[T any](slab *[]T, s []T) []T {
	if len(s) == 0 {
		return nil
	}
	if cap(*slab)-len(*slab) < len(s) {
		*slab = make([]T, 0, max(4096, len(s)))
	}
	at := len(*slab)
	*slab = append(*slab, s...)
	return (*slab)[at : at+len(s) : at+len(s)]
}

// withdraw takes back everything input id contributed.
func (inc *incr) withdraw(id srcID) {
	src, ok := inc.srcs[id]
	if !ok {
		return
	}
	old := inc.contribs[src]
	delete(inc.srcs, id)
	inc.contribs[src] = contrib{}
	inc.freeSrc = append(inc.freeSrc, src)
	for _, key := range old.dsts {
		inc.dropCandidate(key, src)
		inc.chRoutes = append(inc.chRoutes, key)
	}
	inc.skipDel = append(inc.skipDel, old.skips...)
	for _, node := range old.deps {
		u := inc.users[node]
		if i := slices.Index(u, id.pfx); i >= 0 {
			u[i] = u[len(u)-1]
			u = u[:len(u)-1]
		}
		if len(u) == 0 {
			delete(inc.users, node)
		} else {
			inc.users[node] = u
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

// dropCandidate unlinks the candidates of input src at key.
func (inc *incr) dropCandidate(key netip.Prefix, src int32) {
	head, ok := inc.cands.get(key)
	if !ok {
		return
	}
	prev := int32(-1)
	for at := head; at >= 0; {
		next := inc.cpool[at].next
		if inc.cpool[at].c.src == src {
			if prev < 0 {
				head = next
			} else {
				inc.cpool[prev].next = next
			}
			inc.cpool[at] = candNode{}
			inc.freeCand = append(inc.freeCand, at)
		} else {
			prev = at
		}
		at = next
	}
	if head < 0 {
		inc.cands.del(key)
	} else {
		inc.cands.set(key, head)
	}
}

// best returns the winning candidate at key.
func (inc *incr) best(key netip.Prefix) (candidate, bool) {
	head, ok := inc.cands.get(key)
	if !ok {
		return candidate{}, false
	}
	best := inc.cpool[head].c
	for at := inc.cpool[head].next; at >= 0; at = inc.cpool[at].next {
		if c := inc.cpool[at].c; c.better(best) {
			best = c
		}
	}
	return best, true
}

func addrU32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// addrKey orders IPv4 addresses (VTEPs, tunnel sources): address, then 32.
func addrKey(a netip.Addr) uint64 { return uint64(addrU32(a))<<16 | 32 }

// candIndex maps a route destination to its first candidate. IPv4 destinations, the common
// case at 10,000 blocks, are keyed by one integer (address and length): the runtime hashes
// a uint64 key on its fast path, and a 32-byte netip.Prefix key cost a cold start ~30% more
// time in map operations. IPv6 destinations use the prefix itself.
type candIndex struct {
	v4 map[uint64]int32
	v6 map[netip.Prefix]int32
}

func newCandIndex(n int) candIndex {
	return candIndex{v4: make(map[uint64]int32, n), v6: map[netip.Prefix]int32{}}
}

func key4(p netip.Prefix) uint64 { return uint64(addrU32(p.Addr()))<<8 | uint64(p.Bits()) }

func (c candIndex) get(p netip.Prefix) (int32, bool) {
	if p.Addr().Is4() {
		v, ok := c.v4[key4(p)]
		return v, ok
	}
	v, ok := c.v6[p]
	return v, ok
}

func (c candIndex) set(p netip.Prefix, v int32) {
	if p.Addr().Is4() {
		c.v4[key4(p)] = v
		return
	}
	c.v6[p] = v
}

func (c candIndex) del(p netip.Prefix) {
	if p.Addr().Is4() {
		delete(c.v4, key4(p))
		return
	}
	delete(c.v6, p)
}
