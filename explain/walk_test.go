package explain

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

// seedNode builds a node as in the seed's IPIP walk: uplink ens192 in 100.100.137.0/24,
// one workload /32, the local block blackholed and the other node's block via tunl0.
func seedNode(name, ip, wlIP, iface string, ifIndex int, block, remoteBlock, remoteNode string) *Facts {
	gw := addr("100.100.137.1")
	f := &Facts{
		Node: name, Address: pfx(ip + "/24"), Uplink: "ens192", Ready: true,
		Links: []Link{
			{Index: 2, Name: "ens192", Kind: "device", MTU: 1500, Up: true},
			{Index: 3, Name: "tunl0", Kind: "ipip", MTU: 1480, Up: true},
			{Index: ifIndex, Name: iface, Kind: "veth", MTU: 1480, Up: true, PeerIndex: 3},
		},
		Addrs: []Addr{{Dev: "ens192", Prefix: pfx(ip + "/24")}},
		Routes: []Route{
			{Dst: pfx("0.0.0.0/0"), Gw: gw, Dev: "ens192", Protocol: ProtoStatic, Metric: 100},
			{Dst: pfx("100.100.137.0/24"), Dev: "ens192", Protocol: ProtoKernel, Src: addr(ip), Metric: 100},
			{Dst: pfx(block), Type: "blackhole", Protocol: ProtoBird},
			{Dst: pfx(wlIP + "/32"), Dev: iface, Protocol: ProtoBrindle},
			{Dst: pfx(remoteBlock), Gw: addr(remoteNode), Dev: "tunl0", OnLink: true, Protocol: ProtoBird},
		},
		Neighs: []Neigh{{Dev: "ens192", IP: addr(remoteNode), MAC: "52:54:00:00:00:01", State: "REACHABLE"}},
		Workloads: []Workload{{Name: "wl-" + name, Iface: iface, IPs: []netip.Prefix{pfx(wlIP + "/32")},
			Container: &Container{Iface: "eth0", MTU: 1480, IfLink: ifIndex, Addrs: []Addr{{Dev: "eth0", Prefix: pfx(wlIP + "/32")}},
				Routes: []Route{{Dst: pfx("0.0.0.0/0"), Gw: addr("169.254.1.1"), Dev: "eth0"}, {Dst: pfx("169.254.1.1/32"), Dev: "eth0"}}}}},
		Desired: []Route{
			{Dst: pfx(block), Type: "blackhole", Reason: "local block"},
			{Dst: pfx(wlIP + "/32"), Dev: iface, Reason: "local workload " + iface},
			{Dst: pfx(remoteBlock), Recursive: false, Gw: addr(remoteNode), Dev: "tunl0", OnLink: true, Reason: "remote block via tunl0: pool ipipMode Always"},
		},
		MasqPools: []netip.Prefix{pfx("10.244.0.0/16")}, AllPools: []netip.Prefix{pfx("10.244.0.0/16")},
		BGP: &bgpstatus.Status{Peers: []bgpstatus.PeerStatus{{Address: addr(remoteNode), State: "up", Info: "Established"}}},
	}
	return f
}

func seedCluster() (Query, Cluster) {
	n2 := seedNode("node02", "100.100.137.202", "10.244.2.5", "calidb5654f5f5c", 7, "10.244.2.0/24", "10.244.1.0/24", "100.100.137.201")
	n1 := seedNode("node01", "100.100.137.201", "10.244.1.2", "cali216bedde1dc", 5, "10.244.1.0/24", "10.244.2.0/24", "100.100.137.202")
	q := Query{
		Src: Endpoint{Kind: KindWorkload, Name: "busybox1", Node: "node02", Addr: addr("10.244.2.5")},
		Dst: Endpoint{Kind: KindWorkload, Name: "nginx", Node: "node01", Addr: addr("10.244.1.2")},
	}
	return q, Cluster{Facts: map[string]*Facts{"node01": n1, "node02": n2}}
}

