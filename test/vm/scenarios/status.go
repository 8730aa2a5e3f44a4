package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// peerRow is one row of the IPv4 table of `brindle node status` (calicoctl's layout).
type peerRow struct{ Addr, Type, State, Info string }

// parsePeers reads the rows of the IPv4 BGP status table.
func parsePeers(out string) []peerRow {
	var rows []peerRow
	inV4 := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "IPv4 BGP status"):
			inV4 = true
		case strings.HasPrefix(line, "IPv6 BGP status"):
			inV4 = false
		case inV4 && strings.HasPrefix(line, "|"):
			f := strings.Split(strings.Trim(line, "|"), "|")
			if len(f) < 5 || strings.TrimSpace(f[0]) == "PEER ADDRESS" {
				continue
			}
			rows = append(rows, peerRow{Addr: strings.TrimSpace(f[0]), Type: strings.TrimSpace(f[1]),
				State: strings.TrimSpace(f[2]), Info: strings.TrimSpace(f[4])})
		}
	}
	return rows
}

// waitPeers waits until the host's `brindle node status` lists exactly the wanted peers
// (address -> peer type), each up and Established, and returns the output.
func waitPeers(t *testing.T, c *cluster.Cluster, host string, want map[string]string) string {
	t.Helper()
	var last string
	err := cluster.WaitFor(60*time.Second, fmt.Sprintf("%s's BGP peers %v", host, want), func() (bool, string) {
		out, err := c.NodeStatus(host)
		last = out
		if err != nil {
			return false, err.Error()
		}
		rows := parsePeers(out)
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
	mustf(t, err, "node status")
	return last
}

// peersOf maps every host of among except host to the peer type typ.
func peersOf(c *cluster.Cluster, host, typ string, among ...string) map[string]string {
	m := map[string]string{}
	for _, h := range among {
		if h != host {
			m[hostIP(c, h).String()] = typ
		}
	}
	return m
}
