package etcdfault

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// dataplane is a host's kernel state the agent owns: routes other than the per-container
// ones (CNI ADD and DEL change those) and, with nft, the nftables ruleset without counters
// and without the test's own drop table. It must not change while the agent cannot reach
// etcd. (A host whose agent follows the churn changes its ruleset all along.)
func dataplane(c *cluster.Cluster, host string, nft bool) (string, error) {
	h := c.Host(host)
	rs, err := cluster.Routes(h)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, r := range rs {
		// IPv6 link-local routes come and go with the churn's veths (and may be listed
		// without their device while one is being deleted).
		if !strings.HasPrefix(r.Dev, "cali") && !linkLocal6.Contains(r.Dst.Addr()) {
			lines = append(lines, r.String())
		}
	}
	slices.Sort(lines)
	if !nft {
		return strings.Join(lines, "\n"), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"-s", "list", "ruleset"}})
	if err != nil {
		return "", err
	}
	// Per-container state (sets and chains keyed by the churn's endpoints) moves with ADD
	// and DEL; keep the lines that do not name a cali interface.
	var rules []string
	ours := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "table inet bfe_fault "):
			ours = true
		case ours && l == "}":
			ours = false
		case !ours && !caliRE.MatchString(l):
			rules = append(rules, l)
		}
	}
	return strings.Join(lines, "\n") + "\n--- nft ---\n" + strings.Join(rules, "\n"), nil
}

var (
	caliRE     = regexp.MustCompile(`cali[0-9a-z-]+`)
	linkLocal6 = netip.MustParsePrefix("fe80::/10")
)

// diffLines names the lines only in a and only in b.
func diffLines(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range la {
		if !slices.Contains(lb, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range lb {
		if !slices.Contains(la, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

const denyProbes = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: fault-probe-deny
spec:
  order: 10
  selector: role == 'probe'
  types: [Ingress]
  ingress:
  - action: Deny
`

// writeUntilOK applies (deny) or deletes the probe policy, retrying every 50 ms while the
// datastore refuses, and returns when the write returned.
func writeUntilOK(c *cluster.Cluster, deny bool, timeout time.Duration) (time.Time, error) {
	var last error
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if deny {
			last = c.Apply(denyProbes)
		} else {
			_, last = c.Ctl(nil, "delete", "globalnetworkpolicy", "fault-probe-deny")
		}
		if last == nil {
			return time.Now(), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("writing the probe policy for %s: %w", timeout, last)
}

// effect waits until the probe pinger shows the policy in force (deny: a request sent
// after since is lost) or gone (a request after since is answered), and returns how long
// after since that request was sent.
func effect(p *pinger, deny bool, since time.Time, timeout time.Duration) (time.Duration, error) {
	var at time.Time
	err := cluster.WaitFor(timeout, p.name+" to follow the probe policy", func() (bool, string) {
		var ok bool
		if deny {
			at, ok = p.firstLoss(since)
		} else {
			at, ok = p.firstReply(since)
		}
		return ok, fmt.Sprintf("deny %v: no change since %s", deny, since.Format("15:04:05.000"))
	})
	if err != nil {
		return 0, err
	}
	return at.Sub(since), nil
}
