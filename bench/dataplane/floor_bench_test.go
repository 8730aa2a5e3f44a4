package dataplane_bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/calc"
)

// BenchmarkKernelFloor: the same routes, neighbours and FDB entries a cold start writes,
// fed to `ip -batch` / `bridge -batch` in a fresh namespace (vxlan.calico created by hand
// first). This is what the kernel itself costs; the cold-start rows compare against it.
// The nexthop row is the same routes through nexthop objects (one per gateway, routes by
// nhid): the kernel hashes a plain route's nexthop without its gateway, so 10,000 distinct
// gateways make every insert walk one long chain; nexthop objects avoid that.
func BenchmarkKernelFloor(b *testing.B) {
	needRoot(b)
	for _, sc := range scenarios {
		if sc.bgp {
			continue // the same kernel routes as its plain twin; resolution is brindle's cost
		}
		b.Run(sc.name, func(b *testing.B) {
			d := calc.Compute(cluster(sc.blocks, sc.nodes, sc.mode, false))
			dir := b.TempDir()
			routes, nh, neigh, fdb := floorFiles(d)
			write := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					b.Fatal(err)
				}
				return p
			}
			rf, nf, ngf, ff := write("routes", routes), write("nexthops", nh), write("neigh", neigh), write("fdb", fdb)
			var plain, viaNH, vteps time.Duration
			for range b.N {
				for _, nexthops := range []bool{false, true} {
					host, cleanup := freshHost(b)
					if d.VXLAN != nil {
						run(b, "ip", "-n", host, "link", "add", calc.VXLANDeviceName, "type", "vxlan", "id", "4096",
							"dstport", "4789", "dev", "eth0", "local", "10.0.0.1", "nolearning")
						run(b, "ip", "-n", host, "link", "set", calc.VXLANDeviceName, "up")
						t0 := time.Now()
						run(b, "ip", "-n", host, "-batch", ngf)
						run(b, "ip", "netns", "exec", host, "bridge", "-batch", ff)
						if !nexthops {
							vteps += time.Since(t0)
						}
					}
					t0 := time.Now()
					if nexthops {
						run(b, "ip", "-n", host, "-batch", nf)
						viaNH += time.Since(t0)
					} else {
						run(b, "ip", "-n", host, "-batch", rf)
						plain += time.Since(t0)
					}
					cleanup()
				}
			}
			n := time.Duration(b.N)
			b.ReportMetric(ms((plain+vteps)/n), "ms/floor")
			fmt.Printf("| kernel floor | %-30s | ip -batch routes %8.2f ms | neigh+fdb %8.2f ms | total %8.2f ms | routes via nexthop objects %8.2f ms |\n",
				sc.name, ms(plain/n), ms(vteps/n), ms((plain+vteps)/n), ms(viaNH/n))
		})
	}
}

// floorFiles renders the desired routes and VTEPs as iproute2 batch files.
func floorFiles(d calc.Desired) (routes, nexthops, neigh, fdb string) {
	var r, nh, ng, f strings.Builder
	ids := map[string]int{}
	for _, rt := range d.Routes {
		switch rt.Kind {
		case calc.RouteBlackhole:
			fmt.Fprintf(&r, "route replace blackhole %s proto 80\n", rt.Dst)
			fmt.Fprintf(&nh, "route replace blackhole %s proto 80\n", rt.Dst)
			continue
		case calc.RouteVia:
			onlink := ""
			if rt.OnLink {
				onlink = " onlink"
			}
			via := fmt.Sprintf("via %s dev %s%s", rt.Gw, rt.Dev, onlink)
			fmt.Fprintf(&r, "route replace %s %s proto 80\n", rt.Dst, via)
			id, ok := ids[via]
			if !ok {
				id = len(ids) + 1
				ids[via] = id
				fmt.Fprintf(&nh, "nexthop add id %d %s proto 80\n", id, via)
			}
			fmt.Fprintf(&nh, "route replace %s nhid %d proto 80\n", rt.Dst, id)
		}
	}
	for _, v := range d.VTEPs {
		fmt.Fprintf(&ng, "neigh replace %s lladdr %s dev %s nud permanent\n", v.TunnelIP, v.MAC, calc.VXLANDeviceName)
		fmt.Fprintf(&f, "fdb replace %s dev %s dst %s self permanent\n", v.MAC, calc.VXLANDeviceName, v.HostIP)
	}
	return r.String(), nh.String(), ng.String(), f.String()
}
