//go:build brindle_lean

package cli

import (
	"errors"

	ucli "github.com/urfave/cli/v2"
)

// In the lean build the daemon roles are exec'd from the embedded full build before the
// command tree is parsed (payload_lean.go); these entries only keep them in --help.

var errNotDispatched = errors.New("internal error: daemon role was not handed to the server build")

func serverPlaceholder(name, usage string) *ucli.Command {
	return &ucli.Command{Name: name, Usage: usage, SkipFlagParsing: true,
		Action: func(*ucli.Context) error { return errNotDispatched }}
}

func nodeRunCommand() *ucli.Command {
	return serverPlaceholder("run", "run the node agent (routes, tunnels, NAT, BGP) until SIGINT or SIGTERM")
}
func felixCommand() *ucli.Command {
	return serverPlaceholder("felix", "run only the dataplane (routes from the datastore, no BGP)")
}
func bgpCommand() *ucli.Command {
	return serverPlaceholder("bgp", "run only the BGP speaker (no kernel programming)")
}
func datastoreCommand() *ucli.Command {
	return &ucli.Command{Name: "datastore", Usage: "the embedded etcd datastore",
		Subcommands: []*ucli.Command{serverPlaceholder("run", "run an etcd member (initialising the datastore) until SIGINT or SIGTERM")}}
}
