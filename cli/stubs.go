package cli

// Placeholders for command groups whose issues are still in progress. Each is replaced by
// its own file (resources.go, node.go, ...) as the work lands.

import (
	"fmt"

	"github.com/brindle-net/brindle/cni"
	ucli "github.com/urfave/cli/v2"
)

func notYet(name string) *ucli.Command {
	return &ucli.Command{Name: name, Usage: "(not available yet)", Action: func(*ucli.Context) error {
		return fmt.Errorf("%s is not implemented yet", name)
	}}
}

func nodeCommand() *ucli.Command  { return notYet("node") }
func felixCommand() *ucli.Command { return notYet("felix") }
func bgpCommand() *ucli.Command   { return notYet("bgp") }

func cniCommand() *ucli.Command {
	return &ucli.Command{Name: "cni", Usage: "run as the CNI plugin (CNI_COMMAND etc. in the environment)",
		Action: func(*ucli.Context) error { return exitWith(cni.PluginMain()) }}
}

func ipamPluginCommand() *ucli.Command {
	return &ucli.Command{Name: "ipam-plugin", Usage: "run as the CNI IPAM plugin",
		Action: func(*ucli.Context) error { return exitWith(cni.IPAMMain()) }}
}

func exitWith(code int) error {
	if code == 0 {
		return nil
	}
	return ucli.Exit("", code)
}
