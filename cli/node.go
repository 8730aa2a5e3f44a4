package cli

import ucli "github.com/urfave/cli/v2"

// nodeCommand groups the per-host verbs: run (the agent, a daemon role) and status.
func nodeCommand() *ucli.Command {
	return &ucli.Command{
		Name:        "node",
		Usage:       "the node agent and its status",
		Subcommands: []*ucli.Command{nodeRunCommand(), nodeStatusCommand(), nodeEndpointsCommand(), nodeDiagsCommand()},
	}
}
