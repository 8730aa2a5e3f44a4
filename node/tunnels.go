package node

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

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

// tunnelLoop keeps the node's IPIP and VXLAN tunnel addresses matching the pools, as
// calico-node's allocate-tunnel-addrs does. It runs beside the event loop because it writes
// to the datastore; its writes come back through the watch like anyone else's. A failure
// is retried with backoff and logged once per reason.
func (a *Agent) tunnelLoop(ctx context.Context) {
	retryOnKick(ctx, a.tunnels, failureLog{log: a.log.With(zap.String("component", "tunnel-addresses")),
		what: "tunnel address allocation"}, a.ensureTunnels)
}

// ensureTunnels runs the IPIP and VXLAN tunnel-address reconcilers once.
func (a *Agent) ensureTunnels(ctx context.Context) error {
	var errs []error
	for _, kind := range ipam.TunnelKinds {
		addr, err := a.ipam.EnsureTunnelAddress(ctx, a.name, kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s tunnel address: %w", kind, err))
			continue
		}
		a.log.Debug("tunnel address", zap.Stringer("kind", kind), zap.Stringer("addr", addr))
	}
	return errors.Join(errs...)
}

// writeMTU records the workload MTU for the CNI plugin: the smallest MTU of the
// encapsulations in use, else the uplink's (Felix's writeMTUFile).
func (a *Agent) writeMTU(context.Context) error {
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
			m, set := a.mtu-50, fc.VXLANMTU
			if strings.Contains(p.Spec.CIDR, ":") {
				// vxlan-v6.calico: the IPv6 outer header is 20 bytes longer (Calico's vxlanMTUV6).
				m, set = a.mtu-70, fc.VXLANMTUV6
			}
			if set != nil && *set > 0 {
				m = *set
			}
			mtu = min(mtu, m)
		}
	}
	for _, fam := range []calc.WireguardFamily{calc.WireguardV4, calc.WireguardV6} {
		if wg := wireguardConfig(fc, fam); wg.Enabled {
			// Felix's MTU file takes each enabled WireGuard device's MTU into account.
			m := a.mtu - fam.Overhead
			if wg.MTU > 0 {
				m = wg.MTU
			}
			mtu = min(mtu, m)
		}
	}
	if mtu == a.mtuFile {
		return nil
	}
	if err := WriteMTU(a.opts.StateDir, mtu); err != nil {
		return fmt.Errorf("writing the mtu file: %w", err)
	}
	a.mtuFile = mtu
	a.log.Info("workload MTU", zap.String("mtu", strconv.Itoa(mtu)))
	return nil
}
