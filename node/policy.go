package node

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// policyPrefixes are the datastore keys the policy model follows (besides workload
// endpoints and FelixConfiguration, which the agent watches anyway).
func policyPrefixes() []string {
	var out []string
	for _, plural := range []string{"tiers", "globalnetworkpolicies", "networkpolicies", "profiles", "networksets", "globalnetworksets", "hostendpoints"} {
		out = append(out, store.ResourcePrefix+plural+"/")
	}
	return out
}

// policyCache feeds calc/policy's Model from watch events and remembers what it needs to
// delete objects again (the watch's deletion names the key; the Model wants the identity
// it was given).
type policyCache struct {
	model  *policy.Model
	ids    map[string]policyID // watch key -> identity as set
	cfg    policy.Config
	dirty  bool
	failed bool

	mu   sync.Mutex
	view *epView // what `brindle node endpoints` shows, from the last applied Program

	// prog is the Model's Program as of the last Flush, for `brindle explain`'s verdicts.
	// The Model changes it only inside Flush, which holds progMu for writing; readers on
	// other goroutines hold it for reading.
	progMu sync.RWMutex
	prog   *policy.Program
}

type policyID struct {
	kind, namespace, name string
}

func newPolicyCache(me string) *policyCache {
	// dirty from the start: the first sync programs the table even with no policy at all.
	return &policyCache{model: policy.New(policy.Options{Node: me, IPv6: true}), ids: map[string]policyID{}, dirty: true}
}

// event folds one watch event into the Model; cheap (the Model defers work to Flush).
func (p *policyCache) event(ev store.Event) {
	if ev.Kind == nil {
		return
	}
	kind := ev.Kind.Kind
	switch kind {
	case "Tier", "GlobalNetworkPolicy", "NetworkPolicy", "Profile", "NetworkSet", "GlobalNetworkSet", "WorkloadEndpoint", "HostEndpoint":
	default:
		return
	}
	p.dirty = true
	if old, ok := p.ids[ev.Key]; ok && (ev.Type == store.Deleted || ev.Resource == nil) {
		p.remove(old)
		delete(p.ids, ev.Key)
		return
	}
	if ev.Type == store.Deleted || ev.Resource == nil {
		return
	}
	switch r := ev.Resource.(type) {
	case *api.Tier:
		p.model.SetTier(r)
	case *api.GlobalNetworkPolicy:
		p.model.SetGlobalNetworkPolicy(r)
	case *api.NetworkPolicy:
		p.model.SetNetworkPolicy(r)
	case *api.Profile:
		p.model.SetProfile(r)
	case *api.NetworkSet:
		p.model.SetNetworkSet(r)
	case *api.GlobalNetworkSet:
		p.model.SetGlobalNetworkSet(r)
	case *api.WorkloadEndpoint:
		p.model.SetWorkloadEndpoint(r)
	case *api.HostEndpoint:
		p.model.SetHostEndpoint(r) // its expectedIPs and ports feed selector sets
	default:
		return
	}
	meta := ev.Resource.GetObjectMeta()
	p.ids[ev.Key] = policyID{kind: kind, namespace: meta.Namespace, name: meta.Name}
}

func (p *policyCache) remove(id policyID) {
	switch id.kind {
	case "Tier":
		p.model.DeleteTier(id.name)
	case "GlobalNetworkPolicy":
		p.model.DeleteGlobalNetworkPolicy(id.name)
	case "NetworkPolicy":
		p.model.DeleteNetworkPolicy(id.namespace, id.name)
	case "Profile":
		p.model.DeleteProfile(id.name)
	case "NetworkSet":
		p.model.DeleteNetworkSet(id.namespace, id.name)
	case "GlobalNetworkSet":
		p.model.DeleteGlobalNetworkSet(id.name)
	case "WorkloadEndpoint":
		p.model.DeleteWorkloadEndpoint(id.namespace, id.name)
	case "HostEndpoint":
		p.model.DeleteHostEndpoint(id.name)
	}
}

// syncPolicy flushes the Model and programs what changed: one nftables transaction. It
// runs when policy inputs changed, after a failure, and when the dataplane asks for a
// resync (a periodic one, or the table deleted by someone else).
func (a *Agent) syncPolicy(ctx context.Context) error {
	if a.dp == nil || a.cache.pol == nil {
		return nil
	}
	p := a.cache.pol
	cfg := policy.ConfigFrom(a.cache.felix["default"], a.cache.felix["node."+a.name])
	cfg.HostIPIP, cfg.HostVXLAN = a.cache.encapInUse()
	if cfg != p.cfg {
		p.model.SetConfig(cfg)
		p.cfg, p.dirty = cfg, true
	}
	if !p.dirty && !p.failed && !a.dp.PolicyStale() {
		return nil
	}
	start := time.Now()
	p.progMu.Lock()
	prog, delta := p.model.Flush()
	p.prog = prog
	p.progMu.Unlock()
	modelTook := time.Since(start)
	for _, w := range delta.Warnings {
		a.log.Warn("policy not enforced as written", zap.String("what", w.String()))
	}
	p.dirty = false
	err := a.dp.ApplyPolicyProgram(ctx, prog, delta)
	p.failed = err != nil
	a.log.Debug("policy applied", zap.Int("endpoints", len(prog.Endpoints)), zap.Int("chains", len(prog.Chains)),
		zap.Duration("model", modelTook), zap.Duration("took", time.Since(start)), zap.Error(err))
	if err != nil {
		return fmt.Errorf("programming policy: %w", err)
	}
	p.setView(buildEPView(prog))
	a.metrics.policyApplied(prog)
	return nil
}

// encapInUse reports whether an enabled IP pool uses IPIP or VXLAN: host endpoint policy then
// lets the tunnel packets through (calc/policy Config.HostIPIP/HostVXLAN).
func (c *cache) encapInUse() (ipip, vxlan bool) {
	for _, p := range c.pools {
		if p.Spec.Disabled {
			continue
		}
		ipip = ipip || p.Spec.IPIPMode != "" && p.Spec.IPIPMode != api.EncapNever
		vxlan = vxlan || p.Spec.VXLANMode != "" && p.Spec.VXLANMode != api.EncapNever
	}
	return ipip, vxlan
}
