package node

import (
	"context"
	"strconv"
	"time"

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

// tunnelLoop keeps the node's IPIP and VXLAN tunnel addresses matching the pools, as
// calico-node's allocate-tunnel-addrs does. It runs beside the event loop because it writes
// to the datastore; its writes come back through the watch like anyone else's.
func (a *Agent) tunnelLoop(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.tunnels:
		case <-retry.C:
		}
		if !a.ensureTunnels(ctx) && ctx.Err() == nil {
			retry.Reset(5 * time.Second)
		}
	}
}

// ensureTunnels runs the IPIP and VXLAN tunnel-address reconcilers once; false if one failed.
func (a *Agent) ensureTunnels(ctx context.Context) bool {
	ok := true
	for _, kind := range []ipam.TunnelKind{ipam.IPIP, ipam.VXLAN} {
		addr, err := a.ipam.EnsureTunnelAddress(ctx, a.name, kind)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("tunnel address", zap.Stringer("kind", kind), zap.Error(err))
			}
			ok = false
			continue
		}
		a.log.Debug("tunnel address", zap.Stringer("kind", kind), zap.Stringer("addr", addr))
	}
	return ok
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
