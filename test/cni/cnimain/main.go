// Command cnimain is a minimal main that links only package cni: the CNI path as a runtime
// needs it. Tests build it as `calico` / `calico-ipam`, and the start-up measurement compares
// it with the full brindle binary.
package main

import (
	"os"
	"path/filepath"

	"github.com/brindle-net/brindle/cni"
)

func main() {
	switch filepath.Base(os.Args[0]) {
	case "calico-ipam", "brindle-ipam":
		os.Exit(cni.IPAMMain())
	default:
		os.Exit(cni.PluginMain())
	}
}
