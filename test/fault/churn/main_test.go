// Package churn is issue #16's container churn soak: container ADD/DEL cycles through the
// real CNI plugin over three hosts with their agents running, then a count of everything a
// container leaves behind (veths, routes, neighbours, nftables objects, IPAM handles,
// workload endpoints, `ipam check`), the agents' memory and their CPU per container event.
// BRINDLE_SOAK_CYCLES=10000 (make soak) runs the long version; the default is a short run
// for CI. Needs root; BRINDLE_E2E_BIN=path reuses a built binary. Namespaces start "bfc-".
// BRINDLE_SOAK_PROFILE=dir saves heap profiles of node1's agent there (heap_test.go).
package churn

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func TestMain(m *testing.M) { os.Exit(testBin.RootMain(m, "test/fault/churn")) }

func run(n *testbed.Netns, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.Run(ctx, testbed.RunOptions{Path: path, Args: args})
}

// hostState is what a host's kernel holds that a container could leak.
type hostState struct {
	veths  []string // cali* links
	routes []string // main-table routes
	neighs []string // neighbour entries on cali* links and permanent ones (no NUD state)
	nft    string   // nft -s list ruleset (brindle's tables are the only ones there)
}

func snapshot(h *testbed.Host) (hostState, error) {
	var s hostState
	links, err := h.NL.LinkList()
	if err != nil {
		return s, err
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "cali") {
			s.veths = append(s.veths, l.Attrs().Name)
		}
	}
	rs, err := cluster.Routes(h)
	if err != nil {
		return s, err
	}
	for _, r := range rs {
		s.routes = append(s.routes, r.String())
	}
	out, err := run(h.Netns, "ip", "neigh", "show", "nud", "all")
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		// NOARP entries are the kernel's multicast mappings (ff02::16 for MLD on an IPv6
		// link), which come and go with the link's multicast state; brindle never makes one.
		if (strings.Contains(l, "dev cali") || strings.Contains(l, "PERMANENT")) && !strings.Contains(l, "NOARP") {
			s.neighs = append(s.neighs, neighKey(l))
		}
	}
	if s.nft, err = run(h.Netns, "nft", "-s", "list", "ruleset"); err != nil {
		return s, err
	}
	sort.Strings(s.veths)
	sort.Strings(s.routes)
	sort.Strings(s.neighs)
	return s, nil
}

// neighKey is a neighbour line without its NUD state (REACHABLE turns STALE on its own).
func neighKey(l string) string {
	f := strings.Fields(l)
	for i, w := range f {
		if w == "lladdr" && i+1 < len(f) {
			return strings.Join(f[:i+2], " ")
		}
	}
	if len(f) > 3 {
		return strings.Join(f[:3], " ") // "<dst> dev <link>" of an entry without an address
	}
	return l
}

// diff describes what differs between two snapshots, or "".
func (s hostState) diff(o hostState) string {
	var sb strings.Builder
	list := func(what string, a, b []string) {
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			fmt.Fprintf(&sb, "%s: %d before, %d after\n  only after: %v\n  only before: %v\n", what, len(a), len(b), minus(b, a), minus(a, b))
		}
	}
	list("cali* veths", s.veths, o.veths)
	list("routes", s.routes, o.routes)
	list("neighbours", s.neighs, o.neighs)
	if s.nft != o.nft {
		list("nftables ruleset lines", strings.Split(s.nft, "\n"), strings.Split(o.nft, "\n"))
	}
	return sb.String()
}

func minus(a, b []string) []string {
	in := map[string]int{}
	for _, x := range b {
		in[x]++
	}
	var out []string
	for _, x := range a {
		if in[x] > 0 {
			in[x]--
			continue
		}
		out = append(out, x)
	}
	return out
}

// settledSnapshot waits until superseded policy rules are collected (2 s after the policy's
// last change, dataplane/polsupersede.go) and a new veth's IPv6 link-local route is in,
// then snapshots the host.
func settledSnapshot(t *testing.T, h *testbed.Host) hostState {
	t.Helper()
	time.Sleep(3 * time.Second)
	var s hostState
	if err := cluster.WaitFor(30*time.Second, h.HostName+" at rest", func() (bool, string) {
		var err error
		if s, err = snapshot(h); err != nil {
			return false, err.Error()
		}
		return !strings.Contains(s.nft, "superseded-below"), "superseded policy rules not collected yet"
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

// hasCommand reports whether a tool the snapshot needs is installed.
func hasCommand(name string) bool { _, err := exec.LookPath(name); return err == nil }
