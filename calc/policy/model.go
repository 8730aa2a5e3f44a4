package policy

import "github.com/brindle-net/brindle/api"

// Options configure a Model.
type Options struct {
	// Node is this node's name: WorkloadEndpoints whose spec.node equals it are local and get
	// an Endpoint in the Program; all others only feed selector sets.
	Node string
	// IPv6 makes the Model emit IPv6 rules and sets; without it only IPv4 is emitted (and a
	// renderer drops IPv6 from workloads by the end-of-direction drop).
	IPv6 bool
}

// Model holds the policy state of the cluster and computes the Program incrementally. It is not
// safe for concurrent use: the agent calls it from its one loop. Set and Delete calls are cheap
// (no I/O, bounded work: an endpoint's labels against the selectors in use, a policy's selector
// against the local endpoints); Flush does the rest and returns the Program and what changed.
//
// Objects passed to Set calls are kept by reference: the caller must not modify them afterwards
// (the watch decodes a fresh object per event). Objects are expected to be validated and
// defaulted as the store does on write; a field the Model cannot use (a broken selector, an
// unparseable net) makes that rule or policy inert and yields a Warning, never a panic.
type Model struct {
	st state
}

// New returns an empty Model.
func New(o Options) *Model {
	m := &Model{}
	m.st.init(o)
	return m
}

// SetTier adds or replaces a Tier. A tier that policies name but that does not exist sorts
// after every existing tier and ends with a drop, as in felix; the "default" tier, which Calico
// always creates, is assumed (order 1,000,000, defaultAction Deny) until it is set.
func (m *Model) SetTier(t *api.Tier) { m.st.setTier(t) }

// DeleteTier removes a Tier.
func (m *Model) DeleteTier(name string) { m.st.deleteTier(name) }

// SetGlobalNetworkPolicy adds or replaces a GlobalNetworkPolicy.
func (m *Model) SetGlobalNetworkPolicy(p *api.GlobalNetworkPolicy) { m.st.setGNP(p) }

// DeleteGlobalNetworkPolicy removes a GlobalNetworkPolicy by its stored name.
func (m *Model) DeleteGlobalNetworkPolicy(name string) { m.st.deletePolicy(policyKey{name: name}) }

// SetNetworkPolicy adds or replaces a (namespaced) NetworkPolicy.
func (m *Model) SetNetworkPolicy(p *api.NetworkPolicy) { m.st.setNP(p) }

// DeleteNetworkPolicy removes a NetworkPolicy by namespace and stored name.
func (m *Model) DeleteNetworkPolicy(namespace, name string) {
	m.st.deletePolicy(policyKey{namespace: namespace, name: name, namespaced: true})
}

// SetProfile adds or replaces a Profile (its rules and labelsToApply).
func (m *Model) SetProfile(p *api.Profile) { m.st.setProfile(p) }

// DeleteProfile removes a Profile.
func (m *Model) DeleteProfile(name string) { m.st.deleteProfile(name) }

// SetNetworkSet adds or replaces a (namespaced) NetworkSet.
func (m *Model) SetNetworkSet(s *api.NetworkSet) { m.st.setNetworkSet(s) }

// DeleteNetworkSet removes a NetworkSet.
func (m *Model) DeleteNetworkSet(namespace, name string) {
	m.st.deleteItem(itemKey{kind: kindNetworkSet, namespace: namespace, name: name})
}

// SetGlobalNetworkSet adds or replaces a GlobalNetworkSet.
func (m *Model) SetGlobalNetworkSet(s *api.GlobalNetworkSet) { m.st.setGlobalNetworkSet(s) }

// DeleteGlobalNetworkSet removes a GlobalNetworkSet.
func (m *Model) DeleteGlobalNetworkSet(name string) {
	m.st.deleteItem(itemKey{kind: kindGlobalNetworkSet, name: name})
}

// SetWorkloadEndpoint adds or replaces a WorkloadEndpoint of any node: every endpoint feeds
// selector and named-port sets; those of Options.Node also get an Endpoint in the Program.
func (m *Model) SetWorkloadEndpoint(w *api.WorkloadEndpoint) { m.st.setWorkload(w) }

// DeleteWorkloadEndpoint removes a WorkloadEndpoint.
func (m *Model) DeleteWorkloadEndpoint(namespace, name string) {
	m.st.deleteItem(itemKey{kind: kindWorkload, namespace: namespace, name: name})
}

// SetHostEndpoint adds or replaces a HostEndpoint: its expectedIPs (and named ports) join the
// sets its labels select. Policy on host interfaces themselves is not computed yet.
func (m *Model) SetHostEndpoint(h *api.HostEndpoint) { m.st.setHostEndpoint(h) }

// DeleteHostEndpoint removes a HostEndpoint.
func (m *Model) DeleteHostEndpoint(name string) {
	m.st.deleteItem(itemKey{kind: kindHostEndpoint, name: name})
}

// SetConfig sets the FelixConfiguration-derived values (see ConfigFrom).
func (m *Model) SetConfig(c Config) { m.st.setConfig(c) }

// Flush computes what the updates since the previous Flush changed and returns the Program (owned
// by the Model, see Program) and the Delta.
func (m *Model) Flush() (*Program, Delta) { return m.st.flush() }
