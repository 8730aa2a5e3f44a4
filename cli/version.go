package cli

import (
	"fmt"
	"runtime"

	ucli "github.com/urfave/cli/v2"
)

// Version and Commit are stamped by the Makefile with -ldflags -X.
var (
	Version = "dev"
	Commit  = "unknown"
)

func versionCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print the version and commit this binary was built from",
		Action: func(c *ucli.Context) error {
			fmt.Fprintf(c.App.Writer, "brindle %s (commit %s, %s, %s/%s)\n", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
