package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// hostFelixConfig keeps felix's failsafe defaults and adds the test bed's etcd port (the bed
// never uses 2379), as an operator with etcd on another port must.
const hostFelixConfig = `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: default}
spec:
  failsafeInboundHostPorts: [{protocol: tcp, port: 22}, {protocol: udp, port: 68}, {protocol: tcp, port: 179},
    {protocol: tcp, port: 2379}, {protocol: tcp, port: 2380}, {protocol: tcp, port: 5473}, {protocol: tcp, port: 6443},
    {protocol: tcp, port: 6666}, {protocol: tcp, port: 6667}]
  failsafeOutboundHostPorts: [{protocol: udp, port: 53}, {protocol: udp, port: 67}, {protocol: tcp, port: 179},
    {protocol: tcp, port: 2379}, {protocol: tcp, port: 2380}, {protocol: tcp, port: 5473}, {protocol: tcp, port: 6443},
    {protocol: tcp, port: 6666}, {protocol: tcp, port: 6667}, {protocol: tcp, port: %d}]
`

// TestHostProtection: node1 runs with --auto-host-endpoint (node2 without, so node2 is a
// neutral client). A deny-all host policy leaves SSH (22), BGP and the agent's etcd session
// working and blocks everything else, also across an agent restart; applyOnForward policy on
// an uplink host endpoint controls pod egress; a preDNAT policy restricts a port published by
// the portmap CNI plugin to one source; a doNotTrack policy lets a UDP flow through without conntrack entries.
func TestHostProtection(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	if err := c.Apply(fmt.Sprintf(hostFelixConfig, cluster.EtcdPort)); err != nil {
		t.Fatal(err)
	}
	startAgents(t, c, cluster.AgentOptions{Extra: []string{"--auto-host-endpoint"}}, "node1")
	startAgents(t, c, cluster.AgentOptions{}, "node2")
	n1, n2 := c.Host("node1"), c.Host("node2")
	waitPeers(t, c, "node1", peersOf(c, "node1", "node-to-node mesh", "node1", "node2"))
	c1 := addContainer(t, c, "node1", "c1")
	c2 := addContainer(t, c, "node2", "c2")
	matrix(t, []*cluster.Container{c1, c2})
	for _, p := range []int{22, 8080} {
		serveTCP(t, n1.Netns, p)
	}
	ssh, web := netip.AddrPortFrom(hostIP(c, "node1"), 22), netip.AddrPortFrom(hostIP(c, "node1"), 8080)
	waitReach(t, "node2 to reach node1:8080 (auto host endpoint, default-allow profile)", n2.Netns, netip.Addr{}, web, true)
	out, err := c.Ctl(nil, "get", "hostendpoint", "node1-auto-hep", "-o", "yaml")
	if err != nil || !strings.Contains(out, "interfaceName: '*'") && !strings.Contains(out, `interfaceName: "*"`) {
		t.Fatalf("auto host endpoint: %v\n%s", err, out)
	}

	t.Run("deny-all host policy keeps failsafe traffic", func(t *testing.T) {
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-deny-all}
spec:
  selector: has(projectcalico.org/created-by)
  types: [Ingress, Egress]
`); err != nil {
			t.Fatal(err)
		}
		waitReach(t, "deny-all to block node1:8080", n2.Netns, netip.Addr{}, web, false)
		if !tcpReach(n2.Netns, netip.Addr{}, ssh) {
			t.Error("failsafe tcp/22 blocked by a deny-all host policy")
		}
		if got, _ := testbed.Ping(n2.Netns, hostIP(c, "node1"), 2, 500*time.Millisecond); got != 0 {
			t.Error("ping to node1 passes a deny-all host policy")
		}
		// Workloads are not host endpoints: pod traffic is unaffected.
		matrix(t, []*cluster.Container{c1, c2})
		// BGP stays up across the policy (sessions re-checked after some keepalives) and the
		// agent still follows etcd: a policy written now is enforced.
		time.Sleep(5 * time.Second)
		waitPeers(t, c, "node1", peersOf(c, "node1", "node-to-node mesh", "node1", "node2"))
		waitPeers(t, c, "node2", peersOf(c, "node2", "node-to-node mesh", "node1", "node2"))
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: host-allow-web}
spec:
  order: 10
  selector: has(projectcalico.org/created-by)
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]
`); err != nil {
			t.Fatal(err)
		}
		waitReach(t, "a policy written under deny-all to open node1:8080", n2.Netns, netip.Addr{}, web, true)
		// A restarted agent connects to etcd through the failsafe port and comes up ready.
		if _, err := c.RestartAgent("node1"); err != nil {
			t.Fatalf("agent restart under a deny-all host policy: %v", err)
		}
		waitPeers(t, c, "node1", peersOf(c, "node1", "node-to-node mesh", "node1", "node2"))
		if !tcpReach(n2.Netns, netip.Addr{}, web) || !tcpReach(n2.Netns, netip.Addr{}, ssh) {
			t.Error("after the restart: 8080 or 22 blocked")
		}
		out, err := c.Host("node1").Run(t.Context(), testbed.RunOptions{Path: c.Bin, Args: []string{"node", "endpoints", "node1-auto-hep"},
			Env: []string{"BRINDLE_STATE_DIR=" + c.StateDir("node1")}})
		if err != nil || !strings.Contains(out, "Host endpoint node1-auto-hep (all interfaces") || !strings.Contains(out, "host-deny-all") {
			t.Errorf("node endpoints: %v\n%s", err, out)
		}
		t.Logf("brindle node endpoints node1-auto-hep:\n%s", out)
		for _, n := range []string{"host-allow-web", "host-deny-all"} {
			if _, err := c.Ctl(nil, "delete", "globalnetworkpolicy", n); err != nil {
				t.Fatal(err)
			}
		}
		waitReach(t, "node1:8080 open again", n2.Netns, netip.Addr{}, web, true)
	})

	t.Run("applyOnForward controls pod egress via the uplink", func(t *testing.T) {
		stop, err := testbed.ServeUDPEcho(c2.NS, netip.AddrPortFrom(c2.IP, 5000))
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		if got, _ := testbed.UDPEchoes(c1.NS, netip.AddrPortFrom(c2.IP, 5000), 3, 500*time.Millisecond); got == 0 {
			t.Fatal("c1 -> c2 udp/5000 before any forward policy")
		}
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {role: uplink}}
spec: {node: node1, interfaceName: eth0, expectedIPs: [` + hostIP(c, "node1").String() + `], profiles: [projectcalico-default-allow]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: uplink-no-udp-5000}
spec:
  selector: role == 'uplink'
  applyOnForward: true
  types: [Egress]
  egress: [{action: Deny, protocol: UDP, destination: {ports: [5000]}}, {action: Allow}]
`); err != nil {
			t.Fatal(err)
		}
		if err := cluster.WaitFor(15*time.Second, "forward policy to stop c1 -> c2 udp/5000", func() (bool, string) {
			got, _ := testbed.UDPEchoes(c1.NS, netip.AddrPortFrom(c2.IP, 5000), 2, 300*time.Millisecond)
			return got == 0, ""
		}); err != nil {
			t.Fatal(err)
		}
		matrix(t, []*cluster.Container{c1, c2}) // ICMP still forwarded
		if !tcpReach(n2.Netns, netip.Addr{}, ssh) {
			t.Error("uplink host endpoint: failsafe 22 blocked")
		}
		for _, del := range [][]string{{"globalnetworkpolicy", "uplink-no-udp-5000"}, {"hostendpoint", "node1-eth0"}} {
			if _, err := c.Ctl(nil, append([]string{"delete"}, del...)...); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("preDNAT policy restricts a portmap-published port to one source", func(t *testing.T) {
		// The seed's chain (calico, then Debian's portmap plugin, run by cnitool) publishes
		// node1:30080 -> cpm:8080 with iptables-nft nat rules in node1's namespace.
		cpm, err := c.AddContainerWith("node1", "cpm", cluster.ContainerOptions{
			PortMappings: []cluster.PortMapping{{HostPort: 30080, ContainerPort: 8080, Protocol: "tcp"}}})
		if err != nil {
			t.Fatal(err)
		}
		deleted := false
		defer func() { // also when the subtest fails, so no portmap rule or CNI cache is left
			if !deleted {
				_ = c.DelContainer(cpm)
			}
		}()
		serveTCP(t, cpm.NS, 8080)
		dnatTo := cpm.IP.String() + ":8080"
		nat := iptablesNAT(t, n1)
		if !strings.Contains(nat, "--dport 30080") || !strings.Contains(nat, dnatTo) {
			t.Fatalf("portmap wrote no DNAT 30080 -> %s in node1's nat table:\n%s", dnatTo, nat)
		}
		t.Logf("portmap's DNAT rules in node1 (iptables -t nat -S):\n%s", grepLines(nat, "CNI-DN-"))
		// Workload ingress must allow 8080 (the CNI profile admits only its own network).
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: c1-web}
spec:
  selector: has(projectcalico.org/orchestrator)
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}, {action: Allow, source: {selector: has(projectcalico.org/orchestrator)}}]
  egress: [{action: Allow}]
`); err != nil {
			t.Fatal(err)
		}
		pub := netip.AddrPortFrom(hostIP(c, "node1"), 30080)
		waitReach(t, "node2 to reach the published port", n2.Netns, netip.Addr{}, pub, true)
		waitReach(t, "the router to reach the published port", c.Bed.Router, netip.Addr{}, pub, true)
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: published-from-node2-only}
spec:
  selector: has(projectcalico.org/created-by)
  preDNAT: true
  applyOnForward: true
  ingress: [{action: Deny, protocol: TCP, source: {notNets: [` + hostIP(c, "node2").String() + `/32]}, destination: {ports: [30080]}}]
