// Package cni is brindle's CNI plugin and CNI IPAM plugin: Calico's conf fields, container
// wiring and datastore records, with the IPAM run in-process. It deliberately imports no
// etcd server, GoBGP or nftables code: a runtime starts it once per call, and Go runs every
// linked package's init at each start (see docs/architecture.md).
package cni

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// SupportedVersions are the CNI spec versions brindle speaks.
var SupportedVersions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

// PluginMain runs the CNI plugin (argv[0] calico or brindle-cni) and returns the exit code.
func PluginMain() int {
	return run(skel.CNIFuncs{
		Add:    guard(cmdAdd),
		Del:    guard(cmdDel),
		Check:  guard(cmdCheck),
		Status: guard(cmdStatus),
		GC:     guard(cmdGC),
	}, "brindle CNI plugin (Calico-compatible)")
}

// IPAMMain runs the CNI IPAM plugin (argv[0] calico-ipam or brindle-ipam). The main plugin
// does not start it; it is here for runtimes and other plugins that call it directly.
func IPAMMain() int {
	return run(skel.CNIFuncs{
		Add:    guard(ipamAdd),
		Del:    guard(ipamDel),
		Check:  guard(ipamCheck),
		Status: guard(cmdStatus),
		GC:     guard(cmdGC),
	}, "brindle IPAM plugin (calico-ipam compatible)")
}

func run(funcs skel.CNIFuncs, about string) int {
	if e := skel.PluginMainFuncsWithError(funcs, SupportedVersions, about); e != nil {
		if err := e.Print(); err != nil {
			fmt.Fprintln(os.Stderr, "writing error JSON:", err)
		}
		return 1
	}
	return 0
}

// guard turns a panic into a CNI error, so the runtime always reads error JSON, never a
// Go stack trace on stdout.
func guard(f func(*skel.CmdArgs) error) func(*skel.CmdArgs) error {
	return func(args *skel.CmdArgs) (err error) {
		defer func() {
			if r := recover(); r != nil {
				fmt.Fprintf(os.Stderr, "panic: %v\n%s", r, debug.Stack())
				err = newError(types.ErrInternal, fmt.Sprintf("internal error: %v", r), "please report this as a bug with the plugin's stderr")
			}
		}()
		if err := f(args); err != nil {
			return asCNIError(err)
		}
		return nil
	}
}
