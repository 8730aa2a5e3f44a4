package hostile

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

func itoa(n int) string { return strconv.Itoa(n) }

// cliNamesBroken: `brindle get <kind>` lists the good records of every kind, exits 0 and
// names each broken key; `brindle ipam show` and `ipam check` name the broken IPAM keys.
func cliNamesBroken(t *testing.T, c *cluster.Cluster, recs []record, fig *figures) {
	byPrefix := map[string][]record{}
	for _, r := range recs {
		if k, _, _, ok := store.ParseResourceKey(r.key); ok {
			byPrefix[k.Plural] = append(byPrefix[k.Plural], r)
		}
	}
	kinds := 0
	for _, k := range api.Kinds() {
		if k.Kind == "IPAMConfiguration" {
			continue
		}
		args := []string{"get", k.Plural, "-o", "yaml"}
		if k.Namespaced {
			args = append(args, "--all-namespaces")
		}
		out, err := c.Ctl(nil, args...)
		if err != nil {
			t.Errorf("brindle %s: %v", strings.Join(args, " "), err)
			continue
		}
		for _, r := range byPrefix[k.Plural] {
			if !strings.Contains(out, r.key) {
				t.Errorf("brindle %s does not name the broken %s (%s):\n%s", strings.Join(args, " "), r.key, r.variant, clip(out))
			}
		}
		kinds++
	}
	// A good record of a kind with broken neighbours is still listed.
	if out, err := c.Ctl(nil, "get", "ippools", "-o", "name"); err != nil || !strings.Contains(out, "default-ipv4-ippool") {
		t.Errorf("brindle get ippools lost the good pool (%v):\n%s", err, clip(out))
	}
	fig.add(t, "brindle get: "+itoa(kinds)+" kinds listed, exit 0, every broken key named")

	out, err := c.Ctl(nil, "ipam", "show", "--show-blocks")
	if err != nil {
		t.Errorf("brindle ipam show --show-blocks: %v", err)
	}
	for _, r := range recs {
		if strings.Contains(r.key, "/assignment/") && !strings.Contains(out, r.key) {
			t.Errorf("ipam show does not name the broken block %s (%s):\n%s", r.key, r.variant, clip(out))
		}
	}
	// check exits 1 when it finds problems; broken records are problems it must name, but
	// it must get through (no panic, no refusal to look at the rest).
	out, _ = c.Ctl(nil, "ipam", "check")
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("brindle ipam check crashed:\n%s", clip(out))
	}
	for _, r := range recs {
		if strings.HasPrefix(r.key, store.IPAMPrefix+"assignment/") && !strings.Contains(out, r.key) {
			t.Errorf("ipam check does not name the broken block %s (%s):\n%s", r.key, r.variant, clip(out))
		}
	}
	fig.add(t, "brindle ipam show/check: run through, every broken block named")
}

// denyPolicyTakesEffect applies a policy denying ICMP to c2 after the garbage: the policy
// watch must still deliver it (c1 -> c2 stops), and its deletion (c1 -> c2 again).
func denyPolicyTakesEffect(t *testing.T, c *cluster.Cluster, c1, c2 *cluster.Container, fig *figures) {
	gnp := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: hostile-deny
spec:
  selector: hostile == "target"
  types: [Ingress]
  ingress:
  - action: Deny
    protocol: ICMP
  - action: Allow
`
	start := time.Now()
	if err := c.Apply(gnp); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitFor(30*time.Second, "the deny policy to stop c1 -> c2", func() (bool, string) {
		got, _ := testbed.Ping(c1.NS, c2.IP, 1, 300*time.Millisecond)
		return got == 0, "ping still answered"
	}); err != nil {
		t.Fatal(err)
	}
	fig.add(t, "deny policy applied after garbage: in effect after "+since(start))
	start = time.Now()
	if _, err := c.Ctl(nil, "delete", "globalnetworkpolicy", "hostile-deny"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	fig.add(t, "deny policy deleted: c1 <-> c2 again after "+since(start))
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}
