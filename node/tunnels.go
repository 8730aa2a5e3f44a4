package node

import (
	"context"
	"net/netip"
	"strconv"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/ipam"
	"go.uber.org/zap"
)

// kickTunnels asks the tunnel-address reconciler to run (pools or nodes changed).
func (a *Agent) kickTunnels() {
	select {
	case a.tunnels <- struct{}{}:
	default:
	}
}

// tunnelAddrs is the outcome of one tunnel-address pass: the addresses the node's resource
// now holds (invalid = none), or ok false when a kind failed.
type tunnelAddrs struct {
	ok          bool
	ipip, vxlan netip.Addr
}

// tunnelLoop keeps the node's IPIP and VXLAN tunnel addresses matching the pools, as
// calico-node's allocate-tunnel-addrs does. It runs beside the event loop because it writes
// to the datastore; its writes come back through the watch like anyone else's. The first
// pass runs at once and its outcome goes to first, so the loop can hold its first sync until
// the watch shows it (the pass overlaps the watch's initial list instead of preceding it).
func (a *Agent) tunnelLoop(ctx context.Context, first chan<- tunnelAddrs) {
	r := a.ensureTunnels(ctx)
	first <- r
	retry := time.NewTimer(time.Hour)
	if r.ok || ctx.Err() != nil {
		retry.Stop()
	} else {
		retry.Reset(5 * time.Second)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.tunnels:
		case <-retry.C:
		}
		if !a.ensureTunnels(ctx).ok && ctx.Err() == nil {
			retry.Reset(5 * time.Second)
		}
	}
}

// ensureTunnels runs the IPIP and VXLAN tunnel-address reconcilers once.
func (a *Agent) ensureTunnels(ctx context.Context) tunnelAddrs {
	out := tunnelAddrs{ok: true}
	for _, kind := range []ipam.TunnelKind{ipam.IPIP, ipam.VXLAN} {
		addr, err := a.ipam.EnsureTunnelAddress(ctx, a.name, kind)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("tunnel address", zap.Stringer("kind", kind), zap.Error(err))
			}
			out.ok = false
			continue
		}
		if kind == ipam.IPIP {
			out.ipip = addr
		} else {
			out.vxlan = addr
		}
		a.log.Debug("tunnel address", zap.Stringer("kind", kind), zap.Stringer("addr", addr))
	}
	return out
}

// shows reports whether this node's resource, as the watch delivered it, carries the
// addresses a tunnel pass set (a failed pass shows nothing worth waiting for).
func (r tunnelAddrs) shows(me calc.Node, seen bool) bool {
	return !r.ok || (seen && me.IPIPTunnelAddr == r.ipip && me.VXLANTunnelAddr == r.vxlan)
}

// writeMTU records the workload MTU for the CNI plugin: the smallest MTU of the
// encapsulations in use, else the uplink's (Felix's writeMTUFile).
func (a *Agent) writeMTU() {
	fc := a.cache.felixConfig()
	mtu := a.mtu
	for _, p := range a.cache.pools {
		if p.Spec.Disabled {
			continue
		}
		if p.Spec.IPIPMode == "Always" || p.Spec.IPIPMode == "CrossSubnet" {
			m := a.mtu - 20
			if fc.IPIPMTU != nil && *fc.IPIPMTU > 0 {
				m = *fc.IPIPMTU
			}
			mtu = min(mtu, m)
		}
		if p.Spec.VXLANMode == "Always" || p.Spec.VXLANMode == "CrossSubnet" {
			m := a.mtu - 50
			if fc.VXLANMTU != nil && *fc.VXLANMTU > 0 {
				m = *fc.VXLANMTU
			}
			mtu = min(mtu, m)
		}
	}
	if mtu == a.mtuFile {
		return
	}
	if err := WriteMTU(a.opts.StateDir, mtu); err != nil {
		a.log.Warn("writing the mtu file", zap.Error(err))
		return
	}
	a.mtuFile = mtu
	a.log.Info("workload MTU", zap.String("mtu", strconv.Itoa(mtu)))
}
