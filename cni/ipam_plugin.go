package cni

import (
	"context"
	"fmt"
	"github.com/brindle-net/brindle/store"

	"github.com/brindle-net/brindle/ipam"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"go.uber.org/zap"
)

// ipamAdd is calico-ipam's ADD: addresses only, each with its block's mask, as calico-ipam
// reports them (the main plugin narrows them to /32 and /128).
func ipamAdd(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if !c.conf.ownIPAM() {
		return newError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipam.type: %q is not calico-ipam or brindle-ipam", c.conf.IPAM.Type), "")
	}
	if err := c.resolve("IPAM ADD"); err != nil {
		return err
	}
	ctx, cancel := newContext()
	defer cancel()
	// The node agent, if it runs here, does the call on its connection (broker.go).
	if res, served, err := brokerAdd(ctx, c); served {
		if err != nil {
			return err
		}
		c.log.Debug("IPAM ADD served by the node agent", zap.String("socket", brokerSocket(c.conf)))
		return types.PrintResult(res, c.conf.CNIVersion)
	}
	// Readiness, the handle and IPAM's first reads in one transaction that also proves the
	// connection; then the assignment's write: two requests per call (cni/addjoin.go).
	var pre *ipam.Prefetched
	sess := startLazySession(ctx, c, func(ctx context.Context, sc *store.Client) (err error) {
		pre, err = prefetchReady(ctx, sc, c)
		return err
	})
	defer sess.close()
	sc, err := sess.wait()
	if err != nil {
		return err
	}
	res, err := ipamAssign(ctx, c, sc, pre, nil)
	if err != nil {
		return err
	}
	sess.exiting = true // the process ends after the result (see session)
	return types.PrintResult(res, c.conf.CNIVersion)
}

// ipamAssign is calico-ipam's assignment once the first reads (pre) are done: addresses
// only, each with its block's mask. alloc nil: an allocator of this call's own.
func ipamAssign(ctx context.Context, c *call, sc *store.Client, pre *ipam.Prefetched, alloc *ipam.Allocator) (*current.Result, error) {
	req := c.ipamRequest(sc)
	req.pre, req.alloc = pre, alloc
	got, err := ownIPAM{}.assign(ctx, req)
	if err != nil {
		return nil, err
	}
	res := &current.Result{CNIVersion: current.ImplementedSpecVersion, DNS: c.conf.DNS}
	for _, p := range got.ips {
		res.IPs = append(res.IPs, &current.IPConfig{Address: *prefixToIPNet(p)})
	}
	return res, nil
}

// ipamDel releases the attachment's handle; a missing handle is success.
func ipamDel(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("IPAM DEL"); err != nil {
		return err
	}
	ctx, cancel := newContext()
	defer cancel()
	sc, err := connect(ctx, c.conf, c.log)
	if err != nil {
		return err
	}
	defer sc.Close()
	return ownIPAM{}.release(ctx, c.ipamRequest(sc))
}

// ipamCheck verifies that the handle still holds the addresses of the prevResult.
func ipamCheck(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("IPAM CHECK"); err != nil {
		return err
	}
	prev, err := prevResult(c.conf)
	if err != nil {
		return err
	}
	ctx, cancel := newContext()
	defer cancel()
	sc, err := connect(ctx, c.conf, c.log)
	if err != nil {
		return err
	}
	defer sc.Close()
	h := handleID(c.conf.Name, args.ContainerID)
	held, err := ipam.New(sc, ipam.Options{Logger: c.log}).IPsByHandle(ctx, h)
	if err != nil {
		return wrapErr(ErrIPAM, err, "")
	}
	for _, p := range ipsOf(prev) {
		found := false
		for _, a := range held {
			found = found || a == p.Addr()
		}
		if !found {
			return newError(ErrCheck, fmt.Sprintf("address %s is not allocated to handle %s", p.Addr(), h), "")
		}
	}
	return nil
}
