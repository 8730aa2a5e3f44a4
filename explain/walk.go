package explain

import (
	"fmt"
	"net/netip"
)

// Endpoint kinds.
const (
	KindWorkload = "workload"
	KindNode     = "node"
	KindAddress  = "address" // outside the cluster (or not resolved to one)
)

// Endpoint is one end of the flow, resolved by the caller from the datastore.
type Endpoint struct {
	Kind string     `json:"kind"`
	Name string     `json:"name,omitempty"` // endpoint or node name
	Node string     `json:"node,omitempty"` // the node it is on; empty for outside addresses
	Addr netip.Addr `json:"addr"`
	// NodeAddr is the node's address from the datastore (spec.bgp.ipv4Address), known even
	// when its agent does not answer.
	NodeAddr netip.Addr `json:"nodeAddr,omitzero"`
}

func (e Endpoint) String() string {
	switch e.Kind {
	case KindWorkload:
		if e.Name != "" {
			return fmt.Sprintf("%s (workload %s on %s)", e.Addr, e.Name, e.Node)
		}
		return fmt.Sprintf("%s (workload on %s)", e.Addr, e.Node)
	case KindNode:
		return fmt.Sprintf("%s (node %s)", e.Addr, e.Node)
	}
	return e.Addr.String()
}

// Query is the flow to explain.
type Query struct {
	Src      Endpoint `json:"src"`
	Dst      Endpoint `json:"dst"`
	Protocol string   `json:"protocol,omitempty"` // tcp, udp, icmp
	Port     int      `json:"port,omitempty"`
}

// Cluster is everything the walk reads: each node's facts, or why they could not be had.
type Cluster struct {
	Facts map[string]*Facts
	// Unreachable says, per node whose agent did not answer, what happened.
	Unreachable map[string]string
}

// Hop is one step of the walk with its evidence.
type Hop struct {
	Step  string   `json:"step"`
	Node  string   `json:"node,omitempty"`
	Lines []string `json:"lines"`
	Fault *Fault   `json:"fault,omitempty"`
}

// Fault is where the live state disagrees with what the datastore implies.
type Fault struct {
	What    string `json:"what"`
	Command string `json:"command"` // what shows it, and where to run it
}

// Result is the walk: the forward path and, when it got through, the reply path.
type Result struct {
	Query Query `json:"query"`
	Hops  []Hop `json:"hops"`
	OK    bool  `json:"ok"`
	// Encap is the forward path's encapsulation (IPIP, VXLAN, none); Outer its outer
	// source and destination when encapsulated, the addresses a capture should see.
	Encap string        `json:"encap"`
	Outer [2]netip.Addr `json:"outer,omitzero"`
	// FabricDev is the device the source node sends the packet out of.
	FabricDev string `json:"fabricDev,omitempty"`
	// Captures are what --capture saw on the fabric-facing devices.
	Captures []CaptureReport `json:"captures,omitempty"`
}

// Walk explains q from c: the forward path, then the reply path checked the same way.
func Walk(q Query, c Cluster) Result {
	res := Result{Query: q}
	fw := walker{c: c, src: q.Src, dst: q.Dst}
	ok := fw.run()
	res.Hops, res.Encap, res.Outer, res.FabricDev = fw.hops, fw.encap, fw.outer, fw.fabricDev
	if ok && q.Src.Node != "" && q.Dst.Node != "" {
		rw := walker{c: c, src: q.Dst, dst: q.Src, prefix: "reply: "}
		ok = rw.run()
		res.Hops = append(res.Hops, shortenReply(res.Hops, rw.hops)...)
		if ok && fw.encap != rw.encap {
			res.Hops = append(res.Hops, Hop{Step: "reply: asymmetry", Lines: []string{
				fmt.Sprintf("forward path uses %s, the reply %s (expected only with mixed pool modes)", fw.encap, rw.encap)}})
		}
	}
	res.OK = ok
	return res
}

// walker walks one direction.
type walker struct {
	c         Cluster
	src, dst  Endpoint
	prefix    string
	hops      []Hop
	encap     string
	outer     [2]netip.Addr
	fabricDev string
	innerMTU  int
}

// add appends h and reports whether the walk goes on.
func (w *walker) add(h Hop) bool {
	h.Step = w.prefix + h.Step
	w.hops = append(w.hops, h)
	return h.Fault == nil
}

