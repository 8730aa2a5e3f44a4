package node

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/brindle-net/brindle/node/epstatus"
)

// epView is the last applied Program reduced to what `brindle node endpoints` shows; the
// loop replaces it after each policy apply, the status socket reads it.
type epView struct {
	endpoints []epstatus.Endpoint
}

func buildEPView(prog *policy.Program) *epView {
	v := &epView{}
	chain := func(id policy.ChainID) epstatus.Policy {
		p := epstatus.Policy{Chain: string(id), Name: string(id)}
		if c := prog.Chains[id]; c != nil {
			p.Name, p.Namespace = c.Name, c.Namespace
		}
		return p
	}
	dir := func(d policy.Direction, own, ch string) epstatus.Direction {
		out := epstatus.Direction{Own: own, Chain: ch}
		for _, t := range d.Tiers {
			et := epstatus.Tier{Name: t.Name, EndOfTierPass: t.EndOfTierPass}
			for _, id := range t.Policies {
				et.Policies = append(et.Policies, chain(id))
			}
			out.Tiers = append(out.Tiers, et)
		}
		for _, id := range d.Profiles {
			out.Profiles = append(out.Profiles, chain(id))
		}
		return out
	}
	for _, iface := range slices.Sorted(mapKeys(prog.Endpoints)) {
		ep := prog.Endpoints[iface]
		own, in, eg := dataplane.EndpointChains(iface, ep, prog.Config)
		e := epstatus.Endpoint{Iface: iface, Namespace: ep.Namespace, Name: ep.Name,
			Ingress: dir(ep.Ingress, "", in), Egress: dir(ep.Egress, own, eg)}
		for _, a := range ep.Addrs {
			e.Addrs = append(e.Addrs, a.String())
		}
		v.endpoints = append(v.endpoints, e)
	}
	return v
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (p *policyCache) setView(v *epView) {
	p.mu.Lock()
	p.view = v
	p.mu.Unlock()
}

// endpointsReply fills the view with the kernel's counters.
func (a *Agent) endpointsReply() epstatus.Reply {
	var reply epstatus.Reply
	if a.cache == nil || a.cache.pol == nil {
		return reply
	}
	a.cache.pol.mu.Lock()
	v := a.cache.pol.view
	a.cache.pol.mu.Unlock()
	if v == nil {
		return reply
	}
	reply.Programmed = true
	// Copy: the counters are filled into the reply, not into the shared view.
	eps := make([]epstatus.Endpoint, len(v.endpoints))
	var chains []string
	for i, e := range v.endpoints {
		e.Ingress, e.Egress = cloneDir(e.Ingress), cloneDir(e.Egress)
		eps[i] = e
		for _, d := range []epstatus.Direction{e.Ingress, e.Egress} {
			chains = append(chains, d.Chain)
			if d.Own != "" {
				chains = append(chains, d.Own)
			}
			for _, t := range d.Tiers {
				for _, p := range t.Policies {
					chains = append(chains, p.Chain)
				}
			}
			for _, p := range d.Profiles {
				chains = append(chains, p.Chain)
			}
		}
	}
	var counters map[string][]dataplane.RuleCounter
	if a.dp != nil {
		counters, _ = a.dp.ChainCounters(slices.Compact(slices.Sorted(slices.Values(chains))))
	}
	conv := func(rcs []dataplane.RuleCounter) []epstatus.Counter {
		out := make([]epstatus.Counter, 0, len(rcs))
		for _, rc := range rcs {
			out = append(out, epstatus.Counter{Rule: rc.Tag, Packets: rc.Packets, Bytes: rc.Bytes})
		}
		return out
	}
	for i := range eps {
		for _, d := range []*epstatus.Direction{&eps[i].Ingress, &eps[i].Egress} {
			d.Steps = conv(counters[d.Chain])
			if d.Own != "" {
				d.Steps = append(conv(counters[d.Own]), d.Steps...)
			}
			for ti := range d.Tiers {
				for pi := range d.Tiers[ti].Policies {
					p := &d.Tiers[ti].Policies[pi]
					p.Rules = conv(counters[p.Chain])
				}
			}
			for pi := range d.Profiles {
				d.Profiles[pi].Rules = conv(counters[d.Profiles[pi].Chain])
			}
		}
	}
	reply.Endpoints = eps
	return reply
}

func cloneDir(d epstatus.Direction) epstatus.Direction {
	d.Tiers = slices.Clone(d.Tiers)
	for i := range d.Tiers {
		d.Tiers[i].Policies = slices.Clone(d.Tiers[i].Policies)
	}
	d.Profiles = slices.Clone(d.Profiles)
	return d
}

// handlePolicyStatus serves the endpoints view (`brindle node endpoints`) on the status mux.
func (a *Agent) handlePolicyStatus(mux *http.ServeMux) {
	mux.HandleFunc("GET "+epstatus.Path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a.endpointsReply())
	})
}
