package node

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/brindle-net/brindle/explain"
	"github.com/brindle-net/brindle/explain/policyverdict"
)

// lastDesired is the desired state the dataplane component last applied (or tried to), for
// `brindle explain`. calc's results are never modified, so holding one is safe.
type lastDesired struct{ p atomic.Pointer[calc.Desired] }

func (l *lastDesired) set(d calc.Desired) { l.p.Store(&d) }

// unresolver is the part of *dataplane.Dataplane explain reads (the fakes lack it).
type unresolver interface {
	Unresolved() map[netip.Addr]string
}

// factsHandler serves this node's explain.Facts at explain.FactsPath: the kernel read
// now, next to what the agent wants and why.
func (a *Agent) factsHandler(w http.ResponseWriter, r *http.Request) {
	f, err := a.facts()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if pk, ok := explain.ParseFlow(r.URL.Query()); ok {
		f.Policy = a.policyFacts(pk)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f)
}

func (a *Agent) facts() (explain.Facts, error) {
	var want calc.Desired
	if d := a.desired.p.Load(); d != nil {
		want = *d
	}
	f, err := dataplane.ReadFacts("", workloadsOf(want))
	if err != nil {
		return f, err
	}
	f.Node, f.Collected, f.Address, f.Uplink = a.name, time.Now().UTC(), a.nodeIP, a.uplink
	f.Desired, f.VTEPs = dataplane.DesiredFacts(want)
	f.MasqPools, f.AllPools = want.NAT.MasqPools, want.NAT.AllPools
	if u, ok := a.dp.(unresolver); ok {
		f.Unresolved = u.Unresolved()
	}
	if a.opts.BGP {
		st := a.status.Status()
		f.BGP = &st
	}
	_, ready, parts := a.health.Status()
	f.Ready = ready
	for name, p := range parts {
		if !p.Ready {
			f.NotReady = append(f.NotReady, name+": "+p.Detail)
		}
	}
	sort.Strings(f.NotReady)
	return f, nil
}

// workloadsOf reads the local workloads back from the desired /32 routes (one per address).
func workloadsOf(want calc.Desired) []calc.LocalWorkload {
	byIface := map[string]int{}
	var out []calc.LocalWorkload
	for _, r := range want.Routes {
		if r.Kind != calc.RouteWorkload {
			continue
		}
		i, ok := byIface[r.Dev]
		if !ok {
			i = len(out)
			byIface[r.Dev] = i
			out = append(out, calc.LocalWorkload{Iface: r.Dev})
		}
		out[i].IPs = append(out[i].IPs, r.Dst)
	}
	return out
}

// policyFacts is the policy verdicts for the flow pk at this node's endpoints: nil while
// this agent enforces no policy (explain then says "not enforced by this agent"). With the
// policy engine it is, for the local endpoint whose address is pk.Src, the egress verdict,
// and for the one whose address is pk.Dst the ingress verdict, each from
// policyverdict.Evaluate over the agent's calc/policy Program.
func (a *Agent) policyFacts(pk explain.Packet) *explain.PolicyFacts {
	p := a.cache.pol
	if a.dp == nil || p == nil {
		return nil
	}
	p.progMu.RLock()
	defer p.progMu.RUnlock()
	if p.prog == nil {
		return nil // not programmed yet
	}
	out := &explain.PolicyFacts{Enforced: true}
	for iface, ep := range p.prog.Endpoints {
		for _, addr := range ep.Addrs {
			for _, egress := range []bool{true, false} {
				at := pk.Dst
				if egress {
					at = pk.Src
				}
				if !addr.Contains(at) {
					continue
				}
				if v, ok := policyverdict.Evaluate(p.prog, iface, egress, pk); ok {
					out.Verdicts = append(out.Verdicts, v)
				}
			}
		}
	}
	return out
}

// captureHandler runs a short capture for `brindle explain --capture` (explain.CapturePath).
func (a *Agent) captureHandler(w http.ResponseWriter, r *http.Request) {
	q, err := explain.ParseCaptureQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rep, err := dataplane.Capture(r.Context(), q)
	rep.Node = a.name
	if err != nil {
		rep.Err = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}
