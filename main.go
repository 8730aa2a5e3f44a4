// Command brindle is Calico-compatible container networking in one static binary.
// It picks its role from argv[0] (calico, calico-ipam, calicoctl, brindle-cni, brindle-ipam)
// or from its subcommand; see cli.Run.
//
// Go 1.24+ makes listeners MPTCP by default where the kernel has it (GODEBUG multipathtcp=2),
// and an MPTCP socket refuses TCP_MD5SIG and IP_TTL with "protocol not available": GoBGP's
// listener could then neither check BGP passwords nor set GTSM TTLs on inbound sessions
// (bgp/md5.go). Every brindle listener is plain TCP.
//
//go:debug multipathtcp=0
package main

import (
	"os"

	"github.com/brindle-net/brindle/cli"
)

func main() {
	os.Exit(cli.Run(os.Args))
}