// toVXLAN rewrites a seed node's remote route to vxlan.calico with its VTEP.
func toVXLAN(f *Facts, remoteTunnel, remoteHost string) {
	for i := range f.Links {
		if f.Links[i].Name == "tunl0" {
			f.Links[i] = Link{Index: 3, Name: "vxlan.calico", Kind: "vxlan", MTU: 1450, Up: true}
		}
	}
	for _, rs := range [][]Route{f.Routes, f.Desired} {
		for i := range rs {
			if rs[i].Dev == "tunl0" {
				rs[i].Dev, rs[i].Gw, rs[i].Protocol = "vxlan.calico", addr(remoteTunnel), ProtoBrindle
			}
		}
	}
	f.Neighs = append(f.Neighs, Neigh{Dev: "vxlan.calico", IP: addr(remoteTunnel), MAC: "66:00:00:00:00:01", State: "PERMANENT"})
	f.VTEPs = []VTEP{{Node: "peer", TunnelIP: addr(remoteTunnel), MAC: "66:00:00:00:00:01", HostIP: addr(remoteHost)}}
	f.Workloads[0].Container.MTU = 1450
}

func findRoute(f *Facts, dst string) *Route {
	for i := range f.Routes {
		if f.Routes[i].Dst == pfx(dst) {
			return &f.Routes[i]
		}
	}
	return nil
}

