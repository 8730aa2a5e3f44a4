package etcdfault

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// scan compares the datastore with what the runtime believes after all the faults: one
// WorkloadEndpoint per live container carrying the container's address, none for
// containers that are gone (a failed ADD left nothing), no address held twice, `ipam
// check` clean with no grace period (no leaked address, handle or block), and on every
// host exactly the live containers' veths. It returns the number of duplicate addresses
// and the problems found.
func scan(c *cluster.Cluster, hosts []string) (dupes int, problems []string) {
	out, err := c.Ctl(nil, "get", "workloadendpoints", "--all-namespaces", "-o", "json")
	if err != nil {
		return 0, []string{err.Error()}
	}
	var list struct {
		Items []struct {
			Spec struct {
				Node        string   `json:"node"`
				ContainerID string   `json:"containerID"`
				IPNetworks  []string `json:"ipNetworks"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return 0, []string{fmt.Sprintf("workload endpoints: %v in %q", err, out)}
	}
	live := map[string]*cluster.Container{}
	for _, ct := range c.Containers() {
		live[ct.Name] = ct
	}
	holders := map[netip.Addr][]string{}
	seen := map[string]bool{}
	for _, w := range list.Items {
		id := w.Spec.ContainerID
		for _, n := range w.Spec.IPNetworks {
			if p, err := netip.ParsePrefix(n); err == nil {
				holders[p.Addr()] = append(holders[p.Addr()], id)
			}
		}
		ct := live[id]
		switch {
		case ct == nil:
			problems = append(problems, fmt.Sprintf("endpoint of container %s on %s, which the runtime does not have (a failed ADD or DEL left it)", id, w.Spec.Node))
		case seen[id]:
			problems = append(problems, "two endpoints for container "+id)
		case !slices.Contains(w.Spec.IPNetworks, ct.IP.String()+"/32"):
			problems = append(problems, fmt.Sprintf("endpoint of %s holds %v, the container has %s", ct, w.Spec.IPNetworks, ct.IP))
		}
		seen[id] = true
	}
	for id, ct := range live {
		if !seen[id] {
			problems = append(problems, fmt.Sprintf("container %s has no endpoint", ct))
		}
	}
	for a, ids := range holders {
		if len(ids) > 1 {
			dupes++
			problems = append(problems, fmt.Sprintf("address %s held by %v", a, ids))
		}
	}
	if out, err := c.Ctl(nil, "ipam", "check", "--grace-period", "0s"); err != nil {
		problems = append(problems, "brindle ipam check: "+out)
	}
	for _, h := range hosts {
		links, err := c.Host(h).NL.LinkList()
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		var got, want []string
		for _, l := range links {
			if n := l.Attrs().Name; strings.HasPrefix(n, "cali") {
				got = append(got, n)
			}
		}
		for _, ct := range live {
			if ct.Host == h {
				want = append(want, ct.HostVeth)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("%s has veths %v, its containers %v", h, got, want))
		}
	}
	return dupes, problems
}
