package explain

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Device names brindle programs (calc.IPIPDeviceName, calc.VXLANDeviceName).
const (
	ipipDev  = "tunl0"
	vxlanDev = "vxlan.calico"
	// Calico's default gateway inside every container (the CNI plugin's route; the host
	// side answers ARP for it by proxy_arp).
	containerGW = "169.254.1.1"
	ipipOver    = 20
	vxlanOver   = 50
)

func on(node, cmd string) string { return cmd + " (on " + node + ")" }

// workloadHop shows the container side and the host-side veth, as the seed finds them:
// eth0's iflink is the index of the cali* interface on the host.
func workloadHop(step string, f *Facts, e Endpoint, mtu *int) Hop {
	h := Hop{Step: step, Node: f.Node}
	wl, ok := f.workloadByAddr(e.Addr)
	if !ok {
		h.Fault = &Fault{What: fmt.Sprintf("%s has no local workload with address %s (the datastore puts %s there)", f.Node, e.Addr, e.Name),
			Command: on(f.Node, "brindle get workloadendpoints -o wide; ip route get "+e.Addr.String())}
		return h
	}
	name := e.Name
	if name == "" {
		name = wl.Name
	}
	h.Lines = append(h.Lines, fmt.Sprintf("workload %s, address %s", name, e.Addr))
	host, hok := f.link(wl.Iface)
	if ct := wl.Container; ct != nil {
		*mtu = ct.MTU
		h.Lines = append(h.Lines, fmt.Sprintf("inside the container: %s mtu %d, iflink %d", ct.Iface, ct.MTU, ct.IfLink))
		def, dok := Lookup(ct.Routes, netip.MustParseAddr("192.0.2.1"))
		if !dok || def.Dst.Bits() != 0 || def.Gw.String() != containerGW {
			h.Fault = &Fault{What: "the container has no default route via " + containerGW,
				Command: "ip route (inside the container)"}
			return h
		}
		h.Lines = append(h.Lines, "container route: "+def.String()+" (every destination goes to the host side of the veth)")
		if hok && ct.IfLink != 0 && ct.IfLink != host.Index {
			h.Fault = &Fault{What: fmt.Sprintf("the container's %s is the peer of interface %d, but the endpoint names %s (index %d)", ct.Iface, ct.IfLink, wl.Iface, host.Index),
				Command: on(f.Node, fmt.Sprintf("ip link show %d", ct.IfLink))}
			return h
		}
	} else if wl.ContainerErr != "" {
		h.Lines = append(h.Lines, "container namespace not inspected: "+wl.ContainerErr)
	}
	if !hok {
		h.Fault = &Fault{What: "the host-side interface " + wl.Iface + " does not exist",
			Command: on(f.Node, "ip link show "+wl.Iface)}
		return h
	}
	h.Lines = append(h.Lines, fmt.Sprintf("host side: %d: %s mtu %d %s", host.Index, host.Name, host.MTU, upDown(host.Up)))
	if !host.Up {
		h.Fault = &Fault{What: "the host-side interface " + wl.Iface + " is down", Command: on(f.Node, "ip link show "+wl.Iface)}
	}
	if *mtu == 0 {
		*mtu = host.MTU
	}
	return h
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

// sourceNode is the source node's decision: the route the kernel chooses, checked against
// the route brindle wants, the encapsulation and MTU, and NAT. It returns the fabric next
// hop (outer destination when encapsulated, else the route's gateway or the destination).
func (w *walker) sourceNode(f *Facts) (Hop, netip.Addr) {
	h := Hop{Step: "source node", Node: f.Node}
	dst := w.dst.Addr
	if !w.policy(f, &h, true) {
		return h, netip.Addr{}
	}
	if !f.Ready {
		h.Lines = append(h.Lines, "agent not ready: "+strings.Join(f.NotReady, "; "))
	}
	r, ok := Lookup(f.Routes, dst)
	getCmd := on(f.Node, "ip route get "+dst.String())
	d, dok := Lookup(f.Desired, dst)
	if !ok {
		h.Fault = &Fault{What: "no route to " + dst.String(), Command: getCmd}
		if dok {
			h.Fault.What += "; brindle wants " + d.String() + " (" + d.Reason + ")"
		}
		return h, netip.Addr{}
	}
	h.Lines = append(h.Lines, fmt.Sprintf("route: %s  [owner: %s]", r, Owner(r)))
	if dok && d.Dst.Bits() >= r.Dst.Bits() && !sameForwarding(r, d) {
		if why, un := f.Unresolved[d.Gw]; d.Recursive && un {
			h.Fault = &Fault{What: fmt.Sprintf("BGP next hop %s of %s cannot be resolved (%s), so the route is left out of the kernel", d.Gw, d.Dst, why),
				Command: on(f.Node, "ip route get "+d.Gw.String()+"; brindle node status")}
			return h, netip.Addr{}
		}
		h.Fault = &Fault{What: fmt.Sprintf("brindle wants `%s` (%s) but the kernel chooses `%s`", d, d.Reason, r), Command: getCmd}
		return h, netip.Addr{}
	}
	if dok && d.Dst == r.Dst && d.Reason != "" {
		h.Lines = append(h.Lines, "why: "+d.Reason)
	}
	if !r.delivers() {
		h.Fault = &Fault{What: fmt.Sprintf("the kernel drops packets to %s: %s", dst, r), Command: getCmd}
		if w.dst.Node == f.Node && w.dst.Kind == KindWorkload {
			h.Fault.What += " (no /32 route to the local workload)"
		}
		return h, netip.Addr{}
	}
	if w.dst.Node == f.Node {
		return h, dst
	}
	next := dst
	if r.Gw.IsValid() {
		next = r.Gw
	}
	w.encap = "none"
	switch r.Dev {
	case ipipDev:
		w.encap = "IPIP"
		w.outer = [2]netip.Addr{f.Address.Addr(), r.Gw}
		h.Lines = append(h.Lines, fmt.Sprintf("encapsulation: IPIP on %s, outer %s > %s (IP protocol 4), inner %s > %s",
			ipipDev, f.Address.Addr(), r.Gw, w.src.Addr, dst))
	case vxlanDev:
		w.encap = "VXLAN"
		v, vok := f.vtep(r.Gw)
		n, nok := f.neigh(vxlanDev, r.Gw)
		if !vok || !nok || n.State == "FAILED" || n.State == "INCOMPLETE" {
			h.Fault = &Fault{What: fmt.Sprintf("no usable neighbour for VTEP %s on %s (brindle programs it permanent from the node's VXLAN address and MAC)", r.Gw, vxlanDev),
				Command: on(f.Node, "ip neigh show dev "+vxlanDev+"; bridge fdb show dev "+vxlanDev)}
			return h, netip.Addr{}
		}
		w.outer = [2]netip.Addr{f.Address.Addr(), v.HostIP}
		next = v.HostIP
		h.Lines = append(h.Lines, fmt.Sprintf("encapsulation: VXLAN on %s, VTEP %s lladdr %s of %s, outer %s > %s UDP %d, inner %s > %s",
			vxlanDev, r.Gw, n.MAC, v.Node, f.Address.Addr(), v.HostIP, 4789, w.src.Addr, dst))
	default:
		h.Lines = append(h.Lines, fmt.Sprintf("encapsulation: none, the packet leaves %s as %s > %s", r.Dev, w.src.Addr, dst))
	}
	if fault := w.mtu(f, r, &h); fault != nil {
		h.Fault = fault
		return h, netip.Addr{}
	}
	h.Lines = append(h.Lines, natLine(f, w.src.Addr, dst))
	return h, next
}

// mtu checks that the inner packet fits the egress device and, when encapsulated, that the
// tunnel device's MTU plus the header fits the uplink.
func (w *walker) mtu(f *Facts, r Route, h *Hop) *Fault {
	eg, ok := f.link(r.Dev)
	if !ok {
		return &Fault{What: "the route's device " + r.Dev + " does not exist", Command: on(f.Node, "ip link show "+r.Dev)}
	}
	steps := []string{}
	if w.innerMTU > 0 {
		steps = append(steps, fmt.Sprintf("workload %d", w.innerMTU))
	}
	steps = append(steps, fmt.Sprintf("%s %d", eg.Name, eg.MTU))
	if w.innerMTU > eg.MTU {
		return &Fault{What: fmt.Sprintf("MTU mismatch: the workload sends up to %d bytes but %s takes %d", w.innerMTU, eg.Name, eg.MTU),
			Command: on(f.Node, "ip link show "+eg.Name)}
	}
	over := map[string]int{ipipDev: ipipOver, vxlanDev: vxlanOver}[r.Dev]
	if over > 0 {
		if w.outer[1].IsValid() {
			if ur, uok := Lookup(f.Routes, w.outer[1]); uok {
				if up, lok := f.link(ur.Dev); lok {
					w.fabricDev = up.Name
					steps = append(steps, fmt.Sprintf("+%d header, %s %d", over, up.Name, up.MTU))
					if eg.MTU+over > up.MTU {
						return &Fault{What: fmt.Sprintf("MTU mismatch: %s %d plus the %d-byte header exceeds %s's %d", eg.Name, eg.MTU, over, up.Name, up.MTU),
							Command: on(f.Node, "ip link show "+up.Name+"; ip link show "+eg.Name)}
					}
				}
			}
		}
	} else {
		w.fabricDev = eg.Name
	}
	h.Lines = append(h.Lines, "MTU: "+strings.Join(steps, " -> "))
	return nil
}

func natLine(f *Facts, src, dst netip.Addr) string {
	switch {
	case inAny(f.MasqPools, src) && !inAny(f.AllPools, dst):
		return fmt.Sprintf("NAT: natOutgoing: %s is masqueraded to %s (nftables table ip brindle, chain postrouting)", src, f.Address.Addr())
	case inAny(f.MasqPools, src):
		return "NAT: none (natOutgoing pool, but the destination is inside an IP pool)"
	}
	return "NAT: none"
}

// fabric is the hop between the nodes: the next hop on a connected subnet, or through a
// router; its neighbour entry; the BGP session with the destination node.
func (w *walker) fabric(f *Facts, next netip.Addr) Hop {
	h := Hop{Step: "fabric", Node: f.Node}
	r, ok := Lookup(f.Routes, next)
	if !ok {
		h.Fault = &Fault{What: "no route to the next hop " + next.String(), Command: on(f.Node, "ip route get "+next.String())}
		return h
	}
	l2 := next
	if r.Gw.IsValid() {
		l2 = r.Gw
		h.Lines = append(h.Lines, fmt.Sprintf("%s is not on a connected subnet: through router %s dev %s (%s)", next, r.Gw, r.Dev, r))
	} else {
		h.Lines = append(h.Lines, fmt.Sprintf("%s is on the connected subnet %s dev %s", next, r.Dst, r.Dev))
	}
	if n, nok := f.neigh(r.Dev, l2); nok {
		h.Lines = append(h.Lines, fmt.Sprintf("neighbour %s lladdr %s %s", l2, n.MAC, n.State))
		if n.State == "FAILED" || n.State == "INCOMPLETE" {
			h.Fault = &Fault{What: fmt.Sprintf("neighbour %s on %s is %s: it does not answer ARP", l2, r.Dev, n.State),
				Command: on(f.Node, "ip neigh show "+l2.String())}
			return h
		}
	}
	df := w.c.Facts[w.dst.Node]
	peerAddr := w.dst.NodeAddr
	if !peerAddr.IsValid() && df != nil {
		peerAddr = df.Address.Addr()
	}
	if st, info, pok := f.peer(peerAddr); pok && st != "up" {
		h.Fault = &Fault{What: fmt.Sprintf("BGP session with %s (%s) is down: %s", w.dst.Node, peerAddr, info),
			Command: on(f.Node, "brindle node status")}
		return h
	} else if pok {
		h.Lines = append(h.Lines, fmt.Sprintf("BGP session with %s (%s): %s", w.dst.Node, peerAddr, info))
	}
	if df != nil {
		if up, uok := df.link(df.Uplink); uok && w.fabricDev != "" {
			if sl, sok := f.link(w.fabricDev); sok && sl.MTU != up.MTU && r.Gw == (netip.Addr{}) {
				h.Fault = &Fault{What: fmt.Sprintf("MTU mismatch on the link: %s %s is %d, %s %s is %d", f.Node, sl.Name, sl.MTU, w.dst.Node, up.Name, up.MTU),
					Command: on(f.Node, "ip link show "+sl.Name) + "; " + on(w.dst.Node, "ip link show "+up.Name)}
				return h
			}
		}
	}
	return h
}

// destNode is the destination node: the packet must land on one of its addresses when
// encapsulated, the decapsulation device must be up, and the kernel must route the inner
// destination to the workload's /32.
func (w *walker) destNode(f *Facts) Hop {
	h := Hop{Step: "destination node", Node: f.Node}
	if w.dst.Node != w.src.Node && w.outer[1].IsValid() {
		if !slices.ContainsFunc(f.Addrs, func(a Addr) bool { return a.Prefix.Addr() == w.outer[1] }) {
			h.Fault = &Fault{What: fmt.Sprintf("the outer destination %s is not an address of %s", w.outer[1], f.Node),
				Command: on(f.Node, "ip -4 addr")}
			return h
		}
		dev := map[string]string{"IPIP": ipipDev, "VXLAN": vxlanDev}[w.encap]
		l, ok := f.link(dev)
		if !ok || !l.Up {
			h.Fault = &Fault{What: fmt.Sprintf("%s packets arrive but %s is missing or down, so nothing decapsulates them", w.encap, dev),
				Command: on(f.Node, "ip -d link show "+dev)}
			return h
		}
		how := "IP protocol 4 is handed to tunl0"
		if w.encap == "VXLAN" {
			how = "UDP 4789 is handed to vxlan.calico"
		}
		h.Lines = append(h.Lines, fmt.Sprintf("decapsulation: %s (mtu %d): %s", dev, l.MTU, how))
	}
	if !w.policy(f, &h, false) {
		return h
	}
	if w.dst.Kind != KindWorkload {
		h.Lines = append(h.Lines, w.dst.Addr.String()+" is the node's own address: delivered locally")
		return h
	}
	r, ok := Lookup(f.Routes, w.dst.Addr)
	wl, wok := f.workloadByAddr(w.dst.Addr)
	getCmd := on(f.Node, "ip route get "+w.dst.Addr.String())
	if !ok {
		h.Fault = &Fault{What: "no route to " + w.dst.Addr.String(), Command: getCmd}
		return h
	}
	h.Lines = append(h.Lines, fmt.Sprintf("route: %s  [owner: %s]", r, Owner(r)))
	if !wok {
		h.Fault = &Fault{What: fmt.Sprintf("%s has no local workload %s", f.Node, w.dst.Addr), Command: on(f.Node, "brindle get workloadendpoints -o wide")}
		return h
	}
	if !r.delivers() || r.Dev != wl.Iface || r.Dst.Bits() != 32 {
		h.Fault = &Fault{What: fmt.Sprintf("the kernel chooses `%s` instead of `%s/32 dev %s scope link`", r, w.dst.Addr, wl.Iface), Command: getCmd}
		return h
	}
	return h
}
