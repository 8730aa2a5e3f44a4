package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/explain"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestExplainPolicy: explain's policy hops evaluate the agents' own policy programs. An
// ingress deny is named at the destination node with its tier, policy and rule; an allow
// ordered before it lets the walk through; a flow no policy of a tier decides for is named
// as dropped at the end of the tier; an egress deny stops the walk at the source node. Each
// verdict is checked against a ping, so the walk says what the dataplane does.
func TestExplainPolicy(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{NoBGP: true}, "node1", "node2")
	labelled := func(host, name, role string) *cluster.Container {
		ct, err := c.AddContainerWith(host, name, cluster.ContainerOptions{Labels: map[string]string{"role": role}})
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	client, db := labelled("node1", "client", "client"), labelled("node2", "db", "db")
	matrix(t, []*cluster.Container{client, db})

	walk := func(args ...string) (explain.Result, string) {
		t.Helper()
		r, _ := explainJSON(t, c, "node1", append(args, client.Name, db.Name)...)
		text, _ := c.Explain("node1", append(args, client.Name, db.Name)...)
		return r, text
	}
	// pings waits until client's pings to db get through (or not), as the dataplane decides.
	pings := func(want bool) {
		t.Helper()
		err := cluster.WaitFor(15*time.Second, "client's pings to db to pass="+map[bool]string{true: "yes", false: "no"}[want], func() (bool, string) {
			got, _ := testbed.Ping(client.NS, db.IP, 1, 300*time.Millisecond)
			return (got > 0) == want, ""
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	hopLines := func(r explain.Result, step string) string {
		for _, h := range r.Hops {
			if h.Step == step {
				return strings.Join(h.Lines, "\n")
			}
		}
		return ""
	}
	apply := func(doc string) {
		t.Helper()
		if err := c.Apply(doc); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("no policy: the profile allows", func(t *testing.T) {
		r, text := walk("--protocol", "icmp")
		if !r.OK {
			t.Fatalf("walk stopped:\n%s", text)
		}
		for step, want := range map[string]string{"source node": "policy (egress): allowed by profile ", "destination node": "policy (ingress): allowed by profile "} {
			if !strings.Contains(hopLines(r, step), want) {
				t.Errorf("%s hop lacks %q:\n%s", step, want, text)
			}
		}
	})

	apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-db-ingress}
spec:
  order: 100
  selector: role == 'db'
  types: [Ingress]
  ingress: [{action: Deny, protocol: ICMP, source: {selector: role == 'client'}}]
`)
	t.Run("ingress deny at the destination node", func(t *testing.T) {
		pings(false)
		r, text := walk("--protocol", "icmp")
		t.Log("\n" + text)
		stoppedAt(t, r, "destination node", "policy denies the flow at ingress to workload node2-cni-db-eth0 ("+db.HostVeth+"): tier default policy deny-db-ingress rule 0 (Deny)")
		if last := r.Hops[len(r.Hops)-1]; last.Node != "node2" || last.Fault == nil || last.Fault.Command != "brindle node endpoints (on node2)" {
			t.Errorf("the deny is not shown on node2 with `brindle node endpoints`: %+v", last)
		}
		if !strings.Contains(hopLines(r, "source node"), "policy (egress): allowed by profile ") {
			t.Errorf("the source node's egress verdict is missing:\n%s", text)
		}
		for _, want := range []string{"policy denies the flow", "brindle node endpoints (on node2)"} {
			if !strings.Contains(text, want) {
				t.Errorf("text walk lacks %q", want)
			}
		}
	})

	apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-client-icmp}
spec:
  order: 10
  selector: role == 'db'
  types: [Ingress]
  ingress: [{action: Allow, protocol: ICMP, source: {selector: role == 'client'}}]
`)
	t.Run("allow ordered before the deny", func(t *testing.T) {
		pings(true)
		r, text := walk("--protocol", "icmp")
		if !r.OK {
			t.Fatalf("walk stopped:\n%s", text)
		}
		if want := "policy (ingress): allowed by tier default policy allow-client-icmp rule 0 (Allow)"; !strings.Contains(hopLines(r, "destination node"), want) {
			t.Errorf("destination node hop lacks %q:\n%s", want, text)
		}
	})
	t.Run("no policy of the tier decides: dropped at its end", func(t *testing.T) {
		// Both policies select db for ingress and match only ICMP: TCP falls off the end of
		// the default tier, which drops (the trap a Calico user meets most).
		r, text := walk("--protocol", "tcp", "--port", "5432")
		t.Log("\n" + text)
		stoppedAt(t, r, "destination node", "("+db.HostVeth+"): end of tier default: no policy of the tier decided, so the packet is dropped")
		for _, want := range []string{"policy (ingress): tier default policy allow-client-icmp: no rule matched",
			"policy (ingress): tier default policy deny-db-ingress: no rule matched"} {
			if !strings.Contains(hopLines(r, "destination node"), want) {
				t.Errorf("destination node hop lacks the trace line %q", want)
			}
		}
	})

	apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-client-egress}
spec:
  order: 5
  selector: role == 'client'
  types: [Egress]
  egress: [{action: Deny, protocol: ICMP, destination: {selector: role == 'db'}}]
`)
	t.Run("egress deny at the source node", func(t *testing.T) {
		pings(false)
		r, text := walk("--protocol", "icmp")
		t.Log("\n" + text)
		stoppedAt(t, r, "source node", "policy denies the flow at egress from workload node1-cni-client-eth0 ("+client.HostVeth+"): tier default policy deny-client-egress rule 0 (Deny)")
		if last := r.Hops[len(r.Hops)-1]; last.Node != "node1" || last.Fault == nil || last.Fault.Command != "brindle node endpoints (on node1)" {
			t.Errorf("the deny is not shown on node1 with `brindle node endpoints`: %+v", last)
		}
	})
}
