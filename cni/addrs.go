package cni

import (
	"context"
	"github.com/brindle-net/brindle/ipam"
	"net/netip"
	"time"

	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// ipamRequest is everything an address source needs for one attachment.
type ipamRequest struct {
	conf        *NetConf
	stdin       []byte // the raw conf, passed unchanged to a delegated plugin
	containerID string
	ifName      string
	node        string
	args        workloadArgs
	id          wepIdentity
	sc          *store.Client
	log         *zap.Logger

	// Own IPAM: pre is what ADD read in its first round trip (the handle and IPAM's request
	// view), so assign need not read them again; also, if set, is the endpoint to create in
	// IPAM's write (cni/addjoin.go).
	pre  *ipam.Prefetched
	also *ipam.Also
	// alloc, if set, is a long-lived allocator shared by concurrent calls (the node agent's,
	// broker_server.go): its calls take turns in memory and share its block cache.
	alloc *ipam.Allocator
}

func (r *ipamRequest) allocator() *ipam.Allocator {
	if r.alloc != nil {
		return r.alloc
	}
	return ipam.New(r.sc, ipam.Options{Logger: r.log})
}

func (r *ipamRequest) handle() string { return handleID(r.conf.Name, r.containerID) }

// attrs are stored with each address; GC and `ipam check` use them to find the owner.
func (r *ipamRequest) attrs() map[string]string {
	a := map[string]string{
		"node":        r.node,
		"timestamp":   time.Now().UTC().String(),
		"containerID": r.containerID,
	}
	if r.id.Orchestrator == "k8s" {
		a["namespace"], a["pod"] = r.args.PodNamespace, r.args.PodName
	} else {
		a["namespace"], a["workload"] = r.id.Namespace, r.id.Name
	}
	return a
}

// assigned is the outcome of address assignment.
type assigned struct {
	// ips as the IPAM returned them (own IPAM: with the block's mask, as calico-ipam reports).
	ips []netip.Prefix
	// fresh is false when the handle already held addresses (a repeated ADD): undo must then
	// not release what an earlier, successful ADD owns.
	fresh bool
}

// hostPrefixes rewrites addresses to /32 and /128: workloads are routed one address at a time.
func hostPrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, len(in))
	for i, p := range in {
		out[i] = netip.PrefixFrom(p.Addr(), p.Addr().BitLen())
	}
	return out
}

// addressSource assigns and releases one attachment's addresses.
type addressSource interface {
	assign(ctx context.Context, r *ipamRequest) (assigned, error)
	release(ctx context.Context, r *ipamRequest) error
}

func sourceFor(c *NetConf) addressSource {
	if c.ownIPAM() {
		return ownIPAM{}
	}
	return delegatedIPAM{}
}
