package cli

import (
	"github.com/brindle-net/brindle/cni"
	ucli "github.com/urfave/cli/v2"
)

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
