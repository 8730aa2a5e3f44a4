package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// ErrWireguardUnsupported says the kernel cannot create a WireGuard device (no module).
var ErrWireguardUnsupported = errors.New("WireGuard unsupported by the kernel")

// wireguardRec reconciles the WireGuard device (felix's felix/wireguard/wireguard.go): the
// link with its MTU and /32, the device's key, port, fwmark and peers (through wgctrl, the
// WireGuard control library), the routes of the WireGuard table and the rule that sends
// unmarked traffic there. It reads the kernel back on every apply: the state is a device,
// a rule and one route per remote block, cheap to read. The table's routes are not the main
// table's route reconciler's (it looks at the main table only), so neither deletes the
// other's routes; the device's encrypted packets carry the fwmark, skip the rule and take
// the main table to the peer's host address, so they never loop back into the device.
type wireguardRec struct {
	fam  calc.WireguardFamily // which device: the IPv4 one or the IPv6 one
	mu   sync.Mutex
	h    *nsHandles
	log  *zap.Logger
	last *calc.WireguardDesired // the last state applied (the rule and table to remove)
	// inSync: the kernel held last (with lastKey) at the end of the last apply and nothing
	// since made that picture stale (a resync, a device deleted or taken down). An apply of
	// the same state then writes nothing and reads nothing: the loop runs the component at
	// every datastore change, most of which leave WireGuard as it is.
	inSync  bool
	lastKey wgtypes.Key
}

// markStale makes the next apply read the kernel back.
func (r *wireguardRec) markStale() {
	r.mu.Lock()
	r.inSync = false
	r.mu.Unlock()
}

// ApplyWireguard converges the kernel to want with the node's private key for fam's device;
// nil want removes the device, its routes and its rule. An error wrapping
// ErrWireguardUnsupported means the kernel has no WireGuard: the caller reports it and
// carries on unencrypted.
func (d *Dataplane) ApplyWireguard(fam calc.WireguardFamily, want *calc.WireguardDesired, key wgtypes.Key) error {
	return d.wgRec(fam).apply(want, key)
}

// wgRec is the reconciler of fam's device.
func (d *Dataplane) wgRec(fam calc.WireguardFamily) *wireguardRec {
	if fam.IPv6 {
		return d.wg6
	}
	return d.wg
}

// family is the netlink address family of the device's rule and routes.
func (r *wireguardRec) family() int {
	if r.fam.IPv6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}

func (r *wireguardRec) apply(want *calc.WireguardDesired, key wgtypes.Key) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if want == nil {
		return r.remove()
	}
	if r.inSync && r.last != nil && key == r.lastKey && reflect.DeepEqual(*want, *r.last) {
		return nil
	}
	r.inSync = false
	// wireguardInterfaceName changed: the old device goes.
	if r.last != nil && r.last.Iface != want.Iface {
		if old, err := linkByName(r.h, r.last.Iface); err == nil && old != nil && old.Type() == "wireguard" {
			if err := r.h.nl.LinkDel(old); err != nil {
				return fmt.Errorf("removing %s (renamed to %s): %w", r.last.Iface, want.Iface, err)
			}
		}
	}
	link, err := r.ensureLink(want)
	if err != nil {
		return err
	}
	if err := r.configure(want, key); err != nil {
		return err
	}
	if err := syncAddr(r.h, link, want.Addr, false); err != nil {
		return err
	}
	if err := r.syncRoutes(link.Attrs().Index, want); err != nil {
		return err
	}
	if err := r.syncRule(want); err != nil {
		return err
	}
	// Felix enables src_valid_mark so that the reverse-path check of decrypted packets
	// sees the mark and takes the same rule as the forward path. IPv6 has no such knob
	// (felix sets it for ipVersion 4 only): its reverse-path filter is nftables' fib match.
	if !r.fam.IPv6 {
		err = r.h.inNS(func() error {
			_, err := ensureSysctl("net/ipv4/conf/all/src_valid_mark", "1")
			return err
		})
		if err != nil {
			return fmt.Errorf("src_valid_mark: %w", err)
		}
	}
	r.last, r.lastKey, r.inSync = want, key, true
	return nil
}

