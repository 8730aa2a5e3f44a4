package etcdfault

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// allowPool lets every address of the pool into every endpoint, by CIDR. Written before
// the cut, it lets the cut host admit a container it has never heard of: the network's
// profile admits only members of its label set, which the cut host cannot update.
const allowPool = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: fault-allow-pool
spec:
  order: 1000
  selector: all()
  types: [Ingress]
  ingress:
  - action: Allow
    source:
      nets: [10.244.0.0/16]
`

// lateIP lies in a block no host has (the seed pool's blocks are /24s): the container that
// gets it makes node1 claim a new block, whose route the cut host can only learn over BGP.
var (
	lateIP    = netip.MustParseAddr("10.244.250.10")
	lateBlock = netip.MustParsePrefix("10.244.250.0/24")
)

// hostCut drops host's etcd traffic in its own namespace for d while BGP keeps running
// (issue #16 item 2). During the cut: every host keeps its routes (the cut host's nft
// ruleset too), a container added on node1 in a new block is reached from the cut host and
// reaches it (the block's route came over BGP), CNI ADD on the cut host fails with code 11,
// and a policy written during the cut reaches the other probe host but not the cut one,
// which keeps forwarding as before. Measured after: how long the cut host takes to enforce
// that policy.
func (r *faultRun) hostCut(host string, d time.Duration) {
	fault := fmt.Sprintf("%s cut off from etcd (%s)", host, d)
	other := "node2"
	if err := r.c.Apply(allowPool); err != nil {
		r.t.Fatal(err)
	}
	time.Sleep(time.Second)
	n := r.c.Host(host).Netns
	if err := dropTCPPort(n, clientPort); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = undrop(n) })
	cut := time.Now()
	// The reference is taken once the cut host can no longer hear of the churn elsewhere.
	time.Sleep(time.Second)
	before := map[string]string{}
	for _, h := range nodes {
		s, err := dataplane(r.c, h, h == host)
		if err != nil {
			r.t.Fatal(err)
		}
		before[h] = s
	}

	time.Sleep(time.Second)
	late, err := r.c.AddContainerArgs("node1", "late", "IP="+lateIP.String(), cluster.ContainerOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	added := time.Now()
	rt, err := r.c.WaitRoute(host, lateBlock, 20*time.Second, "node1's new block over BGP", func(rt cluster.Route, ok bool) bool {
		return ok && rt.Gw == r.c.Host("node1").Addr.Addr()
	})
	if err != nil {
		r.t.Error(err)
	}
	r.add(fault, "route to a block node1 claimed during the cut on "+host, "%s (%s after the ADD)", rt, time.Since(added).Round(time.Millisecond))
	var onCut *cluster.Container
	for _, ct := range r.static {
		if ct.Host == host {
			onCut = ct
		}
	}
	if err := cluster.WaitMatrix([]*cluster.Container{late, onCut}, 20*time.Second); err != nil {
		r.t.Error(err)
		r.dump(host)
	}
	r.add(fault, late.String()+" and "+onCut.String()+" reach each other after the ADD", "%s", time.Since(added).Round(time.Millisecond))

	at, err := writeUntilOK(r.c, true, 30*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault+", during", true, at, other)
	time.Sleep(time.Until(cut.Add(d)))
	stale := r.probe[host]
	sent, lost := stale.counts(at, time.Now().Add(-time.Second))
	r.add(fault, host+": probe pings while it cannot see the policy (stale, still forwarding)", "%d of %d lost", lost, sent)
	if lost > 0 {
		r.t.Errorf("%s enforced a policy written while it was cut off (%d of %d lost): it cannot have seen it", host, lost, sent)
	}
	changed := 0
	for _, h := range nodes {
		after, err := dataplane(r.c, h, h == host)
		if err != nil {
			r.t.Fatal(err)
		}
		// The new block's routes (node1's blackhole, the others' BGP route) are expected.
		after = dropLines(after, lateBlock.String())
		if after != before[h] {
			changed++
			r.t.Errorf("%s's routes or nft ruleset changed during %s's cut:\n%s", h, host, diffLines(before[h], after))
		}
	}
	r.add(fault, "hosts whose other routes (and the cut host's nft ruleset) changed during the cut", "%d of %d", changed, len(nodes))
	r.window(fault+", during", cut, time.Now())

	if err := undrop(n); err != nil {
		r.t.Fatal(err)
	}
	end := time.Now()
	r.policyFigures(fault+", after", true, end, host)
	if at, err = writeUntilOK(r.c, false, 30*time.Second); err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault+", after", false, at, other, host)
	if err := r.c.DelContainer(late); err != nil {
		r.t.Error(err)
	}
	if _, err := r.c.Ctl(nil, "delete", "globalnetworkpolicy", "fault-allow-pool"); err != nil {
		r.t.Error(err)
	}
	time.Sleep(2 * time.Second)
	r.window(fault+", after", end, time.Now())
}

// dump logs a host's routes and nft ruleset, to explain a failed reachability check.
func (r *faultRun) dump(host string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := r.c.Host(host)
	routes, _ := h.Run(ctx, testbed.RunOptions{Path: "ip", Args: []string{"route"}})
	rules, _ := h.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"-s", "list", "ruleset"}})
	r.t.Logf("%s routes:\n%s\nnft:\n%s", host, routes, rules)
}

// finish stops the traffic and the churn and scans the datastore against the runtime.
func (r *faultRun) finish() {
	for _, ch := range r.churns {
		ch.Stop()
	}
	var problems []string
	cleaned := 0
	for _, ch := range r.churns {
		problems = append(problems, ch.problems...)
		cleaned += ch.cleaned
	}
	all := countChurn(r.churns, time.Time{}, time.Now())
	r.add("all", "CNI calls", "%s", all)
	r.add("all", "ADDs failed with anything but code 11 or leaving a veth", "%d", len(problems))
	r.add("all", "failed ADDs whose endpoint only the runtime's DEL removed (write committed, answer and undo lost)", "%d", cleaned)
	sent, lost := 0, 0
	for _, p := range r.pings {
		s, l := p.Stop()
		sent, lost = sent+s, lost+l
	}
	r.add("all", "pings lost between existing containers", "%d of %d", lost, sent)
	if lost > 0 {
		r.t.Errorf("%d of %d pings between existing containers lost", lost, sent)
	}
	for _, p := range r.probe {
		p.Stop()
	}
	dupes, scanProblems := scan(r.c, nodes)
	r.add("all", "duplicate addresses (endpoints, `ipam check`)", "%d", dupes)
	r.add("all", "endpoints, blocks and veths that disagree with the runtime", "%d", len(scanProblems)-dupes)
	problems = append(problems, scanProblems...)
	if len(problems) > 0 {
		r.t.Errorf("after the faults:\n%s", strings.Join(problems, "\n"))
	}
	if all.adds == 0 || all.addFails == 0 {
		r.t.Errorf("churn: %s; want successful and failed ADDs both", all)
	}
}

// dropLines removes the lines of s that contain sub.
func dropLines(s, sub string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, sub) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
