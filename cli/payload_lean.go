//go:build brindle_lean

package cli

import (
	_ "embed"
	"fmt"
	"os"
	"strings"
)

// The gzip'd full build, the SHA-256 of the unpacked file and its module list (`go version
// -m`), which make build puts here before linking this one.
var (
	//go:embed payload/brindle-server.gz
	serverPayload []byte
	//go:embed payload/brindle-server.sha256
	serverSum string
	//go:embed payload/brindle-server.modules
	serverModulesText string
)

// serverModules is the module list of the embedded full build, for `brindle version -m`.
func serverModules() string { return serverModulesText }

// execServer replaces this process with the embedded full build for daemon roles.
//
// The build is unpacked once into a content-addressed file in the cache directory
// ($BRINDLE_CACHE_DIR, default /var/cache/brindle) and exec'd from there, after checking
// the file against the build's SHA-256 on the descriptor that is exec'd: its pages are
// ordinary page cache that the kernel can drop, and later daemon starts skip the unpack.
// Where no private cache directory can be used, it is unpacked into a sealed anonymous
// memory file instead (the pages then stay resident for the life of the process).
func execServer(args []string) (handled bool, code int) {
	if !serverRole(args) {
		return false, 0
	}
	sb := serverBuild{gz: serverPayload, sum: strings.TrimSpace(serverSum)}
	dir := os.Getenv("BRINDLE_CACHE_DIR")
	if dir == "" {
		dir = "/var/cache/brindle"
	}
	f, err := sb.cached(dir)
	if err == nil {
		err = execFile(f, args)
		f.Close()
	}
	fmt.Fprintf(os.Stderr, "warning: server build from %s: %v; unpacking into memory instead\n", dir, err)
	if f, err = sb.memfd(); err != nil {
		fmt.Fprintln(os.Stderr, "Error: unpacking the server build:", err)
		return true, 1
	}
	err = execFile(f, args)
	fmt.Fprintln(os.Stderr, "Error: exec of the server build:", err)
	return true, 1
}
