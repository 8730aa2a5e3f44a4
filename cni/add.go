package cni

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"go.uber.org/zap"
)

// cmdAdd is the ADD verb as a list of steps. Each resource is followed at once by its undo;
// any failure runs the undo stack, so a failed ADD leaves no address, veth or endpoint.
//
// The steps overlap where nothing orders them (bench/cni/README.md): the veth is created
// while the process connects to etcd and reads what ADD needs first, and the addresses and
// routes go into the kernel while the endpoint is written.
func cmdAdd(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("ADD"); err != nil {
		return err
	}
	// Only ADD checks labels: the DEL a runtime sends after a refused ADD must still succeed.
	if c.labels, err = c.workloadLabels(); err != nil {
		return err
	}
	if _, err := os.Stat(args.Netns); err != nil {
		return newError(types.ErrInvalidNetNS, fmt.Sprintf("CNI_NETNS %s: %v", args.Netns, err), "")
	}
	mtu, mtuKnown, err := c.localMTU()
	if err != nil {
		return err
	}
	ctx, cancel := newContext()
	defer cancel()
	ph := newPhases()
	defer ph.log(c.log)

	var first addReads
	sess := startLazySession(ctx, c, func(ctx context.Context, sc *store.Client) error {
		err := first.load(ctx, sc, c)
		ph.done("firstReads")
		return err
	})
	defer sess.close()

	var veth *Veth
	defer func() {
		if veth != nil {
			veth.Close()
		}
	}()
	undo := &undoStack{log: c.log}
	success := false
	defer func() {
		if !success {
			undo.run()
		}
	}()

	// The veth needs no datastore when the MTU is known here and the address families are
	// known from the conf (own IPAM), so it is made while the session connects.
	var prepErr error
	if mtuKnown && c.conf.ownIPAM() {
		veth, prepErr = PrepareVeth(c.wireOptions(mtu, nil))
		ph.done("veth")
		if veth != nil {
			undo.push("remove veth", veth.undo)
		}
	}
	sc, err := sess.wait()
	if err != nil {
		return err
	}
	var exists *ErrContainerIfExists
	if first.wep != nil && first.wep.Spec.ContainerID == args.ContainerID && (veth == nil || errors.As(prepErr, &exists)) {
		if res, ok := c.existing(first.wep); ok {
			c.log.Info("endpoint already set up for this container; returning it unchanged")
			return types.PrintResult(res, c.conf.CNIVersion)
		}
	}
	if prepErr != nil {
		return wrapErr(ErrDataplane, prepErr, "")
	}
	if !mtuKnown {
		mtu = uplinkMTU(ctx, sc)
	}

	src := sourceFor(c.conf)
	req := c.ipamRequest(sc)
	req.pre = first.pre
	if first.pre != nil && first.wep == nil && veth != nil {
		// The endpoint is created in IPAM's own write (cni/addjoin.go).
		req.also = wepAlso(ctx, sc, c, veth.ContainerMAC())
	}
	got, err := src.assign(ctx, req)
	ph.done("ipam")
	// A write whose answer was lost (etcd unavailable mid-request: leader killed, member
	// cut off) may have committed all the same. Undo what it would have made: releasing by
	// this container's handle and deleting an endpoint only if it names this container are
	// harmless when it did not. (A container that had an endpoint before keeps its addresses.)
	lost := unanswered(err) && first.wep == nil
	if got.fresh || lost {
		undo.push("release addresses", func(uctx context.Context) error { return src.release(uctx, req) })
	}
	wepCreated := req.also != nil && req.also.Created
	if wepCreated || lost && req.also != nil {
		undo.push("delete endpoint", func(uctx context.Context) error { return deleteWEP(uctx, sc, c.id, args.ContainerID) })
	}
	if err != nil {
		return err
	}
	ips := hostPrefixes(got.ips)
	if veth == nil {
		if veth, err = PrepareVeth(c.wireOptions(mtu, ips)); err != nil {
			return wrapErr(ErrDataplane, err, "")
		}
		undo.push("remove veth", veth.undo)
	}

	// The kernel's addresses and routes, the endpoint and the network's profile at once.
	var writeEndpoint func() error
	wepWritten := false
	if !wepCreated {
		wep := c.newEndpoint(veth.ContainerMAC(), ips)
		writeEndpoint = func() (err error) {
			if wepWritten, err = writeWEP(ctx, sc, wep); err != nil {
				err = wrapErr(ErrDatastore, fmt.Errorf("writing WorkloadEndpoint %s/%s: %w", c.id.Namespace, c.id.Name, err), "")
				wepWritten = unanswered(err) // it may have been written: undo deletes it if so
				return err
			}
			return nil
		}
	}
	err = parallel(
		func() error {
			if _, err := veth.Finish(ips); err != nil {
				return wrapErr(ErrDataplane, err, "")
			}
			return nil
		},
		writeEndpoint,
		c.ensureProfile(ctx, sc, first.profileFound),
	)
	ph.done("finish")
	if wepWritten {
		undo.push("delete endpoint", func(uctx context.Context) error { return deleteWEP(uctx, sc, c.id, args.ContainerID) })
	}
	if err != nil {
		return err
	}
	success = true
	sess.exiting = true
	c.log.Info("workload added", zap.Strings("ips", prefixStrings(ips)), zap.String("hostVeth", c.veth), zap.Int("mtu", mtu))
	return types.PrintResult(buildResult(c.veth, ips, c.conf.DNS), c.conf.CNIVersion)
}

