package cni

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// The IPAM broker. A runtime that starts 100 containers at once on a host starts 100 IPAM
// plugins, and on a small host their CPU is what the burst waits for: each process dials
// etcd (gRPC and HTTP/2 set-up, protobuf) for two requests. When the node agent runs on the
// host it holds a datastore connection already, so calico-ipam's ADD hands the call to the
// agent over a root-only unix socket in the state directory; the agent runs the very same
// ADD (ipamAssign) on its connection, where concurrent calls are combined into shared block
// writes (ipam/batch.go), and sends back the result or the CNI error.
//
// Nothing rests on the broker for correctness. The agent's writes are the same
// compare-and-swap transactions the plugin would make, and the handle (network name +
// container ID) is created only if absent, so a call the agent dropped half-way is simply
// repeated by the plugin on its own (an ADD under an existing handle returns its
// addresses). The plugin goes to etcd itself whenever the agent is absent, does not take
// the call within brokerAccept, drops the connection, declines (another datastore or node),
// or has not answered within brokerWait.

// BrokerSocketName is the agent's IPAM socket in the state directory.
const BrokerSocketName = "ipam.sock"

// brokerRequest is a CNI call as the plugin received it, with what it resolved on its own
// side: the node name and the datastore, which the agent must share to take the call.
type brokerRequest struct {
	Verb      string       `json:"verb"`
	Args      skel.CmdArgs `json:"args"`
	Node      string       `json:"node"`
	Endpoints []string     `json:"endpoints"`
}

// brokerReply is either the acceptance (Accepted, sent as soon as the request is read), a
// refusal (Declined: do it yourself), or the outcome: the result JSON or the CNI error.
type brokerReply struct {
	Accepted bool            `json:"accepted,omitempty"`
	Declined string          `json:"declined,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    *types.Error    `json:"error,omitempty"`
}

func brokerSocket(c *NetConf) string { return filepath.Join(c.stateDir(), BrokerSocketName) }

// sameEndpoints compares two etcd endpoint lists as sets.
func sameEndpoints(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, 0, len(l))
		for _, e := range l {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(e), "/"))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}
