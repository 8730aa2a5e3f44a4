package main

import (
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// explainWalk ends the demo with the seed's hand walk done by `brindle explain`: busybox1
// on node02 to nginx on node01, from node02 as an operator there would run it.
func explainWalk(c *cluster.Cluster) error {
	heading("the seed's packet walk, from live state: brindle explain busybox1 nginx")
	out, err := c.Explain("node02", "--protocol", "icmp", "busybox1", "nginx")
	show("node02", "brindle explain --protocol icmp busybox1 nginx", out)
	if err != nil && !strings.Contains(out, "STOPPED") {
		return fmt.Errorf("brindle explain: %w", err)
	}
	return err
}
