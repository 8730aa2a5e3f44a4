package secure

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestLocalPermissions checks on disk and in the kernel's socket table what the agent
// leaves on a host (docs/security.md, Local permissions): a state directory others could
// write is refused; the status socket is 0600; the agent listens on loopback for health,
// on the node address for BGP, and for Prometheus where the FelixConfiguration says.
func TestLocalPermissions(t *testing.T) {
	c := startCluster(t)

	t.Run("a state dir others can write is refused", func(t *testing.T) {
		dir := c.StateDir("node2")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o777)
		a, err := c.LaunchAgent("node2", cluster.AgentOptions{})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Proc.Done():
			if a.Proc.ExitErr() == nil || !strings.Contains(a.Proc.Logs(), "writable by group or others") {
				t.Errorf("agent with a 0777 state dir: exit %v, log:\n%s", a.Proc.ExitErr(), a.Proc.Logs())
			}
			t.Logf("refused: %s", lastLine(a.Proc.Logs()))
		case <-time.After(20 * time.Second):
			t.Errorf("agent with a 0777 state dir still runs after 20s")
		}
		c.StopAgent("node2")
	})

	a, err := c.StartAgent("node1", cluster.AgentOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("files", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{
			bgpstatus.SocketPath(a.StateDir):      0o600,
			filepath.Join(a.StateDir, "nodename"): 0o644,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Error(err)
				continue
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %#o, want %#o", path, fi.Mode().Perm(), want)
			}
		}
		fi, _ := os.Stat(a.StateDir)
		if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("state dir %s: mode %#o is writable by others", a.StateDir, fi.Mode().Perm())
		}
	})

	node := c.Host("node1").Addr.Addr()
	t.Run("listeners", func(t *testing.T) {
		// Health on loopback, BGP on the node address, and the BMP station the speaker runs
		// for GoBGP's peer-down reasons (bgp/peerdown.go) on a loopback ephemeral port.
		want := []string{"127.0.0.1:9099", netip.AddrPortFrom(node, 179).String(), "127.0.0.1:ephemeral"}
		if err := waitListeners(a.Proc.PID, want); err != nil {
			t.Error(err)
		}
		// Felix's metrics port: all addresses by default (prometheusMetricsHost empty), or
		// the one address configured.
		for _, tc := range []struct{ host, want string }{{"", "[::]:9091"}, {"127.0.0.1", "127.0.0.1:9091"}} {
			fc := "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  prometheusMetricsEnabled: true\n"
			if tc.host != "" {
				fc += "  prometheusMetricsHost: " + tc.host + "\n"
			}
			if err := c.Apply(fc); err != nil {
				t.Fatal(err)
			}
			if err := waitListeners(a.Proc.PID, append(slices.Clone(want), tc.want)); err != nil {
				t.Errorf("prometheusMetricsHost %q: %v", tc.host, err)
			}
		}
	})
}

// waitListeners waits until the TCP listening sockets of pid's network namespace are
// exactly want (host:port, any order).
func waitListeners(pid int, want []string) error {
	slices.Sort(want)
	var got []string
	err := cluster.WaitFor(15*time.Second, "listeners "+strings.Join(want, " "), func() (bool, string) {
		var err error
		if got, err = listeners(pid); err != nil {
			return false, err.Error()
		}
		return slices.Equal(got, want), "listening on " + strings.Join(got, " ")
	})
	return err
}

// listeners reads /proc/<pid>/net/tcp and tcp6: the listening sockets of the process's
// network namespace, as host:port.
func listeners(pid int) ([]string, error) {
	var out []string
	for _, f := range []string{"tcp", "tcp6"} {
		file, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(file)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // TCP_LISTEN
				continue
			}
			ap, err := parseProcAddr(fields[1])
			if err != nil {
				file.Close()
				return nil, err
			}
			if ap.Port() >= 32768 { // the kernel's ip_local_port_range: picked by the kernel
				out = append(out, ap.Addr().String()+":ephemeral")
				continue
			}
			out = append(out, ap.String())
		}
		file.Close()
	}
	slices.Sort(out)
	return out, nil
}

// parseProcAddr decodes "0100007F:238B": the address as 32-bit words in host (little
// endian) order, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	host, port, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(host)
	p, perr := strconv.ParseUint(port, 16, 16)
	if !ok || err != nil || perr != nil || (len(b) != 4 && len(b) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad /proc/net/tcp address %q", s)
	}
	for i := 0; i < len(b); i += 4 {
		binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(b[i:]))
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), nil
}