func (w *walker) facts(node, step string) (*Facts, bool) {
	if f := w.c.Facts[node]; f != nil {
		return f, true
	}
	why := w.c.Unreachable[node]
	if why == "" {
		why = "no facts"
	}
	// The walk cannot go on without the kernel's answer, but it can say which route it
	// would have checked and the command that shows it (a stopped agent also repairs
	// nothing: a route deleted meanwhile stays missing until it runs again).
	dst := w.dst.Addr.String()
	w.add(Hop{Step: step, Node: node, Fault: &Fault{
		What: fmt.Sprintf("the agent on %s is not reachable (%s); nothing about this node's kernel is known, so its route to %s is not checked",
			node, why, w.dst),
		Command: fmt.Sprintf("ip route get %s (on %s); brindle node status (on %s), and the agent's /readiness", dst, node, node),
	}})
	return nil, false
}

func (w *walker) run() bool {
	if w.src.Node == "" {
		return w.add(Hop{Step: "source", Lines: []string{w.src.Addr.String() + " is outside the cluster: its path to the cluster is not brindle's"}})
	}
	sf, ok := w.facts(w.src.Node, "source node")
	if !ok {
		return false
	}
	if w.src.Kind == KindWorkload && !w.add(workloadHop("source workload", sf, w.src, &w.innerMTU)) {
		return false
	}
	h, next := w.sourceNode(sf)
	if !w.add(h) {
		return false
	}
	if w.dst.Node == w.src.Node {
		return w.destination(sf)
	}
	if !w.add(w.fabric(sf, next)) {
		return false
	}
	if w.dst.Node == "" {
		return true
	}
	df, ok := w.facts(w.dst.Node, "destination node")
	if !ok {
		return false
	}
	return w.destination(df)
}

// destination walks the destination node's hops (decapsulation, the /32 route) and the
// workload itself.
func (w *walker) destination(df *Facts) bool {
	if !w.add(w.destNode(df)) {
		return false
	}
	if w.dst.Kind != KindWorkload {
		return true
	}
	var mtu int
	return w.add(workloadHop("destination workload", df, w.dst, &mtu))
}

// policy checks the flow against the verdict the node's agent gave for the workload at
// this end (egress at the source, ingress at the destination). Replies are not judged:
// conntrack lets them through as established traffic, as felix's rules do.
func (w *walker) policy(f *Facts, h *Hop, egress bool) bool {
	dir, ep := "ingress", w.dst
	if egress {
		dir, ep = "egress", w.src
	}
	switch {
	case f.Policy == nil || !f.Policy.Enforced:
		h.Lines = append(h.Lines, "policy ("+dir+"): not enforced by this agent")
		return true
	case w.prefix != "":
		h.Lines = append(h.Lines, "policy ("+dir+"): the reply of an allowed flow is established traffic (conntrack)")
		return true
	case ep.Kind != KindWorkload:
		h.Lines = append(h.Lines, "policy ("+dir+"): "+ep.Addr.String()+" is no workload endpoint of this node")
		return true
	}
	for _, v := range f.Policy.Verdicts {
		if v.Direction != dir || v.Src != w.src.Addr || v.Dst != w.dst.Addr {
			continue
		}
		for _, t := range v.Trace {
			h.Lines = append(h.Lines, "policy ("+dir+"): "+t)
		}
		if !v.Allow {
			h.Fault = &Fault{What: fmt.Sprintf("policy denies the flow at %s %s workload %s (%s): %s", dir, map[bool]string{true: "from", false: "to"}[egress], ep.Name, v.Iface, v.Decided),
				Command: on(f.Node, "brindle node endpoints")}
			return false
		}
		h.Lines = append(h.Lines, "policy ("+dir+"): allowed by "+v.Decided)
		return true
	}
	h.Lines = append(h.Lines, "policy ("+dir+"): the agent gave no verdict for this flow")
	return true
}

// shortenReply replaces the evidence of a reply's workload hop that passed by a pointer to
// the forward hop that showed the same workload: the reply re-checks it, nobody needs to
// read it twice.
func shortenReply(forward, reply []Hop) []Hop {
	twin := map[string]string{"reply: source workload": "destination workload", "reply: destination workload": "source workload"}
	for i, h := range reply {
		if h.Fault != nil {
			continue
		}
		for j, f := range forward {
			if f.Step == twin[h.Step] && f.Node == h.Node {
				reply[i].Lines = []string{fmt.Sprintf("as in hop %d (checked again)", j+1)}
			}
		}
	}
	return reply
}
