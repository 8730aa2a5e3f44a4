package dataplane

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/brindle-net/brindle/calc/policy"
)

// ApplyPolicyProgram is ApplyPolicy driven by calc/policy's Delta: after the first apply
// only the chains, sets and endpoints the Delta names are converted, hashed and compared,
// so a single change costs the same at 10 policies as at 1,000 (the kernel's own commit
// cost still grows with the table). A full conversion runs on the first call, after a
// failure or a resync, and when the configuration changed.
//
// Inline sets (n-/p-) that a changed rule stops using are left in the table until the
// next full apply (the periodic resync) removes them; they match nothing by themselves.
func (d *Dataplane) ApplyPolicyProgram(ctx context.Context, prog *policy.Program, delta policy.Delta) error {
	d.polMu.Lock()
	defer d.polMu.Unlock()
	d.resyncMu.Lock()
	if d.polResync {
		d.pol.stale, d.pol6.stale, d.polResync = true, true, false
	}
	d.resyncMu.Unlock()
	p := d.pol
	if err := ctx.Err(); err != nil {
		p.stale = true // this delta is lost: convert everything next time
		return err
	}
	// IPv6 takes the same paths in its own table (`ip6 brindle`); its failure leaves pol6
	// stale and is returned with IPv4's.
	var err6 error
	if prog != nil && !d.noIPv6 {
		if err6 = d.applyPolicyFamily(d.pol6, prog, delta); err6 != nil {
			err6 = fmt.Errorf("IPv6: %w", err6)
		}
	}
	return errors.Join(d.applyPolicyFamily(p, prog, delta), err6)
}

// applyPolicyFamily writes prog into one family's table: the whole Program after a failure,
// a resync, a configuration or host endpoint change (host endpoints are few: a change to one
// converts everything), else only the Delta. A policy edit alone takes the Delta path, which
// also rewrites the policy's marked copy (polhost.go).
func (d *Dataplane) applyPolicyFamily(p *polTable, prog *policy.Program, delta policy.Delta) error {
	host := len(delta.HostEndpointsChanged)+len(delta.HostEndpointsRemoved) > 0
	if p.stale || p.want == nil || p.have == nil || delta.Full || delta.ConfigChanged || host {
		if p.v6 {
			p.spec = SpecFromProgram6(prog)
		} else {
			p.spec = SpecFromProgram(prog)
		}
		return p.apply(p.spec)
	}
	defer d.schedulePolicyCollect(p)
	return p.applyDelta(prog, delta)
}

// family is the address family of the table's rules.
func (p *polTable) family() uint8 {
	if p.v6 {
		return 6
	}
	return 4
}

