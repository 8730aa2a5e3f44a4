package cli

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// serverBuild is the full build carried inside the lean one (payload_lean.go): gzip'd, with
// the SHA-256 of the unpacked file, which make build records next to it. The daemon roles
// exec it as root, so what is exec'd is always a file whose content was checked against
// that sum, through the descriptor it was checked on.
type serverBuild struct {
	gz  []byte
	sum string // hex SHA-256 of the unpacked build
}

// cached returns the unpacked build in dir, opened read-only and verified, unpacking it
// first when it is missing or does not match (a torn write, a damaged disk, an edit). dir
// must be private to this user: only such a directory may hold a file we exec as root.
func (s serverBuild) cached(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := privateTo(dir, os.Geteuid()); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "brindle-server-"+s.sum)
	f, err := s.openVerified(path)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "warning: %v; unpacking the server build again\n", err)
	}
	if err := s.unpackTo(dir, path); err != nil {
		return nil, err
	}
	removeOtherBuilds(dir, path)
	// Just written, hashed on the way and fsync'd: no need to hash it again.
	return os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// privateTo checks that dir is owned by uid and writable by nobody else.
func privateTo(dir string, uid int) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.IsDir() || int(sys.Uid) != uid || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("cache directory %s is not a directory private to uid %d", dir, uid)
	}
	return nil
}

// openVerified opens path without following links and checks that it is a regular file of
// ours that nobody else may write, holding exactly the build with our sum.
func (s serverBuild) openVerified(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	bad := func(why string) (*os.File, error) {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("cached server build %s %s", path, why)
	}
	st, err := f.Stat()
	if err != nil {
		return bad(err.Error())
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.Mode().IsRegular() || !ok || int(sys.Uid) != os.Geteuid() || st.Mode().Perm()&0o022 != 0 {
		return bad("is not a regular file private to this user")
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return bad(err.Error())
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.sum {
		return bad("has SHA-256 " + got + ", not " + s.sum)
	}
	return f, nil
}

// unpackTo writes the build to a temporary file in dir, checks its sum, makes it durable
// and renames it to path, so that path only ever holds a complete, checked build.
func (s serverBuild) unpackTo(dir, path string) error {
	tmp, err := os.CreateTemp(dir, ".brindle-server-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = s.unpack(tmp)
	if err == nil {
		err = tmp.Chmod(0o755)
	}
	if err == nil {
		err = tmp.Sync() // the content is on disk before the name points at it
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // and the rename survives a crash
		d.Close()
	}
	return nil
}

// unpack writes the build to w and checks it against the recorded sum (gzip's own CRC
// already catches most damage; the sum also ties it to what make build produced).
func (s serverBuild) unpack(w io.Writer) error {
	zr, err := gzip.NewReader(bytes.NewReader(s.gz))
	if err != nil {
		return fmt.Errorf("server build payload: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), zr); err != nil {
		return fmt.Errorf("server build payload: %w", err)
	}
	return checkSum(h, s.sum)
}

func checkSum(h hash.Hash, want string) error {
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.TrimSpace(want) {
		return fmt.Errorf("server build payload has SHA-256 %s, want %s", got, want)
	}
	return nil
}

// memfd unpacks the build into a sealed anonymous memory file. MFD_EXEC asks for an
// executable one explicitly, as kernels with vm.memfd_noexec=1 require (6.3+); older kernels
// do not know the flag (EINVAL) and make every memfd executable anyway.
func (s serverBuild) memfd() (*os.File, error) {
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate("brindle-server", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("brindle-server", flags)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create (vm.memfd_noexec=2 forbids executable memory files; set BRINDLE_CACHE_DIR to a private directory instead): %w", err)
	}
	f := os.NewFile(uintptr(fd), "brindle-server")
	if err := s.unpack(f); err != nil {
		f.Close()
		return nil, err
	}
	// Nothing may change the build between the check and the exec.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the server build: %w", err)
	}
	return f, nil
}

// execFile replaces this process with the program open on f (as fexecve does), keeping argv
// so that it dispatches, and names itself, exactly as we were called.
func execFile(f *os.File, args []string) error {
	return syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), args, os.Environ())
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
