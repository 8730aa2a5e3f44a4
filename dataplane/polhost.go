package dataplane

import (
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// Host endpoints (HostEndpoint, felix/rules/endpoints.go HostEndpointTo*Chains and
// felix/rules/static.go). Written only while the node has a host endpoint. Every base chain
// starts with the failsafe ports, then dispatches on the interface through a verdict map to
// one chain per interface and hook ("he-<hook>-<iface>"); "*" is the fallback rule after the
// map, for every interface but lo and workload interfaces, and never for forwarded packets.
const (
	chainHostRawPre         = "hb-raw-pre" // hook prerouting, priority raw: doNotTrack ingress
	chainHostRawOut         = "hb-raw-out" // hook output, priority raw: doNotTrack egress
	chainHostPreDNAT        = "hb-prednat" // hook prerouting, priority -110 (before dstnat): preDNAT
	chainHostInput          = "hb-input"   // hook input, priority filter: to the host
	chainHostOutput         = "hb-output"  // hook output, priority filter: from the host
	chainHostForward        = "hb-forward" // hook forward, priority filter: applyOnForward
	hostAll                 = "*"          // calc/policy.AllInterfaces
	hostAllChain            = ".all"       // its chain suffix
	prioPreDNAT             = -110         // before nat dstnat (-100), so before portmap's DNAT
	markAccept       uint32 = 0x10000      // felix's default accept mark: allowed by raw or preDNAT policy
)

// hostHooks: per hook, its base chain, the map's key (iifname or oifname), whether Allow
// only marks (policies jumped through their marked copies), and what the per-interface
// chain does at the end.
var hostHooks = []struct {
	key, base    string
	in, marked   bool
	fwd, tracked bool
}{
	{"ri", chainHostRawPre, true, true, false, false},
	{"ro", chainHostRawOut, false, true, false, false},
	{"pd", chainHostPreDNAT, true, true, false, false},
	{"i", chainHostInput, true, false, false, true},
	{"o", chainHostOutput, false, false, false, true},
	{"fi", chainHostForward, true, true, true, false},
	{"fo", chainHostForward, false, true, true, false},
}

func (h PolHostEndpoint) dir(key string) PolDirection {
	switch key {
	case "ri":
		return h.RawIn
	case "ro":
		return h.RawOut
	case "pd":
		return h.PreDNAT
	case "i":
		return h.Ingress
	case "o":
		return h.Egress
	case "fi":
		return h.FwdIn
	}
	return h.FwdOut
}

func hostChain(key, iface string) string {
	if iface == hostAll {
		iface = hostAllChain
	}
	return "he-" + key + "-" + iface
}

func hostMap(key string) string { return "hm-" + key }

// markedChain is a policy chain's copy whose Allow sets markAccept and returns, for hooks
// where an Allow must not end the evaluation at once (notrack first; the forward hook checks
// the outgoing interface after the incoming one; preDNAT's Allow also skips the later hooks).
func markedChain(name string) string { return "m-" + name }

func (w *polWant) addHost(spec PolicySpec) {
	marked := map[string]bool{}
	maps := map[string][]nftables.SetElement{}
	hasAll := map[string]bool{}
	for iface, h := range spec.HostEndpoints {
		for _, hk := range hostHooks {
			d := h.dir(hk.key)
			if (hk.fwd || !hk.tracked) && len(d.Tiers) == 0 && len(d.Profiles) == 0 {
				continue // nothing to do in this hook: no verdict
			}
			if hk.fwd && iface == hostAll {
				continue
			}
			name := hostChain(hk.key, iface)
			hk, d, inv := hk, d, spec.DropInvalid
			w.chains[name] = &polChainWant{hash: contentHash([]any{polRenderVersion, "host", hk.key, d, inv}),
				render: func(setRef) []polRuleOut { return hostEpRules(d, hk.key, hk.marked, hk.tracked, inv) }}
			if hk.marked {
				for _, t := range d.Tiers {
					for _, p := range t.Policies {
						marked[p] = true
					}
				}
			}
			if iface == hostAll {
				hasAll[hk.key] = true
				continue
			}
			kind := expr.VerdictGoto
			if hk.fwd {
				kind = expr.VerdictJump
			}
			maps[hk.key] = append(maps[hk.key], nftables.SetElement{Key: ifnameKey(iface), VerdictData: &expr.Verdict{Kind: kind, Chain: name}})
		}
	}
	for p := range marked {
		w.chains[markedChain(p)] = markedChainWant(spec.Chains[p].Rules)
	}
	vmap := nftables.Set{KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true, KeyByteOrder: binaryutil.NativeEndian}
	for _, hk := range hostHooks {
		w.sets[hostMap(hk.key)] = &polSetWant{proto: named(vmap, hostMap(hk.key)), elems: elemMap(maps[hk.key])}
	}
	in, out := spec.FailsafeIn, spec.FailsafeOut
	tun := hostTunnels{ipip: spec.HostIPIP, vxlan: spec.HostVXLAN, port: spec.epOpts().VXLANPort}
	for _, b := range []struct {
		name string
		hook *nftables.ChainHook
		prio *nftables.ChainPriority
	}{
		{chainHostRawPre, nftables.ChainHookPrerouting, nftables.ChainPriorityRaw},
		{chainHostRawOut, nftables.ChainHookOutput, nftables.ChainPriorityRaw},
		{chainHostPreDNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityRef(prioPreDNAT)},
		{chainHostInput, nftables.ChainHookInput, nil},
		{chainHostOutput, nftables.ChainHookOutput, nil},
		{chainHostForward, nftables.ChainHookForward, nil},
	} {
		b, all := b, hasAll
		w.chains[b.name] = &polChainWant{hash: contentHash([]any{polRenderVersion, b.name, in, out, all, tun.ipip, tun.vxlan, tun.port}), hook: b.hook, prio: b.prio,
			render: func(sets setRef) []polRuleOut { return hostBaseRules(b.name, in, out, tun, all, sets) }}
	}
}

// hostEpRules renders one interface's chain for one hook (felix/rules/endpoints.go
// endpointIptablesChain): conntrack in the tracked hooks (invalid dropped unless
// disableConntrackInvalidCheck), then per tier its policies (the
// marked copies where Allow must not end evaluation), the end-of-tier drop unless the tier
// passes, then in the tracked hooks the profiles and the final drop.
func hostEpRules(d PolDirection, key string, marked, tracked, dropInvalid bool) []polRuleOut {
	var out []polRuleOut
	if tracked {
		out = append(out, polRule("ct-established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), one(accept)))
		if dropInvalid {
			out = append(out, polRule("ct-invalid", ctState(expr.CtStateBitINVALID), counted(drop)))
		}
	}
	onAccept := []expr.Any{ret}
	switch key {
	case "ri", "ro":
		onAccept = []expr.Any{&expr.Notrack{}, accept}
	case "pd":
		onAccept = []expr.Any{accept} // the mark stays: input and forward accept it at once
	}
	for _, t := range d.Tiers {
		out = append(out, polRule("tier:"+t.Name, markSet(markPass, false)))
		for _, p := range t.Policies {
			if !marked {
				out = append(out, polRule("policy:"+p, markHas(markPass, false), one(jump(p))))
				continue
			}
			out = append(out, polRule("policy:"+p, markHas(markPass, false), one(jump(markedChain(p)))),
				polRule("accepted:"+p, markHas(markAccept, true), onAccept))
		}
		if !t.PassByDefault {
			out = append(out, polRule("tier-drop:"+t.Name, markHas(markPass, false), counted(drop)))
		}
	}
	if tracked {
		for _, p := range d.Profiles {
			out = append(out, polRule("profile:"+p, one(jump(p))))
		}
		out = append(out, polRule("no-policy-allowed", counted(drop)))
	}
	return out
}

func markedChainWant(rules []PolRule) *polChainWant {
	return &polChainWant{hash: contentHash([]any{polRenderVersion, "marked", rules}),
		render: func(sets setRef) []polRuleOut { return markedRules(rules, sets) }}
}

// markedRules renders a policy's rules with Allow as "set the accept mark and return".
func markedRules(rules []PolRule, sets setRef) []polRuleOut {
	var out []polRuleOut
	for _, r := range rules {
		for _, ro := range renderRule(r, false, sets) {
			if n := len(ro.exprs); n > 0 && ro.exprs[n-1] == accept {
				ro.exprs = append(slices.Clone(ro.exprs[:n-1]), append(markSet(markAccept, true), ret)...)
			}
			out = append(out, ro)
		}
	}
	return out
}

// HostHookChains names, for display, a host endpoint's chain in one hook (calc/policy's
// direction names: "untracked-ingress", "untracked-egress", "prednat", "ingress", "egress",
// "forward-ingress", "forward-egress") and whether its policies are jumped to through their
// marked copies (MarkedChain).
func HostHookChains(hook, iface string) (chain string, marked bool) {
	key := map[string]string{"untracked-ingress": "ri", "untracked-egress": "ro", "prednat": "pd", "ingress": "i",
		"egress": "o", "forward-ingress": "fi", "forward-egress": "fo"}[hook]
	for _, hk := range hostHooks {
		if hk.key == key {
			return hostChain(key, iface), hk.marked
		}
	}
	return "", false
}

// MarkedChain is markedChain for display.
func MarkedChain(name string) string { return markedChain(name) }

// flushHostMaps empties the host verdict maps about to be deleted: their elements refer to
// chains deleted before them in the same transaction.
func flushHostMaps(c *nftables.Conn, t *nftables.Table, goneSets []string) {
	for _, name := range goneSets {
		if strings.HasPrefix(name, "hm-") {
			c.FlushSet(&nftables.Set{Name: name, Table: t})
		}
	}
}

// priority is a base chain's priority: filter (0) unless the chain says otherwise (the host
// raw and pre-DNAT chains).
func (cw *polChainWant) priority() *nftables.ChainPriority {
	if cw.prio != nil {
		return cw.prio
	}
	return nftables.ChainPriorityFilter
}
