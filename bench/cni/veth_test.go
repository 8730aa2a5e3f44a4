package benchcni

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/brindle-net/brindle/cni"
	"github.com/brindle-net/brindle/test/cni/hostns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// BenchmarkVethDelete asks why DEL costs more than ADD: it times, in one process (no start-up),
// the ways a workload's veth can go away, and how soon the pair is gone from the namespaces
// (cni.StartUnwire) compared with when the kernel's delete request returns.
//
//	go test -run XXX -bench VethDelete -benchtime 1x ./bench/cni/
func BenchmarkVethDelete(b *testing.B) {
	if os.Getenv(hostns.Env) == "" {
		b.Skip("needs root (runs inside a host namespace)")
	}
	runtime.LockOSThread() // the host handle and netns.New below act on this thread
	defer runtime.UnlockOSThread()
	n := envInt("BENCH_CNI_N", 30)
	pool := &nsPool{b: b}
	defer pool.cleanup()
	hostNS, err := netns.Get()
	if err != nil {
		b.Fatal(err)
	}
	defer hostNS.Close()

	type variant struct {
		name string
		del  func(ch, hh *netlink.Handle, nsPath, veth string) error
	}
	contLink := func(ch *netlink.Handle) netlink.Link { l, _ := ch.LinkByName("eth0"); return l }
	variants := []variant{
		{"delete container end (eth0)", func(ch, _ *netlink.Handle, _, _ string) error { return ch.LinkDel(contLink(ch)) }},
		{"delete host end (cali...)", func(_, hh *netlink.Handle, _, veth string) error {
			l, err := hh.LinkByName(veth)
			if err != nil {
				return err
			}
			return hh.LinkDel(l)
		}},
		{"set down, then delete", func(ch, _ *netlink.Handle, _, _ string) error {
			if err := ch.LinkSetDown(contLink(ch)); err != nil {
				return err
			}
			return ch.LinkDel(contLink(ch))
		}},
		{"move to a throwaway netns", func(ch, _ *netlink.Handle, _, _ string) error {
			tmp, err := netns.New() // switches this thread; switched back below
			if err != nil {
				return err
			}
			defer tmp.Close()
			if err := netns.Set(hostNS); err != nil {
				return err
			}
			return ch.LinkSetNsFd(contLink(ch), int(tmp))
		}},
		{"cni.StartUnwire (until the pair is gone)", func(_, _ *netlink.Handle, nsPath, _ string) error {
			_, err := cni.StartUnwire(nsPath, "eth0")
			return err // the rest of the deletion continues in the background
		}},
		{"cni.Unwire (until the kernel returns)", func(_, _ *netlink.Handle, nsPath, veth string) error {
			return cni.Unwire(nsPath, "eth0", veth)
		}},
	}
	b.ResetTimer()
	for range b.N {
		times := make([][]time.Duration, len(variants))
		for i := 0; i < n; i++ {
			for vi, v := range variants {
				nsPath := pool.add()
				veth := fmt.Sprintf("calivd%d", vi)
				if _, err := cni.Wire(cni.WireOptions{Netns: nsPath, ContIfName: "eth0", HostVeth: veth, MTU: 1480,
					IPs: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.253.%d.1/32", vi))}}); err != nil {
					b.Fatal(err)
				}
				contNS, err := netns.GetFromPath(nsPath)
				if err != nil {
					b.Fatal(err)
				}
				ch, err := netlink.NewHandleAt(contNS)
				if err != nil {
					b.Fatal(err)
				}
				hh, err := netlink.NewHandle()
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				if err := v.del(ch, hh, nsPath, veth); err != nil {
					b.Fatalf("%s: %v", v.name, err)
				}
				times[vi] = append(times[vi], time.Since(start))
				ch.Close()
				hh.Close()
				contNS.Close()
				// The moved or still-finishing pairs must be gone before the next round reuses
				// the names; the namespace delete takes them with it.
				pool.delLast()
				waitGone(b, veth)
			}
		}
		fmt.Printf("\nveth deletion in one process, n=%d each (load average %s)\n", n, loadavg())
		fmt.Printf("%-44s %8s %8s\n", "how", "p50 ms", "p99 ms")
		for vi, v := range variants {
			fmt.Printf("%-44s %8s %8s\n", v.name, ms(pct(times[vi], .5)), ms(pct(times[vi], .99)))
		}
	}
}

// waitGone waits until no host veth of that name is left (a deletion finishing elsewhere).
func waitGone(b *testing.B, veth string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := netlink.LinkByName(veth); err != nil {
			return
		}
	}
	b.Fatalf("host veth %s still present after 10 s", veth)
}
