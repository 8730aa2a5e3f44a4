package dataplane

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// vtepTable owns the permanent ARP neighbours (tunnel IP -> MAC) and FDB entries (MAC ->
// host IP) on vxlan.calico. Everything permanent on that device is brindle's. Like the
// route table it keeps a mirror of the kernel, re-read when marked stale.
type vtepTable struct {
	mu    sync.Mutex
	h     *nsHandles
	log   *zap.Logger
	link  int                      // vxlan.calico's index when actual was read
	arp   map[netip.Addr]string    // tunnel IP -> MAC
	fdb   map[string]netip.Addr    // MAC -> host IP
	want  map[netip.Addr]calc.VTEP // by tunnel IP
	byMAC map[string]calc.VTEP
	prev  []calc.VTEP
	// changed: the wanted set or the kernel changed since the last apply; without it, and
	// without staleness, apply has nothing to do and skips the walk over every VTEP.
	changed bool
	stale   bool
	writes  int
}

func newVTEPTable(h *nsHandles, log *zap.Logger) *vtepTable {
	return &vtepTable{h: h, log: log, stale: true}
}

func (v *vtepTable) markStale() {
	v.mu.Lock()
	v.stale = true
	v.mu.Unlock()
}

func vtepEqual(a, b calc.VTEP) bool {
	return a.TunnelIP == b.TunnelIP && a.HostIP == b.HostIP && bytes.Equal(a.MAC, b.MAC)
}

func (v *vtepTable) set(vteps []calc.VTEP) {
	v.mu.Lock()
	same := v.want != nil && slices.EqualFunc(v.prev, vteps, vtepEqual)
	v.mu.Unlock()
	if same {
		return
	}
	want := make(map[netip.Addr]calc.VTEP, len(vteps))
	byMAC := make(map[string]calc.VTEP, len(vteps))
	for _, t := range vteps {
		want[t.TunnelIP] = t
		byMAC[t.MAC.String()] = t
	}
	v.mu.Lock()
	v.want, v.byMAC, v.prev, v.changed = want, byMAC, vteps, true
	v.mu.Unlock()
}

func (v *vtepTable) resync(link int) error {
	v.arp, v.fdb, v.link = map[netip.Addr]string{}, map[string]netip.Addr{}, link
	neighs, err := dump("neighbours", func() ([]netlink.Neigh, error) { return v.h.nl.NeighList(link, netlink.FAMILY_V4) })
	if err != nil {
		return err
	}
	for _, n := range neighs {
		if ip, ok := netip.AddrFromSlice(n.IP); ok && n.State&netlink.NUD_PERMANENT != 0 {
			v.arp[ip.Unmap()] = n.HardwareAddr.String()
		}
	}
	fdb, err := dump("fdb", func() ([]netlink.Neigh, error) { return v.h.nl.NeighList(link, unix.AF_BRIDGE) })
	if err != nil {
		return err
	}
	for _, n := range fdb {
		if ip, ok := netip.AddrFromSlice(n.IP); ok && n.State&netlink.NUD_PERMANENT != 0 && n.LinkIndex == link {
			v.fdb[n.HardwareAddr.String()] = ip.Unmap()
		}
	}
	v.stale = false
	return nil
}

// apply converges the device's entries; with no VXLAN device there is nothing to hold them.
func (v *vtepTable) apply(link int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if link == 0 {
		v.arp, v.fdb, v.stale = nil, nil, true
		return nil
	}
	if !v.stale && link == v.link && !v.changed {
		return nil
	}
	if v.stale || link != v.link {
		if err := v.resync(link); err != nil {
			return err
		}
	}
	v.changed = false
	var errs []string
	wantFDB := make(map[string]bool, len(v.want))
	for ip, t := range v.want {
		mac := t.MAC.String()
		wantFDB[mac] = true
		if v.arp[ip] != mac {
			n := &netlink.Neigh{LinkIndex: link, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
				IP: ip.AsSlice(), HardwareAddr: t.MAC}
			if err := v.h.nl.NeighSet(n); err != nil {
				errs = append(errs, fmt.Sprintf("neighbour %s: %v", ip, err))
			} else {
				v.arp[ip] = mac
				v.writes++
			}
		}
		if v.fdb[mac] != t.HostIP {
			if err := v.h.nl.NeighSet(fdbEntry(link, t.MAC, t.HostIP)); err != nil {
				errs = append(errs, fmt.Sprintf("fdb %s: %v", mac, err))
			} else {
				v.fdb[mac] = t.HostIP
				v.writes++
			}
		}
	}
	for ip, mac := range v.arp {
		if _, ok := v.want[ip]; ok {
			continue
		}
		hw, _ := net.ParseMAC(mac)
		n := &netlink.Neigh{LinkIndex: link, Family: netlink.FAMILY_V4, IP: ip.AsSlice(), HardwareAddr: hw}
		if err := v.h.nl.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Sprintf("delete neighbour %s: %v", ip, err))
			continue
		}
		delete(v.arp, ip)
		v.writes++
	}
	for mac, host := range v.fdb {
		if wantFDB[mac] {
			continue
		}
		hw, _ := net.ParseMAC(mac)
		if err := v.h.nl.NeighDel(fdbEntry(link, hw, host)); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Sprintf("delete fdb %s: %v", mac, err))
			continue
		}
		delete(v.fdb, mac)
		v.writes++
	}
	if len(errs) > 0 {
		v.stale = true
		return fmt.Errorf("vteps: %s", summarize(errs))
	}
	return nil
}

func fdbEntry(link int, mac net.HardwareAddr, host netip.Addr) *netlink.Neigh {
	return &netlink.Neigh{LinkIndex: link, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF,
		State: netlink.NUD_PERMANENT, IP: host.AsSlice(), HardwareAddr: mac}
}

// observe reports whether a neighbour event touched an entry brindle wants on the device.
func (v *vtepTable) observe(u netlink.NeighUpdate) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.link == 0 || u.LinkIndex != v.link {
		return false
	}
	ip, _ := netip.AddrFromSlice(u.IP)
	ip = ip.Unmap()
	if u.Type == unix.RTM_DELNEIGH {
		if u.Family == unix.AF_BRIDGE {
			mac := u.HardwareAddr.String()
			if host, ok := v.fdb[mac]; ok && host == ip {
				delete(v.fdb, mac)
				v.changed = true
				return true
			}
			return false
		}
		if _, ok := v.arp[ip]; ok {
			delete(v.arp, ip)
			v.changed = true
			return true
		}
		return false
	}
	if u.Family == unix.AF_BRIDGE {
		t, ok := v.byMAC[u.HardwareAddr.String()]
		if ok && t.HostIP != ip {
			v.stale = true
			return true
		}
		return false
	}
	if t, ok := v.want[ip]; ok && !bytes.Equal(t.MAC, u.HardwareAddr) {
		v.stale = true
		return true
	}
	return false
}
