package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

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
		rows, err := cluster.ParseNodeStatus(out)
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

func TestParseNodeStatus(t *testing.T) {
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
	rows, err := cluster.ParseNodeStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.PeerRow{
		{Addr: "100.100.137.201", Type: "node-to-node mesh", State: "up", Info: "Established"},
		{Addr: "100.100.137.202", Type: "node specific", State: "start", Info: "Connect"}}
	if !slices.Equal(rows, want) {
		t.Errorf("parsed %v, want %v", rows, want)
	}
	if _, err := cluster.ParseNodeStatus("Calico process is not running.\n"); err == nil {
		t.Error("a not-running status parsed without error")
	}
}
