package dataplane

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Watch follows route, link and neighbour events in the namespace until ctx ends, keeps
// the reconcilers' picture of the kernel current, and calls trigger when the kernel drifted
// from the desired state (a route or device deleted by hand, a workload interface that
// appeared). trigger must not block: the agent coalesces it into its next Apply. Nothing is
// programmed from here.
func (d *Dataplane) Watch(ctx context.Context, trigger func()) error {
	routeCh := make(chan netlink.RouteUpdate, 4096)
	linkCh := make(chan netlink.LinkUpdate, 256)
	neighCh := make(chan netlink.NeighUpdate, 4096)
	errCh := make(chan error, 8)
	done := make(chan struct{})
	defer close(done)
	var ns = &d.h.ns
	if !d.h.ns.IsOpen() {
		ns = nil
	}
	onErr := func(err error) {
		select {
		case errCh <- err:
		default:
		}
	}
	// A large receive buffer: our own cold start produces one event per route written.
	const rcvbuf = 8 << 20
	if err := netlink.RouteSubscribeWithOptions(routeCh, done, netlink.RouteSubscribeOptions{
		Namespace: ns, ErrorCallback: onErr, ReceiveBufferSize: rcvbuf, ReceiveBufferForceSize: true}); err != nil {
		return fmt.Errorf("route subscription: %w", err)
	}
	if err := netlink.LinkSubscribeWithOptions(linkCh, done, netlink.LinkSubscribeOptions{
		Namespace: ns, ErrorCallback: onErr}); err != nil {
		return fmt.Errorf("link subscription: %w", err)
	}
	if err := netlink.NeighSubscribeWithOptions(neighCh, done, netlink.NeighSubscribeOptions{
		Namespace: ns, ErrorCallback: onErr, ReceiveBufferSize: rcvbuf, ReceiveBufferForceSize: true}); err != nil {
		return fmt.Errorf("neighbour subscription: %w", err)
	}
	flags := map[int]net.Flags{}
	// nftables sends no event we could subscribe to cheaply for "someone deleted our
	// table" (a monitor would make the kernel build a message for every rule we write), so
	// look twice a second: a deleted or flushed table is back within a second.
	tableTick := time.NewTicker(500 * time.Millisecond)
	defer tableTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tableTick.C:
			if d.tableLost() {
				d.log.Warn("nftables table " + nftTable + " was deleted or flushed by someone else; rewriting it")
				d.MarkResync()
				trigger()
			}
		case u, ok := <-routeCh:
			if !ok {
				return fmt.Errorf("route subscription closed")
			}
			if d.routes.observe(u) {
				trigger()
			}
		case u, ok := <-neighCh:
			if !ok {
				return fmt.Errorf("neighbour subscription closed")
			}
			if d.vteps.observe(u) || d.vteps6.observe(u) {
				trigger()
			}
		case u, ok := <-linkCh:
			if !ok {
				return fmt.Errorf("link subscription closed")
			}
			if d.observeLink(u, flags) {
				// A device that came, went, or went up or down also moves the way to BGP
				// next hops (the kernel revives or drops routes through it silently).
				d.routes.reresolveAll()
				trigger()
			}
		case err := <-errCh:
			// Most likely ENOBUFS: events were lost, so nothing we hold can be trusted.
			d.log.Warn("netlink subscription error; full resync", zap.Error(err))
			d.MarkResync()
			trigger()
		}
	}
}

// observeLink reacts to devices appearing, disappearing or going down. The kernel removes
// routes through a device that is deleted or goes down without sending route events, so
// such changes make the route picture stale.
func (d *Dataplane) observeLink(u netlink.LinkUpdate, flags map[int]net.Flags) bool {
	a := u.Attrs()
	if u.Header.Type == unix.RTM_DELLINK {
		delete(flags, a.Index)
		d.links.markStale()
		d.routes.markStale()
		d.wg.markStale()
		d.wg6.markStale()
		if a.Name == calc.VXLANDeviceName {
			d.vteps.markStale()
		}
		if a.Name == calc.VXLANV6DeviceName {
			d.vteps6.markStale()
		}
		return true
	}
	old, known := flags[a.Index]
	flags[a.Index] = a.Flags
	if !known {
		d.links.markStale()
		return true
	}
	if old&net.FlagUp != 0 && a.Flags&net.FlagUp == 0 {
		d.routes.markStale()
		d.wg.markStale()
		d.wg6.markStale()
		return true
	}
	return old&net.FlagUp == 0 && a.Flags&net.FlagUp != 0
}
