// Package cli wires brindle's command line (urfave/cli). It only parses flags and calls into
// the packages that do the work.
package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/brindle-net/brindle/cni"
	ucli "github.com/urfave/cli/v2"
)

// Run dispatches on argv[0] first, so that brindle can be symlinked as a CNI plugin, an IPAM
// plugin or calicoctl, then on the subcommand. It returns the process exit code.
func Run(args []string) int {
	switch filepath.Base(args[0]) {
	case "calico", "brindle-cni":
		return cni.PluginMain()
	case "calico-ipam", "brindle-ipam":
		return cni.IPAMMain()
	}
	if handled, code := execServer(args); handled {
		return code
	}
	if err := NewApp(filepath.Base(args[0])).Run(args); err != nil {
		if err.Error() != "" { // ucli.Exit("", n): the command already said why
			fmt.Fprintln(os.Stderr, "Error:", err)
		}
		return exitCode(err)
	}
	return 0
}

// NewApp builds the command tree; name is what usage text calls the program.
func NewApp(name string) *ucli.App {
	return &ucli.App{
		Name:                 name,
		Usage:                "Calico-compatible container networking: routed L3, BGP, block IPAM, all state in etcd",
		HideVersion:          true,
		EnableBashCompletion: true,
		Flags:                globalFlags(),
		Commands: concat(
			resourceCommands(),
			[]*ucli.Command{
				nodeCommand(),
				explainCommand(),
				felixCommand(),
				bgpCommand(),
				datastoreCommand(),
				ipamCommand(),
				cniCommand(),
				ipamPluginCommand(),
				dockerPluginCommand(),
				versionCommand(),
				installCommand(),
				uninstallCommand(),
				completionCommand(),
			},
		),
		// Errors are printed once by Run, not also by urfave.
		ExitErrHandler: func(*ucli.Context, error) {},
	}
}

func concat(lists ...[]*ucli.Command) []*ucli.Command {
	var out []*ucli.Command
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// exitCode honours urfave's ExitCoder and otherwise returns 1.
func exitCode(err error) int {
	if ec, ok := err.(ucli.ExitCoder); ok && ec.ExitCode() != 0 {
		return ec.ExitCode()
	}
	return 1
}
