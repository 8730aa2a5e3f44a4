package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

var hosts = []string{"master01", "node01", "node02"}

// containers: the seed's busybox1 on node02 and nginx on node01, plus one on master01.
var containers = []struct{ name, host string }{{"nginx", "node01"}, {"busybox1", "node02"}, {"web", "master01"}}

func heading(s string) { fmt.Printf("\n==== %s ====\n", s) }

// show prints a command the way a user would type it, then its output.
func show(where, cmd, out string) {
	fmt.Printf("[%s]$ %s\n%s", where, cmd, out)
	if out != "" && !strings.HasSuffix(out, "\n") {
		fmt.Println()
	}
}

func demo(c *cluster.Cluster) error {
	heading("three hosts in network namespaces, datastore embedded")
	for _, h := range c.Bed.Hosts {
		fmt.Printf("%-9s %-18s netns %s\n", h.HostName, h.Addr, h.Name)
	}
	fmt.Printf("%-9s %-18s netns %s (brindle datastore run)\n", "router", c.EtcdAddr(), c.Bed.Router.Name)

	if err := applyPool(c); err != nil {
		return err
	}
	heading("node agents (brindle node run) on every host")
	for _, h := range hosts {
		if _, err := c.StartAgent(h, cluster.AgentOptions{}); err != nil {
			return err
		}
		fmt.Printf("%s: agent ready\n", h)
	}
	ctl(c, "get", "nodes", "-o", "wide")

	heading("containers, added through the CNI plugin (calico, calico-ipam)")
	var cts []*cluster.Container
	for _, spec := range containers {
		ct, err := c.AddContainer(spec.host, spec.name)
		if err != nil {
			return err
		}
		cts = append(cts, ct)
		fmt.Printf("%-9s on %-9s %s (host side %s, netns %s)\n", ct.Name, ct.Host, ct.IP, ct.HostVeth, ct.NS.Name)
	}
	ctl(c, "ipam", "show", "--show-blocks")
	// Routes to other hosts' new blocks and BGP sessions settle in the background.
	if err := cluster.WaitMatrix(cts, 60*time.Second); err != nil {
		return err
	}
	for _, h := range hosts {
		if err := showHost(c, h); err != nil {
			return err
		}
	}
	if err := pings(c, cts); err != nil {
		return err
	}
	if err := policyDemo(c, cts); err != nil {
		return err
	}
	return explainWalk(c)
}

// applyPool applies the seed's pool. IPIP needs the kernel's ipip module; without it the
// same pool runs VXLAN CrossSubnet instead, which routes the same way.
func applyPool(c *cluster.Cluster) error {
	heading("the seed's IP pool")
	doc, err := cluster.Seed("default-ipv4-ippool.yaml")
	if err != nil {
		return err
	}
	if err := cluster.IPIPSupported(); err != nil {
		fmt.Printf("This kernel cannot create IPIP devices (%v),\nso the seed's pool is applied with ipipMode Never and vxlanMode CrossSubnet:\n"+
			"plain routes inside a subnet, VXLAN (vxlan.calico, UDP 4789) across subnets.\n", err)
		if doc, err = cluster.SetField(doc, "ipipMode", "Never"); err != nil {
			return err
		}
		if doc, err = cluster.SetField(doc, "vxlanMode", "CrossSubnet"); err != nil {
			return err
		}
	}
	fmt.Print(doc)
	if err := c.Apply(doc); err != nil {
		return err
	}
	show("router", "brindle apply -f default-ipv4-ippool.yaml", "Successfully applied 1 'IPPool' resource(s)\n")
	ctl(c, "get", "ippools", "-o", "wide")
	return nil
}

func ctl(c *cluster.Cluster, args ...string) {
	out, err := c.Ctl(nil, args...)
	if err != nil {
		out += fmt.Sprintf("(failed: %v)\n", err)
	}
	show("router", "brindle "+strings.Join(args, " "), out)
}

// showHost prints what the seed shows on a node: routes, tunnel devices, BGP status.
func showHost(c *cluster.Cluster, host string) error {
	h := c.Host(host)
	heading(host + " (" + h.Addr.String() + ")")
	out, err := cluster.IP(h.Netns, "route")
	if err != nil {
		return err
	}
	show(host, "ip route", out)
	for _, dev := range []string{"tunl0", "vxlan.calico"} {
		if _, err := h.NL.LinkByName(dev); err != nil {
			continue
		}
		out, err := cluster.IP(h.Netns, "-d", "link", "show", dev)
		if err != nil {
			return err
		}
		show(host, "ip -d link show "+dev, out)
		if out, err = cluster.IP(h.Netns, "-4", "addr", "show", "dev", dev); err == nil {
			show(host, "ip -4 addr show dev "+dev, out)
		}
	}
	// Sessions across the router take a moment longer (the passive end waits for the other's
	// connect retry); show the table once every peer is up, as the seed does.
	out, err = c.WaitEstablished(host, 30*time.Second)
	show(host, "brindle node status", out)
	if err != nil {
		fmt.Printf("(not every session is Established yet: %v)\n", err)
	}
	return nil
}

// pings runs iputils ping from every container to the containers on other hosts.
func pings(c *cluster.Cluster, cts []*cluster.Container) error {
	heading("pings across hosts")
	failed := 0
	for _, from := range cts {
		for _, to := range cts {
			if from.Host == to.Host {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, err := from.NS.Run(ctx, testbed.RunOptions{Path: "ping", Args: []string{"-c", "2", "-W", "2", to.IP.String()}})
			cancel()
			show(from.Name+"@"+from.Host, "ping -c 2 "+to.IP.String()+"   # "+to.Name+" on "+to.Host, out)
			if err != nil {
				failed++
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of the cross-host pings failed", failed)
	}
	fmt.Println("every container reaches every container on the other hosts")
	return nil
}

// printKeep tells the user how to look around a kept cluster and how to remove it.
func printKeep(c *cluster.Cluster) {
	heading("the cluster keeps running (--keep)")
	h := c.Host("node01")
	fmt.Printf("Enter a host:        ip netns exec %s bash\n", h.Name)
	fmt.Printf("Its BGP status:      ip netns exec %s env BRINDLE_STATE_DIR=%s %s node status\n", h.Name, c.StateDir("node01"), c.Bin)
	fmt.Printf("Resources:           ip netns exec %s env ETCD_ENDPOINTS=%s %s get nodes -o wide\n", c.Bed.Router.Name, c.Endpoints, c.Bin)
	for _, ct := range c.Containers() {
		fmt.Printf("Container %-9s   ip netns exec %s ip route\n", ct.Name+":", ct.NS.Name)
	}
	fmt.Printf("Logs:                %s\n", c.LogDir())
	fmt.Printf("Tear it down:        make demo-down DIR=%s\n", c.Dir)
	fmt.Printf("                     (or: go run ./test/demo --teardown %s)\n", c.Dir)
}