// ensureLink creates the device if it is missing (this is where a kernel without WireGuard
// says no), and sets its MTU and brings it up.
func (r *wireguardRec) ensureLink(want *calc.WireguardDesired) (netlink.Link, error) {
	link, err := linkByName(r.h, want.Iface)
	if err != nil {
		return nil, err
	}
	if link != nil && link.Type() != "wireguard" {
		return nil, fmt.Errorf("%s exists and is a %s device, not WireGuard", want.Iface, link.Type())
	}
	if link == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU = want.Iface, want.MTU
		if err := r.h.nl.LinkAdd(&netlink.Wireguard{LinkAttrs: la}); err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) {
				return nil, fmt.Errorf("%w: creating %s: %v", ErrWireguardUnsupported, want.Iface, err)
			}
			return nil, fmt.Errorf("creating %s: %w", want.Iface, err)
		}
		r.log.Info("created WireGuard device", zap.String("iface", want.Iface), zap.Int("mtu", want.MTU))
		if link, err = linkByName(r.h, want.Iface); err != nil || link == nil {
			return nil, fmt.Errorf("%s after creating it: %v", want.Iface, err)
		}
	}
	if link.Attrs().MTU != want.MTU {
		if err := r.h.nl.LinkSetMTU(link, want.MTU); err != nil {
			return nil, fmt.Errorf("%s mtu %d: %w", want.Iface, want.MTU, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := r.h.nl.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("%s up: %w", want.Iface, err)
		}
	}
	return link, nil
}

// client opens wgctrl's generic netlink socket in the namespace (a socket stays in the
// namespace it was created in).
func (r *wireguardRec) client() (*wgctrl.Client, error) {
	var c *wgctrl.Client
	err := r.h.inNS(func() error {
		var err error
		c, err = wgctrl.New()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("wgctrl: %w", err)
	}
	return c, nil
}

// configure writes key, port, fwmark and peers, touching only what differs: an existing peer
// is updated in place (its session survives), a peer no longer wanted is removed.
func (r *wireguardRec) configure(want *calc.WireguardDesired, key wgtypes.Key) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	defer c.Close()
	dev, err := c.Device(want.Iface)
	if err != nil {
		return fmt.Errorf("reading %s: %w", want.Iface, err)
	}
	var cfg wgtypes.Config
	changed := false
	if dev.PrivateKey != key {
		cfg.PrivateKey, changed = &key, true
	}
	if dev.ListenPort != want.Port {
		cfg.ListenPort, changed = &want.Port, true
	}
	if mark := int(want.FwMark); dev.FirewallMark != mark {
		cfg.FirewallMark, changed = &mark, true
	}
	have := map[wgtypes.Key]wgtypes.Peer{}
	for _, p := range dev.Peers {
		have[p.PublicKey] = p
	}
	wanted := map[wgtypes.Key]bool{}
	for _, p := range want.Peers {
		pk, err := wgtypes.ParseKey(p.PublicKey)
		if err != nil || pk == key.PublicKey() {
			r.log.Warn("skipping WireGuard peer", zap.String("node", p.Node), zap.String("reason", "bad or duplicate public key"))
			continue
		}
		if wanted[pk] {
			continue // two nodes with one key (a copied state dir): the first one wins
		}
		wanted[pk] = true
		if cur, ok := have[pk]; ok && samePeer(cur, p, want.KeepAlive) {
			continue
		}
		ka := want.KeepAlive
		pc := wgtypes.PeerConfig{PublicKey: pk, Endpoint: net.UDPAddrFromAddrPort(p.Endpoint),
			PersistentKeepaliveInterval: &ka, ReplaceAllowedIPs: true}
		for _, a := range p.AllowedIPs {
			pc.AllowedIPs = append(pc.AllowedIPs, net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())})
		}
		cfg.Peers, changed = append(cfg.Peers, pc), true
	}
	for pk := range have {
		if !wanted[pk] {
			cfg.Peers, changed = append(cfg.Peers, wgtypes.PeerConfig{PublicKey: pk, Remove: true}), true
		}
	}
	if !changed {
		return nil
	}
	if err := c.ConfigureDevice(want.Iface, cfg); err != nil {
		return fmt.Errorf("configuring %s: %w", want.Iface, err)
	}
	r.log.Info("configured WireGuard device", zap.String("iface", want.Iface), zap.Int("peers", len(wanted)),
		zap.Int("peerWrites", len(cfg.Peers)), zap.Bool("keyChanged", cfg.PrivateKey != nil))
	return nil
}

// samePeer compares a device peer with the wanted one (endpoint, keepalive, allowed IPs).
func samePeer(have wgtypes.Peer, want calc.WireguardPeer, keepAlive time.Duration) bool {
	if have.Endpoint == nil || have.Endpoint.AddrPort() != want.Endpoint ||
		have.PersistentKeepaliveInterval != keepAlive || len(have.AllowedIPs) != len(want.AllowedIPs) {
		return false
	}
	got := make([]netip.Prefix, 0, len(have.AllowedIPs))
	for _, n := range have.AllowedIPs {
		a, _ := netip.AddrFromSlice(n.IP)
		ones, _ := n.Mask.Size()
		got = append(got, netip.PrefixFrom(a.Unmap(), ones))
	}
	slices.SortFunc(got, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr())*2 + cmpInt(a.Bits(), b.Bits()) })
	w := slices.Clone(want.AllowedIPs)
	slices.SortFunc(w, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr())*2 + cmpInt(a.Bits(), b.Bits()) })
	return slices.Equal(got, w)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
