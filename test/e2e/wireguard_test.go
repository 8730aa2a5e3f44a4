package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestWireGuardUnsupportedKernel runs `wireguardEnabled: true` on a kernel without WireGuard
// (this machine's): every agent says why in `brindle node status` and its log, publishes no
// public key (so its peers keep routing to it unencrypted, as Calico does for a node without
// WireGuard), stays ready, keeps the pool's routes and does not crash. The VM suite's
// TestWireGuard covers a kernel that has it.
func TestWireGuardUnsupportedKernel(t *testing.T) {
	c, cts := encapCluster(t, "Never", "Always", cluster.AgentOptions{Felix: true})
	if exec.Command("ip", "netns", "exec", c.Host("node1").Name, "ip", "link", "add", "bwgprobe", "type", "wireguard").Run() == nil {
		exec.Command("ip", "netns", "exec", c.Host("node1").Name, "ip", "link", "del", "bwgprobe").Run()
		t.Skip("this kernel has WireGuard; test/vm/scenarios/wireguard_test.go covers it")
	}
	matrix(t, cts)
	if err := c.Apply("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  wireguardEnabled: true\n"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"node1", "node2", "node3"} {
		var out string
		err := cluster.WaitFor(20*time.Second, h+": node status says WireGuard is unsupported", func() (bool, string) {
			var err error
			out, err = c.NodeStatus(h)
			return err == nil && strings.Contains(out, "WireGuard is enabled but not running: WireGuard unsupported by the kernel"), out
		})
		if err != nil {
			t.Fatal(err)
		}
		if h == "node1" {
			t.Logf("node1 `brindle node status`:\n%s", out)
		}
		a := c.Agent(h)
		if !a.Proc.Running() {
			t.Fatalf("%s: the agent exited: %v", h, a.Proc.ExitErr())
		}
		if ok, err := a.Ready(); err != nil || !ok {
			t.Errorf("%s: not ready with WireGuard unsupported (err %v)", h, err)
		}
		if logs := a.Proc.Logs(); !strings.Contains(logs, "WireGuard unsupported by the kernel") {
			t.Errorf("%s: the log does not say why WireGuard is not running:\n%s", h, logs)
		}
		raw, err := c.Ctl(nil, "get", "node", h, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		var n struct {
			Status struct {
				Key string `json:"wireguardPublicKey"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(raw), &n); err != nil || n.Status.Key != "" {
			t.Errorf("%s: publishes a WireGuard key it cannot use: %q (err %v)", h, n.Status.Key, err)
		}
	}
	// Routing carries on unencrypted through the pool's VXLAN.
	expectTunnelRoute(t, c, "node1", cts[3], "vxlan.calico")
	matrix(t, cts)
	expectWire(t, c, cts[0], cts[2], wireVXLAN)
	// The reason is logged once, not at every apply.
	time.Sleep(2 * time.Second)
	if n := strings.Count(c.Agent("node1").Proc.Logs(), "WireGuard is enabled but cannot run here"); n != 1 {
		t.Errorf("node1 logged the reason %d times, want once", n)
	}
}
