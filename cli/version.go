package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

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
		Flags: []ucli.Flag{&ucli.BoolFlag{Name: "m", Usage: "also list the modules of this build and of the embedded server build, as `go version -m` does"}},
		Action: func(c *ucli.Context) error {
			fmt.Fprintf(c.App.Writer, "brindle %s (commit %s, %s, %s/%s)\n", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if c.Bool("m") {
				printModules(c.App.Writer)
			}
			return nil
		},
	}
}

// printModules lists the modules linked into this binary and, for the lean build, into the
// full build it carries (GoBGP, the etcd server, ...), which scanners reading only this
// file's build information would not see. The format is `go version -m`'s.
func printModules(w io.Writer) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(w, "brindle: %s\n", bi.GoVersion)
		for _, line := range strings.Split(strings.TrimRight(bi.String(), "\n"), "\n") {
			if !strings.HasPrefix(line, "go\t") {
				fmt.Fprintf(w, "\t%s\n", line)
			}
		}
	}
	if s := serverModules(); s != "" {
		fmt.Fprintf(w, "# the embedded server build, exec'd for datastore run, node run, felix and bgp:\n%s", s)
	}
}