`); err != nil {
			t.Fatal(err)
		}
		waitReach(t, "preDNAT policy to block the router", c.Bed.Router, netip.Addr{}, pub, false)
		if !tcpReach(n2.Netns, netip.Addr{}, pub) {
			t.Error("preDNAT policy blocks the allowed source node2")
		}
		if !tcpReach(c.Bed.Router, netip.Addr{}, web) {
			t.Error("preDNAT policy blocks an unpublished port it does not name (node1:8080 from the router)")
		}
		if _, err := c.Ctl(nil, "delete", "globalnetworkpolicy", "published-from-node2-only"); err != nil {
			t.Fatal(err)
		}
		waitReach(t, "the router to reach the published port again once the policy is gone", c.Bed.Router, netip.Addr{}, pub, true)
		// portmap's own DEL (run by libcni before calico's) removes its rules.
		if err := c.DelContainer(cpm); err != nil {
			t.Fatal(err)
		}
		deleted = true
		if nat := iptablesNAT(t, n1); strings.Contains(nat, dnatTo) || strings.Contains(nat, "CNI-DN-") {
			t.Errorf("portmap rules left after CNI DEL:\n%s", nat)
		}
	})

	t.Run("policies that deny everything in every hook never break the agent", func(t *testing.T) {
		// Misconfigured on purpose: all() (workloads and host endpoints), plus doNotTrack and
		// preDNAT policies that deny everything.
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-everything}
spec: {order: 0, selector: all(), types: [Ingress, Egress], ingress: [{action: Deny}], egress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-everything-raw}
spec: {order: 0, selector: all(), doNotTrack: true, applyOnForward: true, ingress: [{action: Deny}], egress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-everything-prednat}
spec: {order: 0, selector: all(), preDNAT: true, applyOnForward: true, ingress: [{action: Deny}]}
`); err != nil {
			t.Fatal(err)
		}
		names := []string{"deny-everything", "deny-everything-raw", "deny-everything-prednat"}
		deleted := false
		defer func() { // also when the subtest fails, so the next one starts clean
			for _, n := range names {
				if !deleted {
					_, _ = c.Ctl(nil, "delete", "globalnetworkpolicy", n)
				}
			}
		}()
		waitReach(t, "deny-everything to block node1:8080", n2.Netns, netip.Addr{}, web, false)
		if !tcpReach(n2.Netns, netip.Addr{}, ssh) {
			t.Error("failsafe tcp/22 blocked")
		}
		time.Sleep(5 * time.Second)
		waitPeers(t, c, "node1", peersOf(c, "node1", "node-to-node mesh", "node1", "node2"))
		if err := c.Agent("node1").WaitReady(10 * time.Second); err != nil {
			t.Errorf("agent not ready under deny-everything: %v", err)
		}
		if _, err := c.RestartAgent("node1"); err != nil {
			t.Fatalf("agent restart under deny-everything: %v", err)
		}
		waitPeers(t, c, "node1", peersOf(c, "node1", "node-to-node mesh", "node1", "node2"))
		// The agent still follows etcd: removing the policies restores everything.
		for _, n := range names {
			if _, err := c.Ctl(nil, "delete", "globalnetworkpolicy", n); err != nil {
				t.Fatal(err)
			}
		}
		deleted = true
		waitReach(t, "node1:8080 open after the deny-everything policies are gone", n2.Netns, netip.Addr{}, web, true)
		matrix(t, []*cluster.Container{c1, c2})
	})

	t.Run("doNotTrack UDP flow leaves conntrack alone", func(t *testing.T) {
		for _, p := range []uint16{5000, 5001} {
			stop, err := testbed.ServeUDPEcho(n1.Netns, netip.AddrPortFrom(netip.IPv4Unspecified(), p))
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
		}
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked-udp-5001}
spec:
  selector: has(projectcalico.org/created-by)
  doNotTrack: true
  applyOnForward: true
  ingress: [{action: Allow, protocol: UDP, destination: {ports: [5001]}}]
  egress: [{action: Allow, protocol: UDP, source: {ports: [5001]}}]
`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // the agent applies it; no observable without traffic
		before := countLines(conntrack(t, n1), "dport=5001")
		const n = 2000
		got, _ := testbed.UDPEchoes(n2.Netns, netip.AddrPortFrom(hostIP(c, "node1"), 5001), n, 200*time.Millisecond)
		tracked, _ := testbed.UDPEchoes(n2.Netns, netip.AddrPortFrom(hostIP(c, "node1"), 5000), 5, 200*time.Millisecond)
		ct := conntrack(t, n1)
		t.Logf("untracked flow: %d/%d echoes; conntrack entries dport=5001 before %d after %d; tracked control dport=5000: %d entries",
			got, n, before, countLines(ct, "dport=5001"), countLines(ct, "dport=5000"))
		if got < n*9/10 || tracked == 0 {
			t.Errorf("echoes: untracked %d/%d, tracked %d/5", got, n, tracked)
		}
		if countLines(ct, "dport=5000") == 0 {
			t.Errorf("control flow udp/5000 has no conntrack entry (is the table readable?):\n%s", ct)
		}
		if countLines(ct, "dport=5001") != before {
			t.Errorf("untracked flow udp/5001 changed the conntrack table:\n%s", ct)
		}
	})
}