func TestWalk(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(q *Query, c Cluster)
		ok      bool
		encap   string
		outer   [2]string
		stopAt  string // step of the faulty hop
		fault   string // substring of its What
		command string // substring of its Command
	}{
		{name: "seed IPIP", ok: true, encap: "IPIP", outer: [2]string{"100.100.137.202", "100.100.137.201"}},
		{name: "VXLAN", ok: true, encap: "VXLAN", outer: [2]string{"100.100.137.202", "100.100.137.201"},
			mutate: func(q *Query, c Cluster) {
				toVXLAN(c.Facts["node02"], "10.244.1.0", "100.100.137.201")
				toVXLAN(c.Facts["node01"], "10.244.2.0", "100.100.137.202")
			}},
		{name: "no encapsulation", ok: true, encap: "none",
			mutate: func(q *Query, c Cluster) {
				for n, other := range map[string]string{"node02": "100.100.137.201", "node01": "100.100.137.202"} {
					for _, rs := range [][]Route{c.Facts[n].Routes, c.Facts[n].Desired} {
						for i := range rs {
							if rs[i].Dev == "tunl0" {
								rs[i].Dev, rs[i].OnLink, rs[i].Gw = "ens192", false, addr(other)
							}
						}
					}
				}
			}},
		{name: "route deleted", stopAt: "source node", fault: "brindle wants", command: "ip route get 10.244.1.2 (on node02)",
			mutate: func(q *Query, c Cluster) {
				f := c.Facts["node02"]
				f.Routes = deleteRoute(f.Routes, "10.244.1.0/24")
			}},
		{name: "workload route deleted on the destination", stopAt: "destination node", fault: "blackhole 10.244.1.0/24",
			mutate: func(q *Query, c Cluster) {
				f := c.Facts["node01"]
				f.Routes = deleteRoute(f.Routes, "10.244.1.2/32")
			}},
		{name: "reply route deleted", stopAt: "reply: source node", fault: "brindle wants",
			mutate: func(q *Query, c Cluster) {
				f := c.Facts["node01"]
				f.Routes = deleteRoute(f.Routes, "10.244.2.0/24")
			}},
		{name: "agent stopped", stopAt: "destination node", fault: "agent on node01 is not reachable (connection refused); nothing about this node's kernel is known, so its route to 10.244.1.2 (workload nginx on node01) is not checked",
			command: "ip route get 10.244.1.2 (on node01); brindle node status (on node01)",
			mutate: func(q *Query, c Cluster) {
				delete(c.Facts, "node01")
				c.Unreachable["node01"] = "connection refused"
			}},
		{name: "source agent stopped", stopAt: "source node", fault: "agent on node02 is not reachable (connection refused); nothing about this node's kernel is known, so its route to 10.244.1.2",
			command: "ip route get 10.244.1.2 (on node02)",
			mutate: func(q *Query, c Cluster) {
				delete(c.Facts, "node02")
				c.Unreachable["node02"] = "connection refused"
			}},
		{name: "MTU lowered on the uplink", stopAt: "source node", fault: "MTU mismatch: tunl0 1480 plus the 20-byte header exceeds ens192's 1400",
			mutate: func(q *Query, c Cluster) { c.Facts["node02"].Links[0].MTU = 1400 }},
		{name: "MTU lowered on the peer's uplink", stopAt: "fabric", fault: "MTU mismatch on the link",
			mutate: func(q *Query, c Cluster) { c.Facts["node01"].Links[0].MTU = 1400 }},
		{name: "workload MTU above the tunnel", stopAt: "source node", fault: "the workload sends up to 1500 bytes but tunl0 takes 1480",
			mutate: func(q *Query, c Cluster) { c.Facts["node02"].Workloads[0].Container.MTU = 1500 }},
		{name: "BGP peer down", stopAt: "fabric", fault: "BGP session with node01 (100.100.137.201) is down: Active",
			mutate: func(q *Query, c Cluster) {
				c.Facts["node02"].BGP.Peers[0] = bgpstatus.PeerStatus{Address: addr("100.100.137.201"), State: "start", Info: "Active"}
			}},
		{name: "BGP peer down and its agent gone", stopAt: "fabric", fault: "BGP session with node01 (100.100.137.201) is down: Connect",
			mutate: func(q *Query, c Cluster) {
				delete(c.Facts, "node01")
				c.Unreachable["node01"] = "connection refused"
				q.Dst.NodeAddr = addr("100.100.137.201")
				c.Facts["node02"].BGP.Peers[0] = bgpstatus.PeerStatus{Address: addr("100.100.137.201"), State: "start", Info: "Connect"}
			}},
		{name: "unresolved BGP next hop", stopAt: "source node", fault: "BGP next hop 100.100.140.9 of 10.244.1.0/24 cannot be resolved (no route)",
			mutate: func(q *Query, c Cluster) {
				f := c.Facts["node02"]
				f.Routes = deleteRoute(f.Routes, "10.244.1.0/24")
				f.Desired[2] = Route{Dst: pfx("10.244.1.0/24"), Gw: addr("100.100.140.9"), Recursive: true, Reason: "learned over BGP"}
				f.Unresolved = map[netip.Addr]string{addr("100.100.140.9"): "no route"}
			}},
		{name: "blackholed block", stopAt: "source node", fault: "brindle wants",
			mutate: func(q *Query, c Cluster) {
				*findRoute(c.Facts["node02"], "10.244.1.0/24") = Route{Dst: pfx("10.244.1.0/24"), Type: "blackhole", Protocol: ProtoStatic}
			}},
		{name: "container without default route", stopAt: "source workload", fault: "no default route via 169.254.1.1",
			mutate: func(q *Query, c Cluster) { c.Facts["node02"].Workloads[0].Container.Routes = nil }},
		{name: "host-side veth down", stopAt: "source workload", fault: "calidb5654f5f5c is down",
			mutate: func(q *Query, c Cluster) { c.Facts["node02"].Links[2].Up = false }},
		{name: "tunl0 down on the destination", stopAt: "destination node", fault: "tunl0 is missing or down",
			mutate: func(q *Query, c Cluster) { c.Facts["node01"].Links[1].Up = false }},
		{name: "stale neighbour", stopAt: "fabric", fault: "neighbour 100.100.137.201 on ens192 is FAILED",
			mutate: func(q *Query, c Cluster) { c.Facts["node02"].Neighs[0].State = "FAILED" }},
		{name: "missing VTEP neighbour", stopAt: "source node", fault: "no usable neighbour for VTEP 10.244.1.0",
			mutate: func(q *Query, c Cluster) {
				toVXLAN(c.Facts["node02"], "10.244.1.0", "100.100.137.201")
				c.Facts["node02"].Neighs = c.Facts["node02"].Neighs[:1]
			}},
		{name: "CrossSubnet through a router", ok: true, encap: "IPIP", outer: [2]string{"100.100.137.202", "100.100.140.201"},
			mutate: func(q *Query, c Cluster) {
				n1 := c.Facts["node01"]
				n1.Address, n1.Addrs = pfx("100.100.140.201/24"), []Addr{{Dev: "ens192", Prefix: pfx("100.100.140.201/24")}}
				n2 := c.Facts["node02"]
				*findRoute(n2, "10.244.1.0/24") = Route{Dst: pfx("10.244.1.0/24"), Gw: addr("100.100.140.201"), Dev: "tunl0", OnLink: true, Protocol: ProtoBird}
				n2.Desired[2].Gw = addr("100.100.140.201")
				n2.BGP.Peers[0].Address = addr("100.100.140.201")
				*findRoute(n1, "10.244.2.0/24") = Route{Dst: pfx("10.244.2.0/24"), Gw: addr("100.100.137.202"), Dev: "tunl0", OnLink: true, Protocol: ProtoBird}
			}},
		{name: "to an outside address, masqueraded", ok: true, encap: "none",
			mutate: func(q *Query, c Cluster) { q.Dst = Endpoint{Kind: KindAddress, Addr: addr("192.0.2.10")} }},
		{name: "same node", ok: true,
			mutate: func(q *Query, c Cluster) {
				f := c.Facts["node02"]
				f.Routes = append(f.Routes, Route{Dst: pfx("10.244.2.6/32"), Dev: "calib", Protocol: ProtoBrindle})
				f.Links = append(f.Links, Link{Index: 9, Name: "calib", MTU: 1480, Up: true})
				f.Workloads = append(f.Workloads, Workload{Iface: "calib", IPs: []netip.Prefix{pfx("10.244.2.6/32")}})
				q.Dst = Endpoint{Kind: KindWorkload, Node: "node02", Addr: addr("10.244.2.6")}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, c := seedCluster()
			c.Unreachable = map[string]string{}
			if tc.mutate != nil {
				tc.mutate(&q, c)
			}
			r := Walk(q, c)
			var out bytes.Buffer
			if err := Render(&out, r); err != nil {
				t.Fatal(err)
			}
			t.Log("\n" + out.String())
			if r.OK != tc.ok {
				t.Fatalf("OK = %v, want %v", r.OK, tc.ok)
			}
			if tc.ok {
				if tc.encap != "" && r.Encap != tc.encap {
					t.Errorf("encap %s, want %s", r.Encap, tc.encap)
				}
				if tc.outer[0] != "" && (r.Outer[0] != addr(tc.outer[0]) || r.Outer[1] != addr(tc.outer[1])) {
					t.Errorf("outer %v, want %v", r.Outer, tc.outer)
				}
				for _, h := range r.Hops {
					if h.Fault != nil {
						t.Errorf("hop %s has a fault on an OK path", h.Step)
					}
				}
				return
			}
			last := r.Hops[len(r.Hops)-1]
			if last.Step != tc.stopAt || last.Fault == nil {
				t.Fatalf("stopped at %q (fault %v), want %q", last.Step, last.Fault, tc.stopAt)
			}
			if !strings.Contains(last.Fault.What, tc.fault) {
				t.Errorf("fault %q does not say %q", last.Fault.What, tc.fault)
			}
			if !strings.Contains(last.Fault.Command, tc.command) {
				t.Errorf("command %q does not say %q", last.Fault.Command, tc.command)
			}
		})
	}
}

