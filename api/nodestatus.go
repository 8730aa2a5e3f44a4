package api

// CalicoNodeStatus asks a node to report its BGP agent, session and route state.
type CalicoNodeStatus struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       CalicoNodeStatusSpec   `json:"spec"`
	Status     CalicoNodeStatusStatus `json:"status"`
}

// CalicoNodeStatusSpec names the node, what to report and how often.
type CalicoNodeStatusSpec struct {
	Node                string   `json:"node,omitempty"`
	Classes             []string `json:"classes,omitempty"`
	UpdatePeriodSeconds *uint32  `json:"updatePeriodSeconds,omitempty"`
}

// CalicoNodeStatusStatus is written by the node agent.
type CalicoNodeStatusStatus struct {
	LastUpdated string            `json:"lastUpdated,omitempty"`
	Agent       *CalicoNodeAgent  `json:"agent,omitempty"`
	BGP         *CalicoNodeBGP    `json:"bgp,omitempty"`
	Routes      *CalicoNodeRoutes `json:"routes,omitempty"`
}

// CalicoNodeAgent is the state of the BGP daemon per family.
type CalicoNodeAgent struct {
	BIRDV4 *BGPDaemonStatus `json:"birdV4,omitempty"`
	BIRDV6 *BGPDaemonStatus `json:"birdV6,omitempty"`
}

// BGPDaemonStatus describes one BGP daemon.
type BGPDaemonStatus struct {
	State                   string `json:"state,omitempty"`
	Version                 string `json:"version,omitempty"`
	RouterID                string `json:"routerID,omitempty"`
	LastBootTime            string `json:"lastBootTime,omitempty"`
	LastReconfigurationTime string `json:"lastReconfigurationTime,omitempty"`
}

// CalicoNodeBGP summarises BGP sessions.
type CalicoNodeBGP struct {
	NumberEstablishedV4    int              `json:"numberEstablishedV4"`
	NumberNotEstablishedV4 int              `json:"numberNotEstablishedV4"`
	NumberEstablishedV6    int              `json:"numberEstablishedV6"`
	NumberNotEstablishedV6 int              `json:"numberNotEstablishedV6"`
	PeersV4                []CalicoNodePeer `json:"peersV4,omitempty"`
	PeersV6                []CalicoNodePeer `json:"peersV6,omitempty"`
}

// CalicoNodePeer is one BGP session.
type CalicoNodePeer struct {
	PeerIP string `json:"peerIP,omitempty"`
	Type   string `json:"type,omitempty"`
	State  string `json:"state,omitempty"`
	Since  string `json:"since,omitempty"`
}

// CalicoNodeRoutes lists routes per family.
type CalicoNodeRoutes struct {
	RoutesV4 []CalicoNodeRoute `json:"routesV4,omitempty"`
	RoutesV6 []CalicoNodeRoute `json:"routesV6,omitempty"`
}

// CalicoNodeRoute is one route and where it was learned.
type CalicoNodeRoute struct {
	Type        string                 `json:"type,omitempty"`
	Destination string                 `json:"destination,omitempty"`
	Gateway     string                 `json:"gateway,omitempty"`
	Interface   string                 `json:"interface,omitempty"`
	LearnedFrom *CalicoNodeRouteSource `json:"learnedFrom,omitempty"`
}

// CalicoNodeRouteSource says which peer (or kernel/static) a route came from.
type CalicoNodeRouteSource struct {
	SourceType string `json:"sourceType,omitempty"`
	PeerIP     string `json:"peerIP,omitempty"`
}

// Validate checks the node name and the report classes.
func (c *CalicoNodeStatus) Validate() error {
	var e Errs
	checkMeta(&e, &c.ObjectMeta, false)
	if c.Spec.Node == "" {
		e.Add("spec.node", nil, "is required")
	} else {
		CheckName(&e, "spec.node", c.Spec.Node)
	}
	seen := map[string]bool{}
	for i, cl := range c.Spec.Classes {
		if CheckOneOf(&e, "spec.classes["+itoa(i)+"]", cl, false, "Agent", "BGP", "Routes") && seen[cl] {
			e.Add("spec.classes["+itoa(i)+"]", cl, "is listed twice")
		}
		seen[cl] = true
	}
	if c.Spec.Classes == nil {
		e.Add("spec.classes", nil, "is required")
	}
	// Calico requires updatePeriodSeconds; brindle's agent writes its own record without one
	// (it reports on FelixConfiguration's reportingInterval), so it stays optional here.
	if p := c.Spec.UpdatePeriodSeconds; p != nil && *p > 86400 {
		e.Add("spec.updatePeriodSeconds", *p, "must be at most 86400")
	}
	return e.For(c)
}
