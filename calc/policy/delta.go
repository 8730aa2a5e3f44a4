package policy

import "net/netip"

// Delta is what changed in the Program between two Flushes. Applying it to the previous Program
// gives the new one. The first Flush after New has Full set (and also lists everything as
// added), so a renderer may write the Program whole or from the delta.
//
// A renderer that writes one transaction should order it so that references stay valid: new
// sets with their members, member changes, new and changed chains, changed endpoints, then
// removed endpoints, removed chains, removed sets.
type Delta struct {
	// Full: first Flush; the renderer should converge the whole Program (e.g. after a restart
	// it may find an older ruleset of its own in the kernel).
	Full bool
	// Sets that were created, changed or removed, by ID.
	Sets map[SetID]SetDelta
	// ChainsChanged are chains that are new or whose rules changed: write them whole.
	ChainsChanged []ChainID
	// ChainsRemoved are chains no longer in the Program.
	ChainsRemoved []ChainID
	// EndpointsChanged are interfaces that are new or whose Endpoint changed.
	EndpointsChanged []string
	// EndpointsRemoved are interfaces no longer in the Program.
	EndpointsRemoved []string
	// ConfigChanged: Program.Config differs from the previous Flush.
	ConfigChanged bool
	// Warnings are problems found since the previous Flush, each reported once per policy or
	// profile version (e.g. a rule skipped because brindle cannot enforce its http match).
	// The agent logs them; the Model never logs.
	Warnings []Warning
}

// SetDelta is one set's change. For a new set, New is set and the Add lists hold all members;
// for a removed set, Removed is set and the lists are empty.
type SetDelta struct {
	New, Removed bool
	// AddNets / DelNets: members of a SetNets set added / removed (already disjoint with the
	// remaining members: apply deletions first, then additions).
	AddNets, DelNets []netip.Prefix
	// AddMembers / DelMembers: members of a SetAddrPorts set added / removed.
	AddMembers, DelMembers []AddrPort
}

// Empty reports whether the delta carries no change at all.
func (d *Delta) Empty() bool {
	return !d.Full && len(d.Sets) == 0 && len(d.ChainsChanged) == 0 && len(d.ChainsRemoved) == 0 &&
		len(d.EndpointsChanged) == 0 && len(d.EndpointsRemoved) == 0 && !d.ConfigChanged
}

// Warning is a reason why part of a policy or profile is not enforced as written.
type Warning struct {
	// Kind is "GlobalNetworkPolicy", "NetworkPolicy" or "Profile"; Namespace is set for
	// NetworkPolicy.
	Kind, Namespace, Name string
	// Reason names the rule and the problem, e.g.
	// `ingress[2] skipped: http match (application layer policy) is not enforced by brindle`.
	Reason string
}

func (w Warning) String() string {
	n := w.Name
	if w.Namespace != "" {
		n = w.Namespace + "/" + n
	}
	return w.Kind + " " + n + ": " + w.Reason
}
