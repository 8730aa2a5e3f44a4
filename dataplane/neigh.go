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

type mac6 [6]byte

func toMAC6(hw net.HardwareAddr) (mac6, bool) {
	var m mac6
	if len(hw) != 6 {
		return m, false
	}
	copy(m[:], hw)
	return m, true
}

type vtepEntry struct {
	mac  mac6
	host netip.Addr
}

// vtepTable owns the permanent ARP neighbours (tunnel IP -> MAC) and FDB entries (MAC ->
// host IP) on vxlan.calico. Everything permanent on that device is brindle's. Like the
// route table it mirrors the kernel (re-read when stale) and, between resyncs, touches
// only the VTEPs that changed, so a node joining a 10,000-node cluster costs two writes.
type vtepTable struct {
	mu      sync.Mutex
	h       *nsHandles
	log     *zap.Logger
	fam     int                 // netlink.FAMILY_V4 (vxlan.calico) or FAMILY_V6 (vxlan-v6.calico)
	link    int                 // the device's index when the mirror was read
	arp     map[netip.Addr]mac6 // kernel: tunnel IP -> MAC
	fdb     map[mac6]netip.Addr // kernel: MAC -> host IP
	want    map[netip.Addr]vtepEntry
	wanted  map[mac6]netip.Addr // wanted FDB: MAC -> host IP
	macRefs map[mac6]int        // VTEPs using each wanted MAC
	dirty   map[netip.Addr]mac6 // tunnel IPs to converge, with the MAC they had before
	prev    []calc.VTEP
	stale   bool
	writes  int
	errs    []string
	seq     uint64 // calc.Delta.Seq of the list set last
}

func newVTEPTable(h *nsHandles, log *zap.Logger) *vtepTable {
	return &vtepTable{h: h, log: log, fam: netlink.FAMILY_V4, stale: true, want: map[netip.Addr]vtepEntry{},
		wanted: map[mac6]netip.Addr{}, macRefs: map[mac6]int{}, dirty: map[netip.Addr]mac6{}}
}

// newVTEPTable6 is the table of vxlan-v6.calico: IPv6 neighbours (tunnel IPv6 -> MAC) and
// FDB entries whose destination is the remote node's IPv6 address.
func newVTEPTable6(h *nsHandles, log *zap.Logger) *vtepTable {
	v := newVTEPTable(h, log)
	v.fam = netlink.FAMILY_V6
	return v
}

func (v *vtepTable) markStale() {
	v.mu.Lock()
	v.stale = true
	v.mu.Unlock()
}

// set takes the complete VTEP list (sorted by tunnel IP, as calc returns it) and marks the
// tunnel IPs whose entry changed, walking the previous and the new list once.
// With calc's delta relative to the list set last, only the tunnel addresses it names are
// looked at.
func (v *vtepTable) set(vteps []calc.VTEP, delta *calc.Delta) {
	v.mu.Lock()
	defer v.mu.Unlock()
	seq := v.seq
	v.seq = 0
	if delta != nil {
		v.seq = delta.Seq
	}
	if v.prev != nil && (sameSlice(v.prev, vteps) || delta != nil && delta.Seq == seq) {
		return // the list set last
	}
	if v.prev != nil && delta != nil && !delta.Full && delta.Prev == seq && seq != 0 {
		for _, ip := range delta.VTEPs {
			i, found := slices.BinarySearchFunc(vteps, ip, func(t calc.VTEP, a netip.Addr) int { return t.TunnelIP.Compare(a) })
			if found {
				v.put(vteps[i])
			} else {
				v.remove(ip)
			}
		}
		v.prev = vteps
		return
	}
	byIP := func(a, b calc.VTEP) int { return a.TunnelIP.Compare(b.TunnelIP) }
	if !slices.IsSortedFunc(vteps, byIP) {
		vteps = slices.SortedFunc(slices.Values(vteps), byIP)
	}
	old, i, j := v.prev, 0, 0
	for i < len(old) || j < len(vteps) {
		switch {
		case j == len(vteps) || (i < len(old) && byIP(old[i], vteps[j]) < 0):
			v.remove(old[i].TunnelIP)
			i++
		case i == len(old) || byIP(old[i], vteps[j]) > 0:
			v.put(vteps[j])
			j++
		default:
			if !vtepEqual(old[i], vteps[j]) {
				v.put(vteps[j])
			}
			i, j = i+1, j+1
		}
	}
	v.prev = vteps
}

