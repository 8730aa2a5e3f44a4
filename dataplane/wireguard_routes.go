package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// syncRoutes leaves exactly want.Routes (through the device, scope link) and want.Throw
// (throw routes) in the WireGuard table, all with brindle's protocol, as felix's wireguard
// route table holds them. Routes of other protocols in that table are not ours and stay.
func (r *wireguardRec) syncRoutes(link int, want *calc.WireguardDesired) error {
	have, err := dump("wireguard table routes", func() ([]netlink.Route, error) {
		return r.h.nl.RouteListFiltered(r.family(), &netlink.Route{Table: want.Table}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	wanted := map[netip.Prefix]int{} // prefix -> route type
	for _, p := range want.Routes {
		wanted[p] = unix.RTN_UNICAST
	}
	for _, p := range want.Throw {
		wanted[p] = unix.RTN_THROW
	}
	present := map[netip.Prefix]bool{}
	var errs []error
	for _, rt := range have {
		if rt.Dst == nil || int(rt.Protocol) != ProtoBrindle {
			continue
		}
		a, _ := netip.AddrFromSlice(rt.Dst.IP)
		ones, _ := rt.Dst.Mask.Size()
		p := netip.PrefixFrom(a.Unmap(), ones)
		if typ, ok := wanted[p]; ok && rt.Type == typ && (typ == unix.RTN_THROW || rt.LinkIndex == link) {
			present[p] = true
			continue
		}
		if err := r.h.nl.RouteDel(&rt); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("wireguard table: remove %s: %w", p, err))
		}
	}
	for p, typ := range wanted {
		if present[p] {
			continue
		}
		rt := &netlink.Route{Dst: prefixNet(p), Table: want.Table, Protocol: netlink.RouteProtocol(ProtoBrindle), Type: typ}
		if typ == unix.RTN_UNICAST {
			rt.LinkIndex, rt.Scope = link, netlink.SCOPE_LINK
		}
		if err := r.h.nl.RouteReplace(rt); err != nil {
			errs = append(errs, fmt.Errorf("wireguard table: add %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// wgRule is felix's rule: "not from all fwmark MARK/MARK lookup TABLE" at PRIORITY. Felix
// matches the inverse of the mark rather than mark 0 (see its addRouteRule).
func wgRule(family, prio, table int, mark uint32) *netlink.Rule {
	rl := netlink.NewRule()
	rl.Family, rl.Priority, rl.Table, rl.Mark, rl.Invert = family, prio, table, mark, true
	m := mark
	rl.Mask = &m
	return rl
}

func isWGRule(rl netlink.Rule, table int, mark uint32) bool {
	return rl.Table == table && rl.Mark == mark && rl.Invert && rl.Mask != nil && *rl.Mask == mark
}

// syncRule keeps exactly one WireGuard rule, at the wanted priority.
func (r *wireguardRec) syncRule(want *calc.WireguardDesired) error {
	rules, err := dump("rules", func() ([]netlink.Rule, error) { return r.h.nl.RuleList(r.family()) })
	if err != nil {
		return err
	}
	found := false
	for _, rl := range rules {
		if !isWGRule(rl, want.Table, want.FwMark) {
			continue
		}
		if rl.Priority == want.RulePriority && !found {
			found = true
			continue
		}
		if err := r.h.nl.RuleDel(&rl); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("removing stale WireGuard rule: %w", err)
		}
	}
	if found {
		return nil
	}
	if err := r.h.nl.RuleAdd(wgRule(r.family(), want.RulePriority, want.Table, want.FwMark)); err != nil {
		return fmt.Errorf("adding the WireGuard rule: %w", err)
	}
	r.log.Info("added WireGuard routing rule", zap.Int("priority", want.RulePriority), zap.Int("table", want.Table))
	return nil
}

// WithdrawWireguard removes the rule only: traffic falls back to the main table's routes (the
// pool's encapsulation) at once, while the device stays to decrypt what peers that have not
// switched yet still encrypt. ApplyWireguard(fam, nil) then removes the device.
func (d *Dataplane) WithdrawWireguard(fam calc.WireguardFamily) error {
	r := d.wgRec(fam)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removeRule()
}

func (r *wireguardRec) removeRule() error {
	r.inSync = false
	rules, err := dump("rules", func() ([]netlink.Rule, error) { return r.h.nl.RuleList(r.family()) })
	if err != nil {
		return err
	}
	for _, rl := range rules {
		if isWGRule(rl, r.fam.Table, calc.WireguardFwMark) {
			if err := r.h.nl.RuleDel(&rl); err != nil && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("removing the WireGuard rule: %w", err)
			}
			r.log.Info("removed WireGuard routing rule", zap.Int("priority", rl.Priority))
		}
	}
	return nil
}

// remove takes WireGuard away: the rule, then the device, whose table routes go with it.
func (r *wireguardRec) remove() error {
	if err := r.removeRule(); err != nil {
		return err
	}
	name := r.fam.Iface
	if r.last != nil {
		name = r.last.Iface
	}
	link, err := linkByName(r.h, name)
	if err != nil || link == nil || link.Type() != "wireguard" {
		r.last = nil
		return err
	}
	if err := r.h.nl.LinkDel(link); err != nil {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	r.log.Info("removed WireGuard device", zap.String("iface", name))
	r.last = nil
	return nil
}

// WireguardDevice reads the device back through wgctrl (`wg show`); nil when it does not
// exist.
func (d *Dataplane) WireguardDevice(iface string) (*wgtypes.Device, error) {
	link, err := linkByName(d.h, iface)
	if err != nil || link == nil {
		return nil, err
	}
	c, err := d.wg.client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Device(iface)
}
