package policy

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/brindle-net/brindle/api"
)

// item is anything selector sets can contain: a workload endpoint of any node, a NetworkSet or
// a GlobalNetworkSet.
type item struct {
	key     itemKey
	own     map[string]string // own labels, as the syncer presents them
	parents []string          // profiles whose labelsToApply it inherits, in order
	labels  map[string]string // own labels over inherited ones
	nets    []netip.Prefix    // endpoint addresses (host prefixes) or network set nets
	ports   []namedPort
	// Local workload endpoints only.
	local bool
	iface string
	ep    *api.WorkloadEndpoint
	pols  map[policyKey]struct{} // policies whose selector matches it
}

type namedPort struct {
	name  string
	proto uint8
	port  uint16
}

func (a *item) sameMembership(b *item) bool {
	return slices.Equal(a.nets, b.nets) && slices.Equal(a.ports, b.ports) && maps.Equal(a.labels, b.labels)
}

// workloadItem builds the item of a WorkloadEndpoint as felix sees it
// (updateprocessors/workloadendpointprocessor.go): pcns./pcsa. labels of its own are dropped
// (they may only come from profiles), its service account becomes a label, and the namespace
// and orchestrator labels are present as Calico's clientv3 always stores them
// (libcalico-go/lib/clientv3/workloadendpoint.go updateLabelsForStorage), whoever wrote the record.
func (s *state) workloadItem(w *api.WorkloadEndpoint) *item {
	it := &item{key: itemKey{kind: kindWorkload, namespace: w.Namespace, name: w.Name}}
	it.own = make(map[string]string, len(w.Labels)+2)
	for k, v := range w.Labels {
		if !strings.HasPrefix(k, nsLabelPrefix) && !strings.HasPrefix(k, saLabelPrefix) {
			it.own[k] = v
		}
	}
	if w.Spec.ServiceAccountName != "" {
		it.own[labelServiceAccount] = w.Spec.ServiceAccountName
	}
	if w.Namespace != "" {
		it.own[labelNamespace] = w.Namespace
	}
	if w.Spec.Orchestrator != "" {
		it.own[labelOrchestrator] = w.Spec.Orchestrator
	}
	it.parents = w.Spec.Profiles
	for _, n := range w.Spec.IPNetworks {
		if p, err := parseNet(n); err == nil && p.Bits() == p.Addr().BitLen() {
			it.nets = append(it.nets, p)
		}
	}
	for _, p := range w.Spec.Ports {
		if pn, err := protoNum(&p.Protocol); err == nil && pn != nil && p.Name != "" {
			it.ports = append(it.ports, namedPort{p.Name, *pn, p.Port})
		}
	}
	if w.Spec.Node == s.opts.Node && w.Spec.InterfaceName != "" {
		it.local, it.iface, it.ep = true, w.Spec.InterfaceName, w
	}
	return it
}

func (s *state) setWorkload(w *api.WorkloadEndpoint) { s.setItem(s.workloadItem(w)) }

// setNetworkSet: a NetworkSet carries its namespace label and inherits from the namespace's
// profile (updateprocessors/networksetprocessor.go).
func (s *state) setNetworkSet(n *api.NetworkSet) {
	it := &item{key: itemKey{kind: kindNetworkSet, namespace: n.Namespace, name: n.Name}}
	it.own = make(map[string]string, len(n.Labels)+1)
	maps.Copy(it.own, n.Labels)
	it.own[labelNamespace] = n.Namespace
	it.parents = []string{namespaceProfilePfx + n.Namespace}
	it.nets, _ = parseNetsLenient(n.Spec.Nets)
	s.setItem(it)
}

// setHostEndpoint: host endpoints are members of selector and named-port sets through their
// expectedIPs (updateprocessors/hostendpointprocessor.go); enforcing policy on host interfaces
// is not part of the Program yet.
func (s *state) setHostEndpoint(h *api.HostEndpoint) {
	it := &item{key: itemKey{kind: kindHostEndpoint, name: h.Name}}
	it.own = maps.Clone(map[string]string(h.Labels))
	it.parents = h.Spec.Profiles
	it.nets, _ = parseNetsLenient(h.Spec.ExpectedIPs)
	for _, p := range h.Spec.Ports {
		if pn, err := protoNum(&p.Protocol); err == nil && pn != nil && p.Name != "" {
			it.ports = append(it.ports, namedPort{p.Name, *pn, p.Port})
		}
	}
	s.setItem(it)
}

func (s *state) setGlobalNetworkSet(n *api.GlobalNetworkSet) {
	it := &item{key: itemKey{kind: kindGlobalNetworkSet, name: n.Name}}
	it.own = maps.Clone(map[string]string(n.Labels))
	it.nets, _ = parseNetsLenient(n.Spec.Nets)
	s.setItem(it)
}

// parseNetsLenient keeps the nets that parse: a broken one in a stored set loses only itself.
func parseNetsLenient(ss []string) ([]netip.Prefix, int) {
	var out []netip.Prefix
	bad := 0
	for _, n := range ss {
		if p, err := parseNet(n); err == nil {
			out = append(out, p)
		} else {
			bad++
		}
	}
	return out, bad
}

// mergeLabels gives the item's own labels priority over inherited ones, and earlier profiles
// over later ones (felix/labelindex/label_inheritance_index.go).
func (s *state) mergeLabels(it *item) map[string]string {
	if len(it.parents) == 0 {
		return it.own
	}
	var out map[string]string
	for _, pn := range it.parents {
		pr := s.profiles[pn]
		if pr == nil || pr.p == nil || len(pr.p.Spec.LabelsToApply) == 0 {
			continue
		}
		if out == nil {
			out = maps.Clone(it.own)
			if out == nil {
				out = map[string]string{}
			}
		}
		for k, v := range pr.p.Spec.LabelsToApply {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	if out == nil {
		return it.own
	}
	return out
}

func (s *state) setItem(it *item) {
	it.labels = s.mergeLabels(it)
	old := s.items[it.key]
	if old != nil {
		s.unlinkParents(old)
	}
	s.items[it.key] = it
	s.linkParents(it)
	// Sets key their members by item, so an item whose labels, nets and ports are unchanged
	// (a resync, a status-only edit) stays where it is.
	if old == nil || !old.sameMembership(it) {
		if old != nil {
			s.leaveSets(old)
		}
		s.joinSets(it)
	}
	s.localUpdate(old, it)
}

func (s *state) deleteItem(k itemKey) {
	old := s.items[k]
	if old == nil {
		return
	}
	s.unlinkParents(old)
	s.leaveSets(old)
	delete(s.items, k)
	s.localUpdate(old, nil)
}

func (s *state) linkParents(it *item) {
	for _, pn := range it.parents {
		pr := s.profile(pn)
		pr.children[it.key] = struct{}{}
	}
}

func (s *state) unlinkParents(it *item) {
	for _, pn := range it.parents {
		if pr := s.profiles[pn]; pr != nil {
			delete(pr.children, it.key)
			s.gcProfile(pn, pr)
		}
	}
}

// relabel recomputes an item's labels after a profile's labelsToApply changed.
func (s *state) relabel(k itemKey) {
	it := s.items[k]
	if it == nil {
		return
	}
	labels := s.mergeLabels(it)
	if maps.Equal(labels, it.labels) {
		return
	}
	n := *it
	n.labels = labels
	s.leaveSets(it)
	s.items[k] = &n
	s.joinSets(&n)
	s.localUpdate(it, &n)
}