func vtepEqual(a, b calc.VTEP) bool {
	return a.TunnelIP == b.TunnelIP && a.HostIP == b.HostIP && bytes.Equal(a.MAC, b.MAC)
}

func (v *vtepTable) put(t calc.VTEP) {
	m, ok := toMAC6(t.MAC)
	if !ok {
		v.remove(t.TunnelIP)
		return
	}
	old, had := v.want[t.TunnelIP]
	v.markDirty(t.TunnelIP, old.mac)
	if had {
		v.unrefMAC(old.mac)
	}
	v.want[t.TunnelIP] = vtepEntry{mac: m, host: t.HostIP}
	v.wanted[m] = t.HostIP
	v.macRefs[m]++
}

func (v *vtepTable) remove(ip netip.Addr) {
	if e, ok := v.want[ip]; ok {
		v.markDirty(ip, e.mac)
		delete(v.want, ip)
		v.unrefMAC(e.mac)
	}
}

// unrefMAC drops one VTEP's claim on a MAC's FDB entry. The entry stays while another VTEP
// uses the MAC: a node whose tunnel address moves is put at the new address before or
// after it is removed from the old one, depending on the addresses' order.
func (v *vtepTable) unrefMAC(m mac6) {
	if v.macRefs[m]--; v.macRefs[m] <= 0 {
		delete(v.macRefs, m)
		delete(v.wanted, m)
	}
}

func (v *vtepTable) markDirty(ip netip.Addr, oldMAC mac6) {
	if _, ok := v.dirty[ip]; !ok {
		v.dirty[ip] = oldMAC
	}
}

