package testbed

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func twoSubnetBed(t *testing.T) *Bed {
	return Start(t, Options{
		Prefix:  "btb-",
		Subnets: []netip.Prefix{netip.MustParsePrefix("172.30.1.0/24"), netip.MustParsePrefix("172.30.2.0/24")},
		Hosts:   []HostOptions{{Name: "a"}, {Name: "b"}, {Name: "c", Subnet: 1}},
	})
}

func TestBedTopology(t *testing.T) {
	RequireRoot(t)
	b := twoSubnetBed(t)
	wantAddr := map[string]string{"a": "172.30.1.11/24", "b": "172.30.1.12/24", "c": "172.30.2.11/24"}
	for _, h := range b.Hosts {
		if h.Addr.String() != wantAddr[h.HostName] {
			t.Errorf("host %s: address %s, want %s", h.HostName, h.Addr, wantAddr[h.HostName])
		}
		routes, err := h.NL.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				t.Errorf("host %s has a default route: %v", h.HostName, r)
			}
		}
		lo, _ := h.NL.LinkByName("lo")
		addrs, _ := h.NL.AddrList(lo, netlink.FAMILY_V4)
		found := false
		for _, a := range addrs {
			found = found || a.IPNet.String() == "169.254.1.1/32"
		}
		if !found {
			t.Errorf("host %s: 169.254.1.1/32 not on lo (have %v)", h.HostName, addrs)
		}
	}
	// Same subnet, across the router, and the router's address (where etcd would listen).
	a, c := b.Host("a"), b.Host("c")
	cases := []struct {
		from *Host
		to   netip.Addr
	}{{a, b.Host("b").Addr.Addr()}, {a, c.Addr.Addr()}, {c, a.Addr.Addr()}, {c, b.RouterAddr(0)}}
	for _, tc := range cases {
		got, err := Ping(tc.from.Netns, tc.to, 3, time.Second)
		if err != nil || got != 3 {
			t.Errorf("ping %s -> %s: %d/3 replies, err %v", tc.from.HostName, tc.to, got, err)
		}
	}
}

func TestUDPAndCapture(t *testing.T) {
	RequireRoot(t)
	b := twoSubnetBed(t)
	a, c := b.Host("a"), b.Host("c")
	to := netip.AddrPortFrom(c.Addr.Addr(), 7777)
	stop, err := ServeUDPEcho(c.Netns, to)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	capA, err := b.Fabric.Capture("h0") // host a's port on br0
	if err != nil {
		t.Fatal(err)
	}
	got, err := UDPEchoes(a.Netns, to, 5, time.Second)
	pkts := capA.Stop()
	if err != nil || got != 5 {
		t.Fatalf("UDP a -> c: %d/5 echoes, err %v", got, err)
	}
	n := 0
	for _, p := range pkts {
		if p.Outer.Proto == 17 && p.Outer.Src == a.Addr.Addr() && p.Outer.Dst == c.Addr.Addr() {
			n++
		}
	}
	if n < 5 {
		t.Errorf("capture on h0 saw %d UDP packets a -> c, want >= 5; all: %v", n, pkts)
	}
}

func TestProcInNetns(t *testing.T) {
	RequireRoot(t)
	b := twoSubnetBed(t)
	h := b.Host("a")
	out, err := h.Run(context.Background(), RunOptions{Path: "/bin/cat", Args: []string{"/proc/self/net/dev"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "eth0:") || strings.Contains(out, "br0:") {
		t.Errorf("cat in host a does not see a's links:\n%s", out)
	}
	p := StartProc(t, h.Netns, ProcOptions{Name: "sleeper", Path: "/bin/sh",
		Args: []string{"-c", "echo started; exec sleep 60"}})
	if got, want := inode(t, fmt.Sprintf("/proc/%d/ns/net", p.PID)), inode(t, "/var/run/netns/"+h.Name); got != want {
		t.Errorf("process netns inode %d, want %d (%s)", got, want, h.Name)
	}
	for i := 0; i < 50 && !strings.Contains(p.Logs(), "started"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.Stop(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Running() || p.ExitErr() == nil || !strings.Contains(p.ExitErr().Error(), "terminated") {
		t.Errorf("after Stop: running %v, exit %v; want terminated by SIGTERM", p.Running(), p.ExitErr())
	}
	if !strings.Contains(p.Logs(), "started") {
		t.Errorf("log: %q", p.Logs())
	}
}

func TestCleanupRemovesNamespaces(t *testing.T) {
	RequireRoot(t)
	b, err := New(Options{Prefix: "btb-", Hosts: []HostOptions{{Name: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{b.Fabric.Name, b.Router.Name, b.Hosts[0].Name}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := os.Stat("/var/run/netns/" + n); !os.IsNotExist(err) {
			t.Errorf("netns %s still exists after Close (stat err %v)", n, err)
		}
	}
}

func TestBadOptions(t *testing.T) {
	cases := map[string]Options{
		"Prefix is required": {},
		"Hosts[0].Subnet 2":  {Prefix: "btb-", Hosts: []HostOptions{{Name: "x", Subnet: 2}}},
		"Hosts[0].Name":      {Prefix: "btb-", Hosts: []HostOptions{{}}},
		"is not in subnet":   {Prefix: "btb-", Hosts: []HostOptions{{Name: "x", Addr: netip.MustParseAddr("10.0.0.1")}}},
	}
	for want, o := range cases {
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("options %+v: error %v, want it to mention %q", o, err, want)
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
