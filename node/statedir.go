package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultStateDir is where Calico's node writes nodename and mtu for the CNI plugin.
const DefaultStateDir = "/var/lib/calico"

// StateDir resolves the state directory: the flag value, else $BRINDLE_STATE_DIR, else the default.
// Every file the agent writes lives here, so several agents can share one machine in tests.
func StateDir(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("BRINDLE_STATE_DIR"); env != "" {
		return env
	}
	return DefaultStateDir
}

// EnsureStateDir creates the state directory owner-only (0700) and refuses one that others
// could write to, as sshd's StrictModes refuses a writable home: whoever can write there
// can replace the status socket (and so answer `brindle node status` and `explain` in the
// agent's name) or the nodename and mtu files the CNI plugin trusts. An existing
// directory that is only readable by others (Calico's /var/lib/calico is 0755) is left as
// it is: nothing in it is secret and the socket itself is 0600.
func EnsureStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state dir %s: not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("state dir %s is writable by group or others (mode %#o): anyone who can write there could replace the status socket or the nodename and mtu files; chmod 0700 %s", dir, perm, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("state dir %s belongs to uid %d, not to this process (uid %d): chown it", dir, st.Uid, os.Geteuid())
	}
	return nil
}

// WriteStateFile writes name atomically (temp file + rename) so the CNI plugin never reads half a value.
func WriteStateFile(dir, name, value string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("state dir %s: %w", dir, err)
	}
	if _, err := tmp.WriteString(value); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// ReadNodename returns the name written by an earlier run, or "" if none.
func ReadNodename(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "nodename"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ResolveNodename picks the node name: --name, then the state dir's nodename file, then the
// hostname (lower-cased, as Calico does).
func ResolveNodename(flag, dir string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if n := ReadNodename(dir); n != "" {
		return n, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("node name: no --name, no %s/nodename and no hostname: %w", dir, err)
	}
	return strings.ToLower(h), nil
}

// WriteMTU records the workload MTU for the CNI plugin.
func WriteMTU(dir string, mtu int) error {
	return WriteStateFile(dir, "mtu", strconv.Itoa(mtu))
}
