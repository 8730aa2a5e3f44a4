package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestWireGuardV6UnsupportedKernel runs `wireguardEnabledV6: true` on a kernel without
// WireGuard (this machine's) with an IPv6 VXLAN pool: every agent says in `brindle node
// status` that the IPv6 device (wg-v6.cali) cannot run, publishes no
// status.wireguardPublicKeyV6, stays ready and keeps routing IPv6 pods through vxlan-v6.calico.
// The IPv4 device stays off (its own section is absent). The VM suite covers a kernel with
// WireGuard.
func TestWireGuardV6UnsupportedKernel(t *testing.T) {
	c := startDualCluster(t, dualStack(twoSubnets()), true)
	if exec.Command("ip", "netns", "exec", c.Host("node1").Name, "ip", "link", "add", "bwgprobe", "type", "wireguard").Run() == nil {
		exec.Command("ip", "netns", "exec", c.Host("node1").Name, "ip", "link", "del", "bwgprobe").Run()
		t.Skip("this kernel has WireGuard; the VM suite covers it")
	}
	applyPool6(t, c, "Always", false)
	startAgents(t, c, cluster.AgentOptions{NoBGP: true, IP6: true}, nodes...)
	var cts []*cluster.Container
	for i, n := range nodes {
		cts = append(cts, addContainer(t, c, n, fmt.Sprintf("c%d", i+1)))
	}
	matrix6(t, cts)
	if err := c.Apply("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  wireguardEnabledV6: true\n"); err != nil {
		t.Fatal(err)
	}
	for _, h := range nodes {
		var out string
		err := cluster.WaitFor(20*time.Second, h+": node status says IPv6 WireGuard is unsupported", func() (bool, string) {
			var err error
			out, err = c.NodeStatus(h)
			return err == nil && strings.Contains(out, "WireGuard IPv6 status\nWireGuard is enabled but not running: WireGuard unsupported by the kernel: creating wg-v6.cali"), out
		})
		if err != nil {
			t.Fatal(err)
		}
		if h == "node1" {
			t.Logf("node1 `brindle node status`:\n%s", out)
		}
		if strings.Contains(out, "WireGuard status\n") {
			t.Errorf("%s: an IPv4 WireGuard section although wireguardEnabled is unset:\n%s", h, out)
		}
		a := c.Agent(h)
		if !a.Proc.Running() {
			t.Fatalf("%s: the agent exited: %v", h, a.Proc.ExitErr())
		}
		if ok, err := a.Ready(); err != nil || !ok {
			t.Errorf("%s: not ready with IPv6 WireGuard unsupported (err %v)", h, err)
		}
		raw, err := c.Ctl(nil, "get", "node", h, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var n6 struct {
			Status struct {
				Key6 string `json:"wireguardPublicKeyV6"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(raw), &n6); err != nil || n6.Status.Key6 != "" {
			t.Errorf("%s: publishes an IPv6 WireGuard key it cannot use: %q (err %v)", h, n6.Status.Key6, err)
		}
	}
	// Routing carries on unencrypted through vxlan-v6.calico.
	matrix6(t, cts)
	expectVXLAN6(t, c, cts[0], cts[2])
	time.Sleep(2 * time.Second)
	if n := strings.Count(c.Agent("node1").Proc.Logs(), "WireGuard is enabled but cannot run here"); n != 1 {
		t.Errorf("node1 logged the reason %d times, want once", n)
	}
}
