package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// denyAll selects every workload and has no rules: once a policy selects an endpoint, what
// it does not allow is dropped (default deny), in both directions.
const denyAll = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: deny-all
spec:
  order: 1000
  selector: all()
  types: [Ingress, Egress]
`

// allowPing comes before deny-all (lower order) and allows ICMP both ways.
const allowPing = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-ping
spec:
  order: 10
  selector: all()
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: ICMP
  egress:
  - action: Allow
    protocol: ICMP
`

// policyDemo applies a deny-all GlobalNetworkPolicy and shows the cross-host pings stop,
// then an allow policy ordered before it and shows them come back.
func policyDemo(c *cluster.Cluster, cts []*cluster.Container) error {
	heading("network policy: a deny-all GlobalNetworkPolicy")
	if err := applyShown(c, "deny-all.yaml", denyAll); err != nil {
		return err
	}
	if err := waitPings(cts, false); err != nil {
		return err
	}
	if err := showPings(cts, false); err != nil {
		return err
	}
	fmt.Println("deny-all stops every ping (each container's ingress and egress are now default deny)")
	ctl(c, "get", "globalnetworkpolicies", "-o", "wide")

	heading("network policy: an allow policy ordered before deny-all")
	if err := applyShown(c, "allow-ping.yaml", allowPing); err != nil {
		return err
	}
	if err := waitPings(cts, true); err != nil {
		return err
	}
	if err := showPings(cts, true); err != nil {
		return err
	}
	fmt.Println("allow-ping (order 10) is evaluated before deny-all (order 1000): pings are back")
	return nil
}

func applyShown(c *cluster.Cluster, file, doc string) error {
	fmt.Print(doc)
	if err := c.Apply(doc); err != nil {
		return err
	}
	show("router", "brindle apply -f "+file, "Successfully applied 1 'GlobalNetworkPolicy' resource(s)\n")
	return nil
}

// crossHost calls fn for every pair of containers on different hosts.
func crossHost(cts []*cluster.Container, fn func(from, to *cluster.Container) error) error {
	for _, from := range cts {
		for _, to := range cts {
			if from.Host != to.Host {
				if err := fn(from, to); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// waitPings polls until every cross-host ping has the wanted outcome: the agents enforce a
// policy a moment after it is written.
func waitPings(cts []*cluster.Container, want bool) error {
	what := "every cross-host ping to be dropped"
	if want {
		what = "every cross-host ping to pass"
	}
	return cluster.WaitFor(20*time.Second, what, func() (bool, string) {
		var bad []string
		_ = crossHost(cts, func(from, to *cluster.Container) error {
			got, _ := testbed.Ping(from.NS, to.IP, 1, 300*time.Millisecond)
			if (got == 1) != want {
				bad = append(bad, from.Name+" -> "+to.Name)
			}
			return nil
		})
		return len(bad) == 0, strings.Join(bad, ", ")
	})
}

// showPings runs iputils ping as a user would and checks each outcome.
func showPings(cts []*cluster.Container, want bool) error {
	return crossHost(cts, func(from, to *cluster.Container) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := from.NS.Run(ctx, testbed.RunOptions{Path: "ping", Args: []string{"-c", "1", "-W", "1", to.IP.String()}})
		show(from.Name+"@"+from.Host, "ping -c 1 -W 1 "+to.IP.String()+"   # "+to.Name+" on "+to.Host, out)
		if (err == nil) != want {
			return fmt.Errorf("ping %s -> %s: passed=%v, want %v", from, to, err == nil, want)
		}
		return nil
	})
}
