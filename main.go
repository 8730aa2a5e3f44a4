// Command brindle is Calico-compatible container networking in one static binary.
// It picks its role from argv[0] (calico, calico-ipam, calicoctl, brindle-cni, brindle-ipam)
// or from its subcommand; see cli.Run.
package main

import (
	"os"

	"github.com/brindle-net/brindle/cli"
)

func main() {
	os.Exit(cli.Run(os.Args))
}
