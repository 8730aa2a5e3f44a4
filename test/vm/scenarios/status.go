package scenarios

import (
	"fmt"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

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
		rows, err := cluster.ParseNodeStatus(out)
		if err != nil || len(rows) != len(want) {
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
