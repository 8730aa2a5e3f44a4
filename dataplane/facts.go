package dataplane

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/explain"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Where container runtimes keep named network namespaces. A workload's namespace is found
// by the veth peer's link-netnsid, as the seed finds eth0's peer through iflink; namespaces
// held only by a process (/proc/<pid>/ns/net) are not searched.
var netnsDirs = []string{"/var/run/netns", "/var/run/docker/netns"}

// ReadFacts reads the kernel state `brindle explain` needs from the namespace at nsPath
// (empty: the caller's): links, IPv4 addresses, the main table's IPv4 routes, IPv4
// neighbours, and for each workload the container side of its veth. It only reads.
func ReadFacts(nsPath string, workloads []calc.LocalWorkload) (explain.Facts, error) {
	var f explain.Facts
	h, err := openNS(nsPath)
	if err != nil {
		return f, err
	}
	defer h.close()
	links, err := h.nl.LinkList()
	if err != nil {
		return f, fmt.Errorf("listing links: %w", err)
	}
	names := map[int]string{}
	byName := map[string]netlink.Link{}
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		byName[a.Name] = l
		f.Links = append(f.Links, explain.Link{Index: a.Index, Name: a.Name, Kind: l.Type(), MTU: a.MTU,
			Up: a.Flags&net.FlagUp != 0 && a.OperState != netlink.OperDown, PeerIndex: a.ParentIndex})
	}
	if f.Addrs, err = readAddrs(h.nl, names); err != nil {
		return f, err
	}
	if f.Routes, err = readRoutes(h.nl, names); err != nil {
		return f, err
	}
	neighs, err := h.nl.NeighList(0, netlink.FAMILY_V4)
	if err != nil {
		return f, fmt.Errorf("listing neighbours: %w", err)
	}
	for _, n := range neighs {
		ip, ok := netip.AddrFromSlice(n.IP.To4())
		if !ok || names[n.LinkIndex] == "" {
			continue
		}
		f.Neighs = append(f.Neighs, explain.Neigh{Dev: names[n.LinkIndex], IP: ip, MAC: n.HardwareAddr.String(), State: nudName(n.State)})
	}
	f.Workloads = containerSides(h, workloads, byName)
	return f, nil
}

func readAddrs(nl *netlink.Handle, names map[int]string) ([]explain.Addr, error) {
	addrs, err := nl.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	var out []explain.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, explain.Addr{Dev: names[a.LinkIndex], Prefix: netip.PrefixFrom(ip, ones)})
	}
	return out, nil
}

func readRoutes(nl *netlink.Handle, names map[int]string) ([]explain.Route, error) {
	rs, err := nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	out := make([]explain.Route, 0, len(rs))
	for _, r := range rs {
		er := explain.Route{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Type: rtnName(r.Type), Dev: names[r.LinkIndex],
			OnLink: r.Flags&unix.RTNH_F_ONLINK != 0, Protocol: int(r.Protocol), Metric: r.Priority}
		if r.Dst != nil {
			ip, _ := netip.AddrFromSlice(r.Dst.IP.To4())
			ones, _ := r.Dst.Mask.Size()
			er.Dst = netip.PrefixFrom(ip, ones)
		}
		if gw, ok := netip.AddrFromSlice(r.Gw.To4()); ok {
			er.Gw = gw
		}
		if src, ok := netip.AddrFromSlice(r.Src.To4()); ok {
			er.Src = src
		}
		out = append(out, er)
	}
	return out, nil
}

// containerSides finds each workload's container namespace by the host veth's peer
// namespace id and reads eth0 there: its MTU, iflink, addresses and routes.
func containerSides(h *nsHandles, wls []calc.LocalWorkload, byName map[string]netlink.Link) []explain.Workload {
	out := make([]explain.Workload, 0, len(wls))
	want := map[int]bool{} // nsids still to find
	for _, w := range wls {
		if l, ok := byName[w.Iface]; ok && l.Attrs().NetNsID >= 0 {
			want[l.Attrs().NetNsID] = true
		}
	}
	paths := map[int]string{}
	for _, dir := range netnsDirs {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if len(paths) == len(want) {
				break
			}
			p := filepath.Join(dir, e.Name())
			fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			id, err := h.nl.GetNetNsIdByFd(fd)
			unix.Close(fd)
			if err == nil && want[id] {
				paths[id] = p
			}
		}
	}
	for _, w := range wls {
		ew := explain.Workload{Iface: w.Iface, IPs: w.IPs}
		l, ok := byName[w.Iface]
		switch {
		case !ok:
			ew.ContainerErr = "no interface " + w.Iface
		case paths[l.Attrs().NetNsID] == "":
			ew.ContainerErr = fmt.Sprintf("the peer's namespace (link-netnsid %d) is not named under %s", l.Attrs().NetNsID, strings.Join(netnsDirs, " or "))
		default:
			ct, err := readContainer(paths[l.Attrs().NetNsID], l.Attrs().ParentIndex)
			if err != nil {
				ew.ContainerErr = err.Error()
			}
			ew.Container = ct
		}
		out = append(out, ew)
	}
	return out
}

func readContainer(path string, index int) (*explain.Container, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	nl, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	l, err := nl.LinkByIndex(index)
	if err != nil {
		return nil, fmt.Errorf("%s: interface %d: %w", path, index, err)
	}
	a := l.Attrs()
	ct := &explain.Container{Iface: a.Name, MTU: a.MTU, IfLink: a.ParentIndex}
	names := map[int]string{a.Index: a.Name}
	if lo, err := nl.LinkByName("lo"); err == nil {
		names[lo.Attrs().Index] = "lo"
	}
	if ct.Addrs, err = readAddrs(nl, names); err != nil {
		return ct, err
	}
	ct.Routes, err = readRoutes(nl, names)
	return ct, err
}

func rtnName(t int) string {
	switch t {
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	case unix.RTN_LOCAL:
		return "local"
	}
	return "unicast"
}

func nudName(s int) string {
	for _, n := range []struct {
		bit  int
		name string
	}{{netlink.NUD_PERMANENT, "PERMANENT"}, {netlink.NUD_REACHABLE, "REACHABLE"}, {netlink.NUD_STALE, "STALE"},
		{netlink.NUD_DELAY, "DELAY"}, {netlink.NUD_PROBE, "PROBE"}, {netlink.NUD_FAILED, "FAILED"},
		{netlink.NUD_INCOMPLETE, "INCOMPLETE"}, {netlink.NUD_NOARP, "NOARP"}} {
		if s&n.bit != 0 {
			return n.name
		}
	}
	return "NONE"
}

// DesiredFacts turns calc's desired state into the explain package's terms.
func DesiredFacts(want calc.Desired) (routes []explain.Route, vteps []explain.VTEP) {
	for _, r := range want.Routes {
		er := explain.Route{Dst: r.Dst, Gw: r.Gw, Dev: r.Dev, OnLink: r.OnLink, Recursive: r.Recursive, Reason: r.Reason}
		if r.Kind == calc.RouteBlackhole {
			er.Type = "blackhole"
		}
		routes = append(routes, er)
	}
	for _, v := range want.VTEPs {
		vteps = append(vteps, explain.VTEP{Node: v.Node, TunnelIP: v.TunnelIP, MAC: v.MAC.String(), HostIP: v.HostIP})
	}
	return routes, vteps
}
