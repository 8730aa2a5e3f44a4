//go:build brindle_lean

package cli

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// serverPayload is the gzip'd full build (make build puts it here before linking this one).
//
//go:embed payload/brindle-server.gz
var serverPayload []byte

// execServer replaces this process with the embedded full build for daemon roles. The
// payload is unpacked into an anonymous memory file, so nothing is written to disk and the
// exec'd program is exactly the one this binary was built with.
func execServer(args []string) (handled bool, code int) {
	if !serverRole(args) {
		return false, 0
	}
	fd, err := unix.MemfdCreate("brindle-server", unix.MFD_CLOEXEC)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error: memfd_create for the server build:", err)
		return true, 1
	}
	f := os.NewFile(uintptr(fd), "brindle-server")
	zr, err := gzip.NewReader(bytes.NewReader(serverPayload))
	if err == nil {
		_, err = io.Copy(f, zr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error: unpacking the server build:", err)
		return true, 1
	}
	// Keep argv[0] so the server build dispatches (and names itself) exactly as we were called.
	err = syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), args, os.Environ())
	fmt.Fprintln(os.Stderr, "Error: exec of the server build:", err)
	return true, 1
}
