package dataplane

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func shOK(args ...string) (string, error) {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	return string(out), err
}

// newNS creates a namespace named bdp-<tag>-<random> with lo up, removed on cleanup.
func newNS(t *testing.T, tag string) string {
	t.Helper()
	b := make([]byte, 3)
	rand.Read(b)
	name := "bdp-" + tag + "-" + hex.EncodeToString(b)
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// hostPair makes two host namespaces joined by a veth pair, each end called eth0, with
// addresses in 10.0.1.0/24. No default routes anywhere.
func hostPair(t *testing.T) (a, b string) {
	a, b = newNS(t, "a"), newNS(t, "b")
	sh(t, "ip", "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b)
	sh(t, "ip", "-n", a, "addr", "add", "10.0.1.1/24", "dev", "eth0")
	sh(t, "ip", "-n", b, "addr", "add", "10.0.1.2/24", "dev", "eth0")
	sh(t, "ip", "-n", a, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", b, "link", "set", "eth0", "up")
	return a, b
}

func newDP(t *testing.T, ns string) *Dataplane {
	t.Helper()
	dp, err := New(Options{NetNSPath: "/var/run/netns/" + ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dp.Close)
	return dp
}

func apply(t *testing.T, dp *Dataplane, d calc.Desired) {
	t.Helper()
	if err := dp.Apply(context.Background(), d); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// twoNodes is a calc State seen from local (node-a or node-b) for the hostPair layout.
func twoNodes(local, vxlanMode string, nat bool) *calc.State {
	s := calc.NewState(local)
	s.Uplink, s.UplinkMTU = "eth0", 1500
	s.SetNode(calc.Node{Name: "node-a", IPv4: netip.MustParsePrefix("10.0.1.1/24"),
		VXLANTunnelAddr: netip.MustParseAddr("192.168.0.1")})
	s.SetNode(calc.Node{Name: "node-b", IPv4: netip.MustParsePrefix("10.0.1.2/24"),
		VXLANTunnelAddr: netip.MustParseAddr("192.168.0.65")})
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("192.168.0.0/16"), VXLANMode: vxlanMode, NATOutgoing: nat, BlockSize: 26})
	s.SetBlock(calc.Block{CIDR: netip.MustParsePrefix("192.168.0.0/26"), Node: "node-a"})
	s.SetBlock(calc.Block{CIDR: netip.MustParsePrefix("192.168.0.64/26"), Node: "node-b"})
	return s
}

func mustContain(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}

func mustNotContain(t *testing.T, out string, bad ...string) {
	t.Helper()
	for _, w := range bad {
		if strings.Contains(out, w) {
			t.Errorf("unexpected %q in:\n%s", w, out)
		}
	}
}
