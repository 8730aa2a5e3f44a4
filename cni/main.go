// Package cni is brindle's CNI plugin and CNI IPAM plugin.
package cni

import (
	"fmt"
	"os"
)

// PluginMain runs the CNI plugin (argv[0] calico or brindle-cni) and returns the exit code.
func PluginMain() int {
	fmt.Fprintln(os.Stdout, `{"cniVersion":"1.1.0","code":999,"msg":"brindle CNI plugin is not implemented yet"}`)
	return 1
}

// IPAMMain runs the CNI IPAM plugin (argv[0] calico-ipam or brindle-ipam).
func IPAMMain() int {
	fmt.Fprintln(os.Stdout, `{"cniVersion":"1.1.0","code":999,"msg":"brindle IPAM plugin is not implemented yet"}`)
	return 1
}
