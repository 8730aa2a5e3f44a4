package calc

// memo keeps, across Compute calls, what depends only on one node (its route shape and
// reason, its VTEP) so that a change among 10,000 nodes recomputes one node, not all.
// The State's setters invalidate it; anything that changes the shape of every route (the
// local node, a pool, the uplink, the route source) drops it whole.
type memo struct {
	ctx  memoCtx
	tmpl map[string]map[tmplKey]template // by node name; "" for learned routes
	vtep map[string]VTEP                 // by node name
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
	delete(s.memo.tmpl, name)
	delete(s.memo.vtep, name)
}

// memoFor returns the memo, fresh if the state-wide inputs changed since it was filled.
func (s *State) memoFor() *memo {
	if s.memo == nil || s.memo.ctx != s.ctx() {
		s.memo = &memo{ctx: s.ctx(), tmpl: map[string]map[tmplKey]template{}, vtep: map[string]VTEP{}}
	}
	return s.memo
}

func (c *computer) template(node string, k tmplKey, build func() template) template {
	m := c.memo.tmpl[node]
	if m == nil {
		m = map[tmplKey]template{}
		c.memo.tmpl[node] = m
	}
	t, ok := m[k]
	if !ok {
		t = build()
		m[k] = t
	}
	return t
}
