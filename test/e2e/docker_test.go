package e2e

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

func twoHosts() testbed.Options {
	return testbed.Options{Prefix: "bdk-", Subnets: []netip.Prefix{subnetA},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}}
}

// TestDockerTwoHosts: Debian's Docker on two hosts, brindle's Docker plugin on each, one
// network of the same name on both; containers reach each other over BGP-announced routes,
// show up as workload endpoints with their labels, survive a plugin restart, and leave
// nothing in IPAM once removed.
func TestDockerTwoHosts(t *testing.T) {
	cluster.RequireDocker(t)
	c := startCluster(t, twoHosts())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	d1 := cluster.StartDocker(t, c, "node1")
	d2 := cluster.StartDocker(t, c, "node2")
	for _, d := range []*cluster.DockerHost{d1, d2} {
		d.ImportBusybox(t)
		d.MustDocker(t, "network", "create", "-d", d.Driver, "--ipam-driver", d.Driver, "bnet")
	}
	start := time.Now()
	a := d1.Run(t, "ca", "bnet", "--label", "org.projectcalico.label.role=web", "--label", "other=x")
	b := d2.Run(t, "cb", "bnet")
	a2 := d1.Run(t, "ca2", "bnet")
	cts := []*cluster.Container{a, b, a2}
	t.Logf("containers %v started in %v", cts, time.Since(start))

	t.Run("ping matrix across hosts", func(t *testing.T) {
		matrix(t, cts)
	})
	t.Run("workload endpoints", func(t *testing.T) {
		out, err := c.Ctl(nil, "get", "workloadendpoints", "-o", "wide")
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range cts {
			if !strings.Contains(out, ct.IP.String()+"/32") {
				t.Errorf("brindle get workloadendpoints does not show %s:\n%s", ct, out)
			}
		}
		if n := strings.Count(out, " bnet "); n != 3 {
			t.Errorf("want 3 endpoints with profile bnet, got %d:\n%s", n, out)
		}
		ep := d1.MustDocker(t, "inspect", "-f", "{{.NetworkSettings.Networks.bnet.EndpointID}}", "ca")
		name := "node1-libnetwork-libnetwork-" + ep
		if err := cluster.WaitFor(10*time.Second, "label role=web on ca's endpoint", func() (bool, string) {
			out, err := c.Ctl(nil, "get", "workloadendpoint", name, "-n", "default", "-o", "json")
			return err == nil && strings.Contains(out, `"role": "web"`), out
		}); err != nil {
			t.Error(err)
		}
		if out, _ := c.Ctl(nil, "get", "workloadendpoint", name, "-n", "default", "-o", "json"); strings.Contains(out, `"other"`) {
			t.Errorf("a label without the prefix reached the endpoint:\n%s", out)
		}
	})
	t.Run("policy selects a container by its label", func(t *testing.T) { dockerPolicy(t, c, a, b, a2) })
	t.Run("plugin restart keeps containers", func(t *testing.T) {
		if err := d1.Plugin.Stop(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		d1.StartPlugin(t)
		a3 := d1.Run(t, "ca3", "bnet")
		cts = append(cts, a3)
		matrix(t, cts)
	})
	t.Run("dockerd restarted", func(t *testing.T) {
		d2.RestartDaemon(t)
		// Docker stopped cb on the way down (no restart policy): its endpoint and address go.
		if out, _ := c.Ctl(nil, "get", "workloadendpoints", "-o", "wide"); strings.Contains(out, b.IP.String()+"/32") {
			t.Errorf("cb's endpoint outlived the daemon restart:\n%s", out)
		}
		// The restarted daemon still uses the network; the matrix includes node1's containers.
		cts[1] = d2.Run(t, "cb2", "bnet")
		matrix(t, cts)
	})
	t.Run("removal leaves nothing", func(t *testing.T) {
		d1.MustDocker(t, "rm", "-f", "ca", "ca2", "ca3")
		d2.MustDocker(t, "rm", "-f", "cb", "cb2")
		for _, d := range []*cluster.DockerHost{d1, d2} {
			d.MustDocker(t, "network", "rm", "bnet")
			links, err := c.Host(d.Host).NL.LinkList()
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range links {
				if n := l.Attrs().Name; strings.HasPrefix(n, "cali") || strings.HasPrefix(n, "tmp") {
					t.Errorf("%s: interface %s left behind", d.Host, n)
				}
			}
		}
		if out, _ := c.Ctl(nil, "get", "workloadendpoints"); strings.Contains(out, "libnetwork") {
			t.Errorf("endpoints left behind:\n%s", out)
		}
		out, err := c.Ctl(nil, "ipam", "check")
		if err != nil {
			t.Fatalf("ipam check: %v\n%s", err, out)
		}
		out, err = c.Ctl(nil, "ipam", "show")
		if err != nil || !strings.Contains(out, "| 0 (0%)") {
			t.Errorf("addresses still in use after every container and network was removed: %v\n%s", err, out)
		}
	})
}

// dockerPolicy: a NetworkPolicy selecting role == 'web' (the label docker run gave ca
// through the prefix) denies ingress to ca alone; removing it restores the matrix.
func dockerPolicy(t *testing.T, c *cluster.Cluster, web, other, peer *cluster.Container) {
	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web-closed, namespace: default}
spec:
  selector: role == 'web'
  types: [Ingress]
`); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitFor(10*time.Second, "pings to the web container to stop", func() (bool, string) {
		for _, from := range []*cluster.Container{other, peer} {
			if got, _ := testbed.Ping(from.NS, web.IP, 1, 300*time.Millisecond); got != 0 {
				return false, from.String() + " still reaches " + web.String()
			}
		}
		return true, ""
	}); err != nil {
		t.Fatal(err)
	}
	// Only the labelled container is isolated: the others still reach each other, and the
	// web container's own egress is untouched.
	if failed := cluster.PingMatrix([]*cluster.Container{other, peer}, 2); len(failed) > 0 {
		t.Errorf("unlabelled containers lost traffic: %v", failed)
	}
	if got, _ := testbed.Ping(web.NS, other.IP, 2, time.Second); got != 2 {
		t.Errorf("egress of the web container was cut (%d/2)", got)
	}
	if _, err := c.Ctl(nil, "delete", "networkpolicy", "web-closed", "-n", "default"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitMatrix([]*cluster.Container{web, other, peer}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
