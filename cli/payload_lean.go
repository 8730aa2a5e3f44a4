//go:build brindle_lean

package cli

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// serverPayload is the gzip'd full build (make build puts it here before linking this one).
//
//go:embed payload/brindle-server.gz
var serverPayload []byte

// execServer replaces this process with the embedded full build for daemon roles.
//
// The build is unpacked once into a content-addressed file in the cache directory
// ($BRINDLE_CACHE_DIR, default /var/cache/brindle) and exec'd from there: its pages are
// ordinary page cache that the kernel can drop, and later daemon starts skip the unpack.
// Where no private cache directory can be used, it is unpacked into an anonymous memory
// file instead (the pages then stay resident for the life of the process).
func execServer(args []string) (handled bool, code int) {
	if !serverRole(args) {
		return false, 0
	}
	// Named by the hash of what is embedded, so each build gets its own file.
	sum := sha256.Sum256(serverPayload)
	id := hex.EncodeToString(sum[:])
	if path, err := cachedServer(id); err == nil {
		err = syscall.Exec(path, args, os.Environ())
		fmt.Fprintf(os.Stderr, "warning: exec of %s: %v; unpacking into memory instead\n", path, err)
	}
	fd, err := unix.MemfdCreate("brindle-server", unix.MFD_CLOEXEC)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error: memfd_create for the server build:", err)
		return true, 1
	}
	f := os.NewFile(uintptr(fd), "brindle-server")
	if err := unpack(f); err != nil {
		fmt.Fprintln(os.Stderr, "Error: unpacking the server build:", err)
		return true, 1
	}
	// Keep argv[0] so the server build dispatches (and names itself) exactly as we were called.
	err = syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), args, os.Environ())
	fmt.Fprintln(os.Stderr, "Error: exec of the server build:", err)
	return true, 1
}

// cachedServer returns the path of the unpacked server build, creating it if needed.
func cachedServer(id string) (string, error) {
	dir := os.Getenv("BRINDLE_CACHE_DIR")
	if dir == "" {
		dir = "/var/cache/brindle"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	// Only a directory nobody else can write to may hold a binary we exec as root.
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("cache directory %s is not private to this user", dir)
	}
	path := filepath.Join(dir, "brindle-server-"+id)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, ".brindle-server-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := unpack(tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", err
	}
	removeOtherBuilds(dir, path)
	return path, nil
}

// unpack writes the server build to f; gzip's checksum catches a damaged payload.
func unpack(f *os.File) error {
	zr, err := gzip.NewReader(bytes.NewReader(serverPayload))
	if err != nil {
		return err
	}
	_, err = io.Copy(f, zr)
	return err
}

// removeOtherBuilds deletes server builds of other versions. Daemons still running from one
// keep their (unlinked) file until they exit.
func removeOtherBuilds(dir, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, "brindle-server-*"))
	for _, p := range old {
		if p != keep {
			os.Remove(p)
		}
	}
}
