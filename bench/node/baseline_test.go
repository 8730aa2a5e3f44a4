package nodebench

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"

	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/testbed"
)

// Baselines measured in the same run as the agent, so ratios survive a busy machine.

// bareProgram writes, from this process with one plain netlink request per object, the kernel
// state the agent must reach for remote nodes [0, n): the floor for programming it.
func bareProgram(h *testbed.Host, n int, vxlan bool) (time.Duration, error) {
	up, err := h.NL.LinkByName(h.Uplink)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	dev := up.Attrs().Index
	if vxlan {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU = "vxlan.calico", 1450
		if err := h.NL.LinkAdd(&netlink.Vxlan{LinkAttrs: la, VxlanId: 4096, Port: 4789, Learning: false}); err != nil {
			return 0, fmt.Errorf("baseline vxlan device: %w", err)
		}
		l, err := h.NL.LinkByName(la.Name)
		if err == nil {
			err = h.NL.LinkSetUp(l)
		}
		if err != nil {
			return 0, err
		}
		dev = l.Attrs().Index
	}
	for i := range n {
		block := remoteBlock(i)
		r := &netlink.Route{LinkIndex: dev, Dst: ipNet(block), Gw: remoteIP(i).AsSlice(), Protocol: 80}
		if vxlan {
			tun := block.Addr()
			sum := sha1.Sum([]byte(remoteName(i)))
			mac := net.HardwareAddr(append([]byte{0x66}, sum[:5]...))
			if err := h.NL.NeighSet(&netlink.Neigh{LinkIndex: dev, Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
				IP: tun.AsSlice(), HardwareAddr: mac}); err != nil {
				return 0, fmt.Errorf("baseline neighbour %s: %w", tun, err)
			}
			if err := h.NL.NeighSet(&netlink.Neigh{LinkIndex: dev, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT,
				Flags: netlink.NTF_SELF, IP: remoteIP(i).AsSlice(), HardwareAddr: mac}); err != nil {
				return 0, fmt.Errorf("baseline fdb %s: %w", mac, err)
			}
			r.Gw, r.Flags = tun.AsSlice(), int(netlink.FLAG_ONLINK)
		}
		if err := h.NL.RouteAdd(r); err != nil {
			return 0, fmt.Errorf("baseline route %s: %w", block, err)
		}
	}
	return time.Since(start), nil
}

// bareProgram6 is bareProgram for the IPv6 twin: remote /122 blocks via the remote nodes'
// IPv6 addresses, no encapsulation.
func bareProgram6(h *testbed.Host, n int) (time.Duration, error) {
	up, err := h.NL.LinkByName(h.Uplink)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := range n {
		block := remoteBlock6(i)
		r := &netlink.Route{LinkIndex: up.Attrs().Index, Dst: ipNet(block), Gw: remoteIP6(i).AsSlice(), Protocol: 80}
		if err := h.NL.RouteAdd(r); err != nil {
			return 0, fmt.Errorf("baseline route %s: %w", block, err)
		}
	}
	return time.Since(start), nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// bareList times one list of everything under /calico/ from this process: the floor for
// reading the datastore at start.
func bareList(ctx context.Context, st *store.Client) (time.Duration, int, error) {
	start := time.Now()
	kvs, _, err := st.ListKV(ctx, "/calico/")
	return time.Since(start), len(kvs), err
}

// bareWatchLatency times, count times, a write of a fresh key to its delivery on a watch
// this process holds: the datastore's floor for any "etcd write -> agent reacts" figure.
func bareWatchLatency(ctx context.Context, st *store.Client, count int) ([]time.Duration, error) {
	const pfx = "/bnb-bench/watch/"
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := st.Etcd().Watch(wctx, pfx, clientv3.WithPrefix())
	var out []time.Duration
	for i := range count {
		start := time.Now()
		if _, err := st.PutKV(ctx, fmt.Sprintf("%s%d", pfx, i), []byte("x")); err != nil {
			return nil, err
		}
		select {
		case resp := <-wch:
			if err := resp.Err(); err != nil {
				return nil, err
			}
			out = append(out, time.Since(start))
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("watch did not deliver write %d", i)
		}
	}
	_, err := st.Etcd().Delete(ctx, pfx, clientv3.WithPrefix())
	return out, err
}