func (v *vtepTable) resync(link int) error {
	v.arp, v.fdb, v.link = map[netip.Addr]mac6{}, map[mac6]netip.Addr{}, link
	neighs, err := dump("neighbours", func() ([]netlink.Neigh, error) { return v.h.nl.NeighList(link, v.fam) })
	if err != nil {
		return err
	}
	for _, n := range neighs {
		ip, ok := netip.AddrFromSlice(n.IP)
		m, okm := toMAC6(n.HardwareAddr)
		if ok && okm && n.State&netlink.NUD_PERMANENT != 0 {
			v.arp[ip.Unmap()] = m
		}
	}
	fdb, err := dump("fdb", func() ([]netlink.Neigh, error) { return v.h.nl.NeighList(link, unix.AF_BRIDGE) })
	if err != nil {
		return err
	}
	for _, n := range fdb {
		ip, ok := netip.AddrFromSlice(n.IP)
		m, okm := toMAC6(n.HardwareAddr)
		if ok && okm && n.State&netlink.NUD_PERMANENT != 0 && n.LinkIndex == link {
			v.fdb[m] = ip.Unmap()
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
	full := v.stale || link != v.link
	if full {
		if err := v.resync(link); err != nil {
			return err
		}
	} else if len(v.dirty) == 0 {
		return nil
	}
	w, err := v.h.writer()
	if err != nil {
		return err
	}
	v.errs = v.errs[:0]
	if full {
		for ip := range v.want {
			v.convergeARP(w, ip)
		}
		for ip := range v.arp {
			if _, ok := v.want[ip]; !ok {
				v.convergeARP(w, ip)
			}
		}
		for m := range v.wanted {
			v.convergeFDB(w, m)
		}
		for m := range v.fdb {
			if _, ok := v.wanted[m]; !ok {
				v.convergeFDB(w, m)
			}
		}
	} else {
		// Each MAC once: writes are acknowledged only at the flush, so a second look at
		// the same MAC would queue the same write again.
		macs := make(map[mac6]struct{}, 2*len(v.dirty))
		for ip, oldMAC := range v.dirty {
			v.convergeARP(w, ip)
			macs[oldMAC] = struct{}{}
			if e, ok := v.want[ip]; ok {
				macs[e.mac] = struct{}{}
			}
		}
		for m := range macs {
			v.convergeFDB(w, m)
		}
	}
	w.flush()
	clear(v.dirty)
	if len(v.errs) > 0 {
		v.stale = true
		return fmt.Errorf("vteps: %s", summarize(v.errs))
	}
	return nil
}

// convergeARP queues the write that makes the neighbour entry for ip what brindle wants;
// the mirror follows the kernel's ack.
func (v *vtepTable) convergeARP(w *nlWriter, ip netip.Addr) {
	e, wanted := v.want[ip]
	have, present := v.arp[ip]
	switch {
	case wanted && (!present || have != e.mac):
		body := neighBody(uint8(v.fam), v.link, netlink.NUD_PERMANENT, 0, ip, e.mac[:])
		w.queue(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, body, func(err error) {
			if err != nil {
				v.errs = append(v.errs, fmt.Sprintf("neighbour %s: %v", ip, err))
				return
			}
			v.arp[ip] = e.mac
			v.writes++
		})
	case !wanted && present:
		body := neighBody(uint8(v.fam), v.link, 0, 0, ip, have[:])
		w.queue(unix.RTM_DELNEIGH, 0, body, func(err error) {
			if err != nil && !errors.Is(err, unix.ENOENT) {
				v.errs = append(v.errs, fmt.Sprintf("delete neighbour %s: %v", ip, err))
				return
			}
			delete(v.arp, ip)
			v.writes++
		})
	}
}

// convergeFDB does the same for the FDB entry of MAC m.
func (v *vtepTable) convergeFDB(w *nlWriter, m mac6) {
	host, wanted := v.wanted[m]
	have, present := v.fdb[m]
	switch {
	case wanted && (!present || have != host):
		body := neighBody(unix.AF_BRIDGE, v.link, netlink.NUD_PERMANENT, netlink.NTF_SELF, host, m[:])
		w.queue(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, body, func(err error) {
			if err != nil {
				v.errs = append(v.errs, fmt.Sprintf("fdb %s: %v", net.HardwareAddr(m[:]), err))
				return
			}
			v.fdb[m] = host
			v.writes++
		})
	case !wanted && present:
		body := neighBody(unix.AF_BRIDGE, v.link, netlink.NUD_PERMANENT, netlink.NTF_SELF, have, m[:])
		w.queue(unix.RTM_DELNEIGH, 0, body, func(err error) {
			if err != nil && !errors.Is(err, unix.ENOENT) {
				v.errs = append(v.errs, fmt.Sprintf("delete fdb %s: %v", net.HardwareAddr(m[:]), err))
				return
			}
			delete(v.fdb, m)
			v.writes++
		})
	}
}

// observe keeps the mirror current from neighbour events and reports drift from what
// brindle wants on the device (an entry deleted or changed by hand).
func (v *vtepTable) observe(u netlink.NeighUpdate) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.link == 0 || v.arp == nil || u.LinkIndex != v.link {
		return false
	}
	ip, ok := netip.AddrFromSlice(u.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	m, okm := toMAC6(u.HardwareAddr) // deletions of neighbours may carry no MAC
	permanent := u.State&netlink.NUD_PERMANENT != 0
	if u.Family == unix.AF_BRIDGE {
		if !okm {
			return false
		}
		if u.Type == unix.RTM_DELNEIGH {
			delete(v.fdb, m)
		} else if permanent {
			v.fdb[m] = ip
		}
		host, wanted := v.wanted[m]
		have, present := v.fdb[m]
		if (wanted && (!present || have != host)) || (!wanted && present) {
			v.markDirty(v.tunnelIPOf(m), m)
			return true
		}
		return false
	}
	if u.Type == unix.RTM_DELNEIGH {
		delete(v.arp, ip)
	} else if permanent && okm {
		v.arp[ip] = m
	}
	e, wanted := v.want[ip]
	have, present := v.arp[ip]
	if (wanted && (!present || have != e.mac)) || (!wanted && present) {
		v.markDirty(ip, m)
		return true
	}
	return false
}

// tunnelIPOf finds the VTEP owning a MAC (only on drift, so a scan is acceptable); an
// unknown MAC maps to the zero address, whose dirty entry still converges the FDB by MAC.
func (v *vtepTable) tunnelIPOf(m mac6) netip.Addr {
	for ip, e := range v.want {
		if e.mac == m {
			return ip
		}
	}
	return netip.Addr{}
}
