// Command bare performs only the kernel steps of a CNI ADD or DEL (cni.Wire / cni.Unwire):
// no datastore, no IPAM, no endpoint record. The benchmark runs it as a fresh process per
// call, exactly like the plugin, to show what the datastore and IPAM add on top.
//
// Usage: bare add|del <netns path> <host veth> <ip>
package main

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/brindle-net/brindle/cni"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: bare add|del <netns> <hostveth> <ip>")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "add":
		ip := netip.MustParseAddr(os.Args[4])
		_, err = cni.Wire(cni.WireOptions{Netns: os.Args[2], ContIfName: "eth0", HostVeth: os.Args[3], MTU: 1480,
			IPs: []netip.Prefix{netip.PrefixFrom(ip, 32)}})
	case "del":
		err = cni.Unwire(os.Args[2], "eth0", os.Args[3])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
