package cni

import (
	"context"
	"fmt"
	"net/netip"
	"os"

	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"go.uber.org/zap"
)

// cmdAdd is the ADD verb as a list of steps. Each resource is followed at once by its undo;
// any failure runs the undo stack, so a failed ADD leaves no address, veth or endpoint.
func cmdAdd(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("ADD"); err != nil {
		return err
	}
	if _, err := os.Stat(args.Netns); err != nil {
		return newError(types.ErrInvalidNetNS, fmt.Sprintf("CNI_NETNS %s: %v", args.Netns, err), "")
	}
	ctx, cancel := newContext()
	defer cancel()

	sc, err := connect(ctx, c.conf, c.log)
	if err != nil {
		return err
	}
	defer sc.Close()
	if err := checkReady(ctx, sc); err != nil {
		return err
	}
	if res, ok := c.existing(ctx, sc); ok {
		c.log.Info("endpoint already set up for this container; returning it unchanged")
		return types.PrintResult(res, c.conf.CNIVersion)
	}
	mtu, err := c.mtu(ctx, sc)
	if err != nil {
		return err
	}

	undo := &undoStack{log: c.log}
	success := false
	defer func() {
		if !success {
			undo.run()
		}
	}()
	// Undo must still work when ctx has run out; that is often why we are undoing.
	undoCtx := context.WithoutCancel(ctx)

	src := sourceFor(c.conf)
	req := c.ipamRequest(sc)
	got, err := src.assign(ctx, req)
	if err != nil {
		return err
	}
	if got.fresh {
		undo.push("release addresses", func() error { return src.release(undoCtx, req) })
	}
	ips := hostPrefixes(got.ips)

	wired, err := Wire(WireOptions{
		Netns: args.Netns, ContIfName: args.IfName, HostVeth: c.veth, MTU: mtu, IPs: ips,
		AllowIPForwarding: c.conf.ContainerSettings.AllowIPForwarding,
	})
	if err != nil {
		return wrapErr(ErrDataplane, err, "")
	}
	undo.push("remove veth", func() error { return Unwire(args.Netns, args.IfName, c.veth) })

	wep := newWEP(c.id, c.node, args.ContainerID, args.IfName, c.veth, wired.ContainerMAC.String(), prefixStrings(ips), c.profiles())
	created, err := writeWEP(ctx, sc, wep)
	if err != nil {
		return wrapErr(ErrDatastore, fmt.Errorf("writing WorkloadEndpoint %s/%s: %w", c.id.Namespace, c.id.Name, err), "")
	}
	if created {
		undo.push("delete endpoint", func() error { return deleteWEP(undoCtx, sc, c.id, args.ContainerID) })
	}
	if c.conf.Policy == nil || c.conf.Policy.Type == "" {
		if err := ensureProfile(ctx, sc, c.conf.Name, c.workload.k8s()); err != nil {
			return wrapErr(ErrDatastore, fmt.Errorf("creating Profile %s: %w", c.conf.Name, err), "")
		}
	}
	success = true
	c.log.Info("workload added", zap.Strings("ips", prefixStrings(ips)), zap.String("hostVeth", c.veth), zap.Int("mtu", mtu))
	return types.PrintResult(buildResult(c.veth, ips, c.conf.DNS), c.conf.CNIVersion)
}

// existing returns the result of an earlier, complete ADD for this very container: its
// endpoint record names this container, and the kernel still holds what it describes.
func (c *call) existing(ctx context.Context, sc *store.Client) (*current.Result, bool) {
	w, err := getWEP(ctx, sc, c.id)
	if err != nil || w == nil || w.Spec.ContainerID != c.args.ContainerID {
		return nil, false
	}
	var ips []netip.Prefix
	for _, s := range w.Spec.IPNetworks {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false
		}
		ips = append(ips, p)
	}
	if problems := checkWiring(c.args.Netns, c.args.IfName, c.veth, ips); len(problems) > 0 {
		return nil, false
	}
	return buildResult(c.veth, ips, c.conf.DNS), true
}

// mtu: the conf's, else the node agent's mtu file, else the uplink's less encapsulation.
func (c *call) mtu(ctx context.Context, sc *store.Client) (int, error) {
	if c.conf.MTU > 0 {
		return c.conf.MTU, nil
	}
	n, err := c.conf.mtuFromFile()
	if err != nil {
		return 0, newError(types.ErrIOFailure, err.Error(), "fix or remove the file; the node agent rewrites it")
	}
	if n > 0 {
		return n, nil
	}
	return uplinkMTU(ctx, sc), nil
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
