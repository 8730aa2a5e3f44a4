package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// peerRow is one line of the IPv4 table of `brindle node status`.
type peerRow struct{ Addr, Type, State, Info string }

// parseStatus reads the IPv4 BGP table from node status output (calicoctl's layout:
// "| PEER ADDRESS | PEER TYPE | STATE | SINCE | INFO |").
func parseStatus(out string) ([]peerRow, error) {
	if !strings.HasPrefix(out, "Calico process is running.") {
		return nil, fmt.Errorf("node status does not start with the running line:\n%s", out)
	}
	v4, _, _ := strings.Cut(out, "IPv6 BGP status")
	var rows []peerRow
	for _, line := range strings.Split(v4, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 7 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if f[1] == "PEER ADDRESS" {
			continue
		}
		rows = append(rows, peerRow{Addr: f[1], Type: f[2], State: f[3], Info: f[5]})
	}
	return rows, nil
}

// waitPeers waits until the host's node status lists exactly the wanted peers (address ->
// peer type), all up and Established, and returns the last output.
func waitPeers(t *testing.T, c *cluster.Cluster, host string, want map[string]string) string {
	t.Helper()
	var last string
	err := cluster.WaitFor(45*time.Second, host+"'s BGP peers "+fmt.Sprint(want), func() (bool, string) {
		out, err := c.NodeStatus(host)
		last = out
		if err != nil {
			return false, err.Error()
		}
		rows, err := parseStatus(out)
		if err != nil {
			return false, err.Error()
		}
		if len(rows) != len(want) {
			return false, out
		}
		for _, r := range rows {
			if want[r.Addr] != r.Type || r.State != "up" || r.Info != "Established" {
				return false, out
			}
		}
		return true, out
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

// peersOf maps every other node host to a peer type.
func peersOf(c *cluster.Cluster, host, typ string, among ...string) map[string]string {
	m := map[string]string{}
	for _, h := range among {
		if h != host {
			m[hostIP(c, h).String()] = typ
		}
	}
	return m
}

func TestParseStatus(t *testing.T) {
	out := `Calico process is running.

IPv4 BGP status
+-----------------+-------------------+-------+----------+-------------+
|  PEER ADDRESS   |     PEER TYPE     | STATE |  SINCE   |    INFO     |
+-----------------+-------------------+-------+----------+-------------+
| 100.100.137.201 | node-to-node mesh | up    | 05:03:38 | Established |
| 100.100.137.202 | node specific     | start | 05:03:38 | Connect     |
+-----------------+-------------------+-------+----------+-------------+

IPv6 BGP status
No IPv6 peers found.
`
	rows, err := parseStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []peerRow{{"100.100.137.201", "node-to-node mesh", "up", "Established"},
		{"100.100.137.202", "node specific", "start", "Connect"}}
	if !slices.Equal(rows, want) {
		t.Errorf("parsed %v, want %v", rows, want)
	}
	if _, err := parseStatus("Calico process is not running.\n"); err == nil {
		t.Error("a not-running status parsed without error")
	}
}
