package policy

import "net/netip"

// AllInterfaces is the HostEndpoint interface name that stands for every interface of the host
// (Calico's interfaceName "*"): its policy applies to traffic to and from the host itself through
// any interface that has no host endpoint of its own, never to forwarded traffic
// (felix/dataplane/linux/endpoint_mgr.go allInterfaces).
const AllInterfaces = "*"

// HostEndpoint is one of this node's HostEndpoints and what applies to it, by hook. A renderer
// evaluates, for a packet through Iface (or any interface, for AllInterfaces):
//
//   - the failsafe ports (Config.FailsafeIn/Out) before anything else, in every hook, so no
//     policy can cut them;
//   - Untracked (doNotTrack policies) before connection tracking, both directions: Allow means
//     accept and do not track (the reply direction must be allowed too), Deny drops, falling off
//     the end gives no verdict (the packet continues to the later hooks);
//   - PreDNAT (preDNAT policies) on ingress before DNAT: Allow accepts the packet for the
//     normal and forward policy as well, Deny drops, falling off gives no verdict;
//   - Ingress / Egress for packets to / from the host itself (input / output): as an Endpoint's
//     Direction, profiles included, so a host endpoint with no policy and no profile drops
//     everything but failsafe traffic;
//   - ForwardIngress / ForwardEgress (applyOnForward policies) for packets forwarded in from /
//     out to Iface: tiers as in a Direction (end-of-tier drop), no profiles; falling off the last
//     tier, and a direction with no tier at all, gives no verdict (forwarded traffic is allowed
//     unless an applyOnForward policy applies). Empty for AllInterfaces.
//
// In Untracked and PreDNAT every Tier has EndOfTierPass set (felix gives them no end-of-tier
// drop) and Profiles is empty; after the last tier the packet gets no verdict, not a drop.
type HostEndpoint struct {
	// Iface is the interface name or AllInterfaces, the key in Program.HostEndpoints.
	Iface string
	// Name is the HostEndpoint resource's name (for display).
	Name string
	// ExpectedIPs are spec.expectedIPs (informative: anti-spoofing does not apply to hosts).
	ExpectedIPs []netip.Prefix
	// Ingress: to the host from Iface; Egress: from the host out of Iface.
	Ingress, Egress Direction
	// ForwardIngress: forwarded packets arriving on Iface; ForwardEgress: leaving by Iface.
	ForwardIngress, ForwardEgress Direction
	// PreDNAT applies to packets arriving on Iface, before DNAT.
	PreDNAT Direction
	// UntrackedIngress / UntrackedEgress: packets arriving on / leaving by Iface, before
	// conntrack.
	UntrackedIngress, UntrackedEgress Direction
}

// Failsafe is one failsafe port: a packet of Proto to Port (inbound: destination port of a packet
// to the host; outbound: destination port of a packet from the host), from (inbound) or to
// (outbound) Net when Net is valid, is accepted before any host endpoint policy. In the raw
// (untracked) hook the reply direction is accepted as well (source port), so that a doNotTrack
// policy cannot untrack half of a failsafe connection (felix/rules/static.go failsafeInChain).
type Failsafe struct {
	Proto uint8 // 6 TCP, 17 UDP, 132 SCTP
	Port  uint16
	Net   netip.Prefix // zero: any address
}

// hepKey keeps host endpoints apart from workload interfaces in the Model's interface index
// (a workload and a host endpoint may name the same interface).
func hepKey(iface string) string { return "\x00hep:" + iface }

func isHepKey(k string) (string, bool) {
	const p = "\x00hep:"
	if len(k) > len(p) && k[:len(p)] == p {
		return k[len(p):], true
	}
	return "", false
}

func forHostChains(h *HostEndpoint, f func(ChainID)) {
	for _, d := range []*Direction{&h.Ingress, &h.Egress, &h.ForwardIngress, &h.ForwardEgress,
		&h.PreDNAT, &h.UntrackedIngress, &h.UntrackedEgress} {
		forDirection(d, f)
	}
}