func deleteRoute(rs []Route, dst string) []Route {
	var out []Route
	for _, r := range rs {
		if r.Dst != pfx(dst) {
			out = append(out, r)
		}
	}
	return out
}

// TestSeedWalkReads checks the text against the seed's hand walk: the container's default
// route, the host-side veth by its index, the tunl0 route with its protocol, the outer and
// inner addresses, tunl0 on the far side and the /32 to nginx.
func TestSeedWalkReads(t *testing.T) {
	q, c := seedCluster()
	var out bytes.Buffer
	if err := Render(&out, Walk(q, c)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"default via 169.254.1.1 dev eth0",
		"host side: 7: calidb5654f5f5c",
		"route: 10.244.1.0/24 via 100.100.137.201 dev tunl0 proto bird onlink  [owner: brindle, learned over BGP]",
		"outer 100.100.137.202 > 100.100.137.201 (IP protocol 4), inner 10.244.2.5 > 10.244.1.2",
		"100.100.137.201 is on the connected subnet 100.100.137.0/24 dev ens192",
		"decapsulation: tunl0 (mtu 1480)",
		"route: 10.244.1.2 dev cali216bedde1dc proto 80 scope link",
		"host side: 5: cali216bedde1dc",
		"reply: source node",
		"policy (egress): not enforced by this agent",
		"NAT: none (natOutgoing pool, but the destination is inside an IP pool)",
		"OK: the path and its reply agree",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
