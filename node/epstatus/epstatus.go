// Package epstatus is the wire contract of `brindle node endpoints`: the agent serves it on
// its status socket, the CLI prints it. No dependency beyond the standard library and
// bgp/bgpstatus (the status socket's client, itself standard library only), so the lean CLI
// build stays lean.
package epstatus

import (
	"context"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
)

// Path is where the agent serves Reply on its status socket (next to BGP status).
const Path = "/v1/policy/endpoints"

// Reply lists this node's workload endpoints.
type Reply struct {
	// Programmed is false until the agent has applied policy once.
	Programmed bool       `json:"programmed"`
	Endpoints  []Endpoint `json:"endpoints"`
	// HostEndpoints are this node's host endpoints (absent from older agents' replies).
	HostEndpoints []HostEndpoint `json:"hostEndpoints,omitempty"`
}

// HostEndpoint is one of this node's HostEndpoints: per hook what applies, in the order the
// kernel evaluates the hooks.
type HostEndpoint struct {
	Iface       string     `json:"iface"` // or "*"
	Name        string     `json:"name"`
	ExpectedIPs []string   `json:"expectedIPs,omitempty"`
	Hooks       []HostHook `json:"hooks"`
}

// HostHook is one hook of a host endpoint: "untracked-ingress", "untracked-egress",
// "prednat", "ingress" (to the host), "egress" (from the host), "forward-ingress",
// "forward-egress". Policies' Chain is the kernel chain jumped to (a marked copy where Allow
// only marks).
type HostHook struct {
	Hook string `json:"hook"`
	Direction
}

// Endpoint is one local workload endpoint.
type Endpoint struct {
	Iface     string    `json:"iface"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name"`
	Addrs     []string  `json:"addrs"`
	Ingress   Direction `json:"ingress"`
	Egress    Direction `json:"egress"`
}

// Direction is what applies in one direction, in order: tiers with their policies, then
// profiles. Chain holds that procedure (shared by the endpoints with the same policies, so
// its counters, such as drops at the end of a tier, are theirs together); Own is the
// endpoint's own chain, if any (egress: anti-spoofing). Steps are both chains' counters.
type Direction struct {
	Own      string    `json:"own,omitempty"`
	Chain    string    `json:"chain"`
	Tiers    []Tier    `json:"tiers"`
	Profiles []Policy  `json:"profiles"`
	Steps    []Counter `json:"steps"`
}

// Tier is one tier that has policies selecting the endpoint in this direction.
type Tier struct {
	Name          string   `json:"name"`
	EndOfTierPass bool     `json:"endOfTierPass,omitempty"`
	Policies      []Policy `json:"policies"`
}

// Policy is one policy or profile with the counters of its rules.
type Policy struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace,omitempty"`
	Chain     string    `json:"chain"`
	Rules     []Counter `json:"rules"`
}

// Counter is one kernel rule's counter. Rule is "entered" for the packets that reached the
// chain, "r<i>:<action>" for the API rule at index i, or the step's name in an endpoint
// chain (e.g. "tier-drop:default", "no-policy-allowed", "spoofed-source").
type Counter struct {
	Rule    string `json:"rule"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Fetch asks the agent on the unix socket at path.
func Fetch(ctx context.Context, path string) (*Reply, error) {
	var r Reply
	if err := bgpstatus.GetJSON(ctx, path, Path, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