// addReads is what ADD reads before it changes anything, all in one round trip.
type addReads struct {
	wep          *wepDoc          // this workload's endpoint, if any
	profileFound bool             // the network's profile exists
	pre          *ipam.Prefetched // own IPAM: the handle and IPAM's first reads
}

func (r *addReads) load(ctx context.Context, sc *store.Client, c *call) error {
	if c.conf.ownIPAM() {
		return r.loadJoined(ctx, sc, c)
	}
	return parallel(
		func() error { return checkReady(ctx, sc) },
		func() error {
			// A read error here only means ADD does not take the repeated-ADD shortcut.
			r.wep, _ = getWEP(ctx, sc, c.id)
			return nil
		},
		func() error {
			if c.needsProfile() {
				r.profileFound = profileExists(ctx, sc, c.conf.Name)
			}
			return nil
		},
	)
}

// needsProfile: Calico creates a Profile per network when the conf has no policy block.
func (c *call) needsProfile() bool { return c.conf.Policy == nil || c.conf.Policy.Type == "" }

// ensureProfile returns the step that creates the network's profile, or nil when none is
// needed or it already exists.
func (c *call) ensureProfile(ctx context.Context, sc *store.Client, found bool) func() error {
	if !c.needsProfile() || found {
		return nil
	}
	return func() error {
		if err := createProfile(ctx, sc, c.conf.Name, c.k8s); err != nil {
			return wrapErr(ErrDatastore, fmt.Errorf("creating Profile %s: %w", c.conf.Name, err), "")
		}
		return nil
	}
}

func (c *call) wireOptions(mtu int, ips []netip.Prefix) WireOptions {
	_, v6 := c.conf.families()
	return WireOptions{
		Netns: c.args.Netns, ContIfName: c.args.IfName, HostVeth: c.veth, MTU: mtu, IPs: ips,
		AllowIPForwarding: c.conf.ContainerSettings.AllowIPForwarding,
		IPv6:              c.conf.ownIPAM() && v6,
	}
}

// existing returns the result of an earlier, complete ADD for this very container: its
// endpoint record names this container, and the kernel still holds what it describes.
func (c *call) existing(w *wepDoc) (*current.Result, bool) {
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

// localMTU is the MTU when it needs no datastore: the conf's, else the node agent's mtu
// file. known is false when only uplinkMTU (which reads the pools) can tell.
func (c *call) localMTU() (mtu int, known bool, err error) {
	if c.conf.MTU > 0 {
		return c.conf.MTU, true, nil
	}
	n, err := c.conf.mtuFromFile()
	if err != nil {
		return 0, false, newError(types.ErrIOFailure, err.Error(), "fix or remove the file; the node agent rewrites it")
	}
	return n, n > 0, nil
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// newEndpoint is this workload's WorkloadEndpoint record with its labels: one place for both
// ways it is written (joined to IPAM's transaction, cni/addjoin.go, or on its own).
func (c *call) newEndpoint(mac string, ips []netip.Prefix) *wepDoc {
	w := newWEP(c.id, c.node, c.args.ContainerID, c.args.IfName, c.veth, mac, prefixStrings(ips), c.profiles())
	w.addLabels(c.labels)
	return w
}
