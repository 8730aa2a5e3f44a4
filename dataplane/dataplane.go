// Package dataplane programs the kernel state calc computes: one reconciler per kind of
// kernel object (routes, tunnel devices, VXLAN neighbours and FDB entries, the nftables
// table, sysctls). Each keeps the desired state and a picture of the kernel, read back from
// the kernel on start and on resync, and writes only the difference. Only objects carrying
// brindle's mark are touched: route protocols 80 and 12, the devices tunl0 and vxlan.calico,
// the nftables table `ip brindle`. Nothing is flushed on start, so an agent restart leaves
// traffic flowing and recognises its own state.
package dataplane

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/brindle-net/brindle/calc"
	"go.uber.org/zap"
)

// Options configure a Dataplane.
type Options struct {
	// NetNSPath is the network namespace to program (e.g. /var/run/netns/x); empty means the
	// agent's own namespace.
	NetNSPath string
	Logger    *zap.Logger
	// NexthopsFrom: gateway routes are written through nexthop objects once this many
	// distinct gateways are wanted (0 means DefaultNexthopsFrom, negative never). Below it
	// `ip route` looks exactly like a Calico node's; above it the kernel's cost per route
	// stops growing with the number of gateways (see nexthops.go).
	NexthopsFrom int
}

// DefaultNexthopsFrom is where nexthop objects start paying: below it, the kernel's walk
// over routes sharing a hash chain costs microseconds per insert.
const DefaultNexthopsFrom = 128

// Dataplane is the set of reconcilers for one network namespace. Apply and the event
// handling of Watch may run concurrently; Apply calls are serialised.
type Dataplane struct {
	applyMu sync.Mutex
	h       *nsHandles
	log     *zap.Logger
	links   *linkIndex
	routes  *routeTable
	vteps   *vtepTable
	vteps6  *vtepTable // vxlan-v6.calico's
	tunnels *tunnels
	nft     *nftTableRec
	nat6    *nat6Table
	sysctl  *sysctls
	wg      *wireguardRec
	wg6     *wireguardRec // wg-v6.cali's (felix's second instance, ipVersion 6)

	polMu sync.Mutex // serialises ApplyPolicy; independent of Apply
	pol   *polTable
	pol6  *polTable // the IPv6 workload policy in `ip6 brindle` (polv6.go)
	// noIPv6: the kernel runs without IPv6 (booted with ipv6.disable=1, so there is no
	// /proc/sys/net/ipv6): no `ip6` table can be written and none is needed, since no
	// workload can send IPv6. Writing one anyway would fail every policy apply and keep the
	// node not ready.
	noIPv6    bool
	polResync bool // under resyncMu

	resyncMu sync.Mutex
	resync   bool
}

// New opens netlink and nftables access to the namespace. It does not touch the kernel:
// the first Apply reads everything back and converges.
func New(opts Options) (*Dataplane, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	h, err := openNS(opts.NetNSPath)
	if err != nil {
		return nil, err
	}
	links := newLinkIndex(h)
	return &Dataplane{
		h:       h,
		log:     log,
		links:   links,
		routes:  newRouteTable(h, links, log, opts.NexthopsFrom),
		vteps:   newVTEPTable(h, log),
		vteps6:  newVTEPTable6(h, log),
		tunnels: &tunnels{h: h, log: log, links: links},
		nft:     &nftTableRec{h: h, log: log, stale: true},
		nat6:    &nat6Table{h: h, log: log, stale: true},
		sysctl:  &sysctls{h: h, log: log, stale: true},
		wg:      &wireguardRec{h: h, log: log, fam: calc.WireguardV4},
		wg6:     &wireguardRec{h: h, log: log, fam: calc.WireguardV6},
		pol:     &polTable{h: h, log: log, stale: true},
		pol6:    &polTable{h: h, log: log, stale: true, v6: true},
		noIPv6:  !kernelHasIPv6(),
	}, nil
}

// kernelHasIPv6 reports whether the kernel runs with IPv6 at all.
func kernelHasIPv6() bool {
	_, err := os.Stat("/proc/sys/net/ipv6")
	return err == nil
}

// Close releases the namespace handles. Kernel state stays as it is.
func (d *Dataplane) Close() {
	d.stopPolicyCollect()
	d.nft.wait() // a host removal may still be in flight
	d.h.close()
}

// MarkResync makes the next Apply re-read every kind of kernel object instead of trusting
// its picture of the kernel. The agent calls it periodically (Felix's routeRefreshInterval)
// to catch changes no event reported.
func (d *Dataplane) MarkResync() {
	d.resyncMu.Lock()
	d.resync, d.polResync = true, true
	d.resyncMu.Unlock()
	d.wg.markStale()
	d.wg6.markStale()
}

// Apply converges the kernel to want, writing only differences. It continues past failures
// of one object and returns them joined; the caller retries later (e.g. a workload route
// whose interface does not exist yet).
func (d *Dataplane) Apply(ctx context.Context, want calc.Desired) error {
	d.applyMu.Lock()
	defer d.applyMu.Unlock()
	d.resyncMu.Lock()
	full := d.resync
	d.resync = false
	d.resyncMu.Unlock()
	if full {
		d.links.markStale()
		d.routes.markStale()
		d.vteps.markStale()
		d.vteps6.markStale()
		d.nft.stale = true
		d.nat6.stale = true
		d.sysctl.stale = true
	}
	d.links.begin()
	var errs []error
	errs = append(errs, d.sysctl.apply(want.Sysctls))
	if err := ctx.Err(); err != nil {
		return err
	}
	errs = append(errs, d.tunnels.apply(want.IPIP, want.VXLAN, want.VXLANV6))
	if d.tunnels.recreated {
		// Routes and neighbours through a recreated device vanished with the old one, and
		// the kernel sends no route deletions for that.
		d.routes.markStale()
		d.vteps.markStale()
		d.vteps6.markStale()
	}
	vx := 0
	if want.VXLAN != nil {
		vx, _ = d.links.index(want.VXLAN.Name)
	}
	d.vteps.set(want.VTEPs, want.Delta)
	errs = append(errs, d.vteps.apply(vx))
	vx6 := 0
	if want.VXLANV6 != nil {
		vx6, _ = d.links.index(want.VXLANV6.Name)
	}
	d.vteps6.set(want.VTEPsV6, nil) // no delta for IPv6 VTEPs: the lists are walked
	errs = append(errs, d.vteps6.apply(vx6))
	if err := ctx.Err(); err != nil {
		return err
	}
	errs = append(errs, d.routes.set(want.Routes, want.Delta), d.routes.apply())
	errs = append(errs, d.nft.apply(&want), d.nat6.apply(&want))
	err := errors.Join(errs...)
	if err != nil {
		d.log.Debug("apply incomplete", zap.Error(err))
	}
	return err
}

// Stats counts kernel writes since New; benchmarks and tests use it to show that an
// incremental change writes only what changed.
type Stats struct {
	RouteWrites   int
	VTEPWrites    int
	NexthopWrites int
}

// Stats returns the write counters.
func (d *Dataplane) Stats() Stats {
	d.routes.mu.Lock()
	rw, nw := d.routes.writes, 0
	if d.routes.nh != nil {
		nw = d.routes.nh.writes
	}
	d.routes.mu.Unlock()
	d.vteps.mu.Lock()
	vw := d.vteps.writes
	d.vteps.mu.Unlock()
	d.vteps6.mu.Lock()
	vw += d.vteps6.writes
	d.vteps6.mu.Unlock()
	return Stats{RouteWrites: rw, VTEPWrites: vw, NexthopWrites: nw}
}
