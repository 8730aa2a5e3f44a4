package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/brindle-net/brindle/test/testbed"
)

// Route is the part of a kernel route the scenarios look at.
type Route struct {
	Dst       netip.Prefix
	Gw        netip.Addr
	Dev       string
	Blackhole bool
	OnLink    bool
	Proto     int
}

func (r Route) String() string {
	s := r.Dst.String()
	if r.Blackhole {
		s = "blackhole " + s
	}
	if r.Gw.IsValid() {
		s += " via " + r.Gw.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.OnLink {
		s += " onlink"
	}
	return fmt.Sprintf("%s proto %d", s, r.Proto)
}

// Routes lists the main table's IPv4 and IPv6 routes in the host's namespace.
func Routes(h *testbed.Host) ([]Route, error) {
	krs, err := h.NL.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("routes in %s: %w", h.Name, err)
	}
	var out []Route
	for _, kr := range krs {
		if kr.Dst == nil {
			continue
		}
		dst, ok := netip.AddrFromSlice(kr.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := kr.Dst.Mask.Size()
		r := Route{Dst: netip.PrefixFrom(dst.Unmap(), ones), Blackhole: kr.Type == unix.RTN_BLACKHOLE,
			OnLink: kr.Flags&unix.RTNH_F_ONLINK != 0, Proto: int(kr.Protocol)}
		if gw, ok := netip.AddrFromSlice(kr.Gw); ok {
			r.Gw = gw.Unmap()
		}
		if kr.LinkIndex > 0 {
			if l, err := h.NL.LinkByIndex(kr.LinkIndex); err == nil {
				r.Dev = l.Attrs().Name
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// RouteTo returns the route for exactly dst, if the host has one.
func RouteTo(h *testbed.Host, dst netip.Prefix) (Route, bool, error) {
	rs, err := Routes(h)
	if err != nil {
		return Route{}, false, err
	}
	for _, r := range rs {
		if r.Dst == dst {
			return r, true, nil
		}
	}
	return Route{}, false, nil
}

// Blocks returns the host's local blocks: the blackhole routes the agent programs for them.
func Blocks(h *testbed.Host) ([]netip.Prefix, error) {
	rs, err := Routes(h)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range rs {
		if r.Blackhole {
			out = append(out, r.Dst)
		}
	}
	return out, nil
}

// BlockOf returns the block (one of host's blackholes) that contains ip.
func BlockOf(h *testbed.Host, ip netip.Addr) (netip.Prefix, error) {
	// The agent installs the blackhole when it sees the block, which can be a moment after
	// the CNI ADD that claimed it returned: wait for it rather than race the agent.
	var found netip.Prefix
	err := WaitFor(15*time.Second, "a blackhole for a block holding "+ip.String()+" on "+h.HostName, func() (bool, string) {
		bs, err := Blocks(h)
		if err != nil {
			return false, err.Error()
		}
		for _, b := range bs {
			if b.Contains(ip) {
				found = b
				return true, ""
			}
		}
		return false, fmt.Sprintf("blocks %v", bs)
	})
	return found, err
}

// IP runs ip(8) with args in the host's namespace, for output meant for people.
func IP(n *testbed.Netns, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.Run(ctx, testbed.RunOptions{Path: "ip", Args: args})
}

// IPIPSupported tries to create an IPIP device in a scratch namespace; the error says why
// not (this project's development kernel has no ipip module).
func IPIPSupported() error {
	n, err := testbed.NewNetns("be2e-ipip-" + testbed.RandSuffix())
	if err != nil {
		return err
	}
	defer n.Close()
	return n.NL.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: "be2eipip"}, Local: []byte{192, 0, 2, 1}})
}

// WaitRoute waits until host's route to dst satisfies want (called with the route and whether
// one exists) and returns the last route seen.
func (c *Cluster) WaitRoute(host string, dst netip.Prefix, timeout time.Duration, what string, want func(Route, bool) bool) (Route, error) {
	var got Route
	err := WaitFor(timeout, host+": "+what, func() (bool, string) {
		r, ok, err := RouteTo(c.Host(host), dst)
		if err != nil {
			return false, err.Error()
		}
		got = r
		if !ok {
			return want(r, false), "no route to " + dst.String()
		}
		return want(r, true), "have " + r.String()
	})
	return got, err
}