func (p *polTable) applyDelta(prog *policy.Program, delta policy.Delta) error {
	w, spec := p.want, &p.spec
	only := &polTouched{chains: map[string]bool{}, sets: map[string]bool{}}
	inline := map[string]PolSet{}
	for id, sd := range delta.Sets {
		name := setName(id)
		only.sets[name] = true
		s := prog.Sets[id]
		if sd.Removed || s == nil || (s.Family == 6) != p.v6 {
			delete(w.sets, name)
			delete(spec.Sets, name)
			continue
		}
		ps := polSetFrom(s)
		spec.Sets[name] = ps
		w.sets[name] = setWant(p.v6, name, ps)
	}
	for _, id := range delta.ChainsRemoved {
		delete(w.chains, string(id))
		delete(spec.Chains, string(id))
		only.chains[string(id)] = true
	}
	for _, id := range delta.ChainsChanged {
		ch := prog.Chains[id]
		if ch == nil {
			continue
		}
		pc := PolChain{Rules: polRulesFor(ch.Rules, p.family())}
		spec.Chains[string(id)] = pc
		w.chains[string(id)] = policyChainWant(p.v6, pc.Rules)
		only.chains[string(id)] = true
		if m := markedChain(string(id)); w.chains[m] != nil {
			w.chains[m] = markedChainWant(pc.Rules)
			only.chains[m] = true
		}
		chainInlineSets(pc, inline)
		for name, kind := range chainSetRefs(pc) {
			if _, ok := w.sets[name]; !ok {
				w.sets[name] = setWant(p.v6, name, PolSet{Kind: kind})
				only.sets[name] = true
			}
		}
	}
	o := spec.epOpts()
	fw, tw := w.sets[mapFromWL], w.sets[mapToWL]
	fw.elems, tw.elems = maps.Clone(fw.elems), maps.Clone(tw.elems) // have shares them
	// drop forgets an endpoint as last written: its chain, its map elements, its uses of
	// group chains (a group nobody uses any more is deleted).
	drop := func(iface string) {
		old, ok := spec.Endpoints[iface]
		if !ok {
			return
		}
		delete(spec.Endpoints, iface)
		eg, _ := groupName(old.Egress, true, o)
		ig, _ := groupName(old.Ingress, false, o)
		for _, g := range []string{eg, ig} {
			if w.unrefGroup(g) {
				only.chains[g] = true
			}
		}
		delete(w.chains, fwChain(iface))
		delete(w.chains, twChain(iface))
		only.chains[fwChain(iface)], only.chains[twChain(iface)] = true, true
		delete(fw.elems, elemID(vmapElem(iface, fwChain(iface))))
		delete(tw.elems, elemID(vmapElem(iface, twChain(iface))))
		only.sets[mapFromWL], only.sets[mapToWL] = true, true
	}
	for _, iface := range delta.EndpointsRemoved {
		drop(iface)
	}
	for _, iface := range delta.EndpointsChanged {
		ep := prog.Endpoints[iface]
		if ep == nil {
			continue
		}
		drop(iface)
		pe := polEndpointFor(ep, p.v6)
		spec.Endpoints[iface] = pe
		eg, ig := w.refGroup(pe.Egress, true, o), w.refGroup(pe.Ingress, false, o)
		w.chains[fwChain(iface)] = fwChainWant(p.v6, pe.Sources, eg)
		w.chains[twChain(iface)] = twChainWant(ig)
		only.chains[fwChain(iface)], only.chains[twChain(iface)], only.chains[eg], only.chains[ig] = true, true, true, true
		fe, te := vmapElem(iface, fwChain(iface)), vmapElem(iface, twChain(iface))
		fw.elems[elemID(fe)], tw.elems[elemID(te)] = fe, te
		only.sets[mapFromWL], only.sets[mapToWL] = true, true
		endpointInlineSets(pe, inline)
	}
	for name, s := range inline {
		if _, ok := w.sets[name]; !ok {
			w.sets[name] = setWant(p.v6, name, s)
			only.sets[name] = true
		}
	}
	if len(only.chains)+len(only.sets) == 0 {
		return nil
	}
	c, err := p.h.nftBulk()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	if !queuePol(c, p.have, w, only, false) {
		return nil
	}
	if err := c.Flush(); err != nil {
		p.stale = true // the next apply reads the table back and converts everything
		return fmt.Errorf("nftables: policy transaction: %w", err)
	}
	p.writes++
	p.have.update(w, only)
	for _, name := range only.cleaned {
		delete(p.have.dead, name)
	}
	for _, name := range only.superseded {
		if w.chains[name] != nil {
			p.have.dead[name] = true
		}
	}
	return nil
}

// update records that the touched names now hold what w says.
func (h *polHave) update(w *polWant, only *polTouched) {
	for name := range only.chains {
		if cw := w.chains[name]; cw != nil {
			h.chains[name] = cw.hash
		} else {
			delete(h.chains, name)
			delete(h.dead, name)
		}
	}
	for name := range only.sets {
		if sw := w.sets[name]; sw != nil {
			h.sets[name] = &polSetHave{shape: setShape(&sw.proto), elems: sw.elems}
		} else {
			delete(h.sets, name)
		}
	}
}
