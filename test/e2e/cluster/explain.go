package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/test/testbed"
)

// Explain runs `brindle explain <args>` in the host's namespace as an operator on that host
// would: its own agent through BRINDLE_STATE_DIR, the other hosts' agents through their
// status sockets (the bed's hosts share this machine's filesystem; see docs/explain.md).
func (c *Cluster) Explain(host string, args ...string) (string, error) {
	h := c.Host(host)
	if h == nil {
		return "", fmt.Errorf("no host %q", host)
	}
	argv := []string{"explain"}
	for _, hh := range c.Bed.Hosts {
		if hh.HostName != host {
			argv = append(argv, "--agent", hh.HostName+"="+bgpstatus.SocketPath(c.StateDir(hh.HostName)))
		}
	}
	return c.ExplainOnly(host, append(argv, args...)...)
}

// ExplainOnly runs `brindle <args>` in the host's namespace with its state dir and the
// datastore's endpoints, and nothing else: other agents are reached as args say.
func (c *Cluster) ExplainOnly(host string, argv ...string) (string, error) {
	h := c.Host(host)
	if h == nil {
		return "", fmt.Errorf("no host %q", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.Run(ctx, testbed.RunOptions{Path: c.Bin, Args: argv,
		Env: []string{"BRINDLE_STATE_DIR=" + c.StateDir(host), "ETCD_ENDPOINTS=" + c.Endpoints}})
}
