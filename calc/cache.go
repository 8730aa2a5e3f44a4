package calc

import "net/netip"

// memo keeps, across Compute calls, everything derived from one input (a block, a node, a
// learned route, a workload) so that a change among 10,000 blocks re-derives the inputs it
// touched, not all of them. The State's setters record which inputs changed; anything that
// changes the shape of every route (the local node, a pool, the uplink, the route source)
// drops the memo whole and the next Compute derives everything again.
type memo struct {
	ctx  memoCtx
	full bool // fresh memo: derive every input on the next Compute
	// reasons shared by every route of one shape (see reasonKey); a pool or uplink change
	// drops the memo and with it these.
	reasons map[reasonKey]string
	dirty   dirtySet
	inc     incr
	// lastSeq is the Delta.Seq of the last result computed with this memo.
	lastSeq uint64
}

// dirtySet lists the inputs changed since the last Compute, by key.
type dirtySet struct {
	blocks  map[netip.Prefix]struct{}
	learned map[netip.Prefix]struct{}
	works   map[string]struct{}
	nodes   map[string]struct{}
}

func newDirtySet() dirtySet {
	return dirtySet{blocks: map[netip.Prefix]struct{}{}, learned: map[netip.Prefix]struct{}{},
		works: map[string]struct{}{}, nodes: map[string]struct{}{}}
}

func (d dirtySet) empty() bool {
	return len(d.blocks)+len(d.learned)+len(d.works)+len(d.nodes) == 0
}

type memoCtx struct {
	nodeName, uplink string
	mtu              int
	bgp              bool
}

func (s *State) ctx() memoCtx {
	return memoCtx{nodeName: s.NodeName, uplink: s.Uplink, mtu: s.UplinkMTU, bgp: s.RoutesFromBGP}
}

// Invalidate drops everything Compute remembered. Call it after editing State's maps
// directly instead of through its methods.
func (s *State) Invalidate() { s.memo = nil }

func (s *State) invalidateNode(name string) {
	if s.memo == nil {
		return
	}
	if name == s.NodeName {
		s.memo = nil
		return
	}
	s.memo.dirty.nodes[name] = struct{}{}
}

func (s *State) touchBlock(cidr netip.Prefix) {
	if s.memo != nil {
		s.memo.dirty.blocks[cidr] = struct{}{}
	}
}

func (s *State) touchLearned(dst netip.Prefix) {
	if s.memo != nil {
		s.memo.dirty.learned[dst] = struct{}{}
	}
}

func (s *State) touchWorkload(iface string) {
	if s.memo != nil {
		s.memo.dirty.works[iface] = struct{}{}
	}
}

// memoFor returns the memo, fresh (full) if the state-wide inputs changed since it was
// filled.
func (s *State) memoFor() *memo {
	if s.memo == nil || s.memo.ctx != s.ctx() {
		s.memo = &memo{ctx: s.ctx(), full: true, reasons: map[reasonKey]string{},
			dirty: newDirtySet(), inc: newIncr(len(s.Blocks)+len(s.Nodes)+len(s.Learned)+len(s.Workloads),
				len(s.Blocks)+len(s.Learned)+len(s.Workloads))}
	}
	return s.memo
}
