package bgp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
	"github.com/brindle-net/brindle/test/testbed"
	"github.com/vishvananda/netlink"
)

// helperEnv carries the speaker config to TestBirdHelper running in the node namespace.
const helperEnv = "BBGP_BIRD_HELPER"

type helperConfig struct {
	RouterID, Peer netip.Addr
	AS, PeerAS     uint32
	Adverts        []netip.Prefix
}

// TestBirdHelper is not a test: TestBirdInterop re-executes the test binary with it inside a
// namespace, because GoBGP's sockets follow the process's namespace, not a goroutine's. It
// prints every learned-route change as "LEARNED <route>" and runs until stopped by PID.
func TestBirdHelper(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("helper process for TestBirdInterop only")
	}
	var c helperConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	s, err := bgp.Start(ctx, bgp.Options{RouterID: c.RouterID, AS: c.AS, ListenPort: 179,
		ListenAddresses: []netip.Addr{c.RouterID}, ConnectRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var ads []bgp.Advertisement
	for _, p := range c.Adverts {
		ads = append(ads, bgp.Advertisement{Prefix: p})
	}
	if err := s.SetPeers(ctx, []bgp.Peer{{Address: c.Peer, AS: c.PeerAS, Type: bgp.PeerGlobal, LocalAddress: c.RouterID}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAdvertisements(ctx, ads); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	for range s.LearnedReady() {
		for _, r := range s.DrainLearned() {
			fmt.Println("LEARNED", r)
		}
		for _, p := range s.Status().Peers {
			fmt.Println("STATUS", p.Address, p.State, p.Info)
		}
	}
}

// BIRD 2 as an external eBGP router: it must learn brindle's blocks, and brindle must learn
// BIRD's prefix with BIRD as next hop. Both run in their own namespaces joined by a veth.
func TestBirdInterop(t *testing.T) {
	testbed.RequireRoot(t)
	bird, err := exec.LookPath("bird")
	if err != nil {
		t.Skip("bird2 not installed")
	}
	sfx := testbed.RandSuffix()
	nodeNS, routerNS := newNS(t, "bbgp-n-"+sfx), newNS(t, "bbgp-r-"+sfx)
	nodeIP, birdIP := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	linkPair(t, nodeNS, routerNS, "bbgp-n"+sfx, netip.PrefixFrom(nodeIP, 30), netip.PrefixFrom(birdIP, 30))

	dir := t.TempDir()
	birdPrefix := netip.MustParsePrefix("203.0.113.0/24")
	conf := filepath.Join(dir, "bird.conf")
	sock := filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(birdConf, birdIP, birdPrefix, birdIP, nodeIP)), 0o644); err != nil {
		t.Fatal(err)
	}
	testbed.StartProc(t, routerNS, testbed.ProcOptions{Name: "bird", Path: bird, Args: []string{"-f", "-c", conf, "-s", sock}, LogDir: dir})

	blocks := []netip.Prefix{blockOf(1), blockOf(2)}
	cfg, _ := json.Marshal(helperConfig{RouterID: nodeIP, Peer: birdIP, AS: 64512, PeerAS: 65001, Adverts: blocks})
	helper := testbed.StartProc(t, nodeNS, testbed.ProcOptions{Name: "brindle-bgp", Path: os.Args[0],
		Args: []string{"-test.run=^TestBirdHelper$", "-test.v"}, Env: []string{helperEnv + "=" + string(cfg)}, LogDir: dir})

	for _, b := range blocks {
		bgptest.WaitFor(t, 30*time.Second, "BIRD learns "+b.String(), func() (bool, string) {
			out, err := routerNS.Run(context.Background(), testbed.RunOptions{Path: "birdc", Args: []string{"-s", sock, "show", "route", "for", b.Addr().String()}})
			return err == nil && strings.Contains(out, b.String()) && strings.Contains(out, "via "+nodeIP.String()), out
		})
	}
	want := fmt.Sprintf("LEARNED %s via %s (from %s)", birdPrefix, birdIP, birdIP)
	bgptest.WaitFor(t, 30*time.Second, "brindle learns BIRD's prefix", func() (bool, string) {
		return hasLine(helper.Logs(), want), helper.Logs()
	})
	if err := helper.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Calico-like BIRD settings: graceful restart, short connect/error timers.
const birdConf = `router id %s;
protocol device { scan time 10; }
protocol static { ipv4; route %s blackhole; }
protocol bgp brindle {
  local %s as 65001;
  neighbor %s as 64512;
  ipv4 { import all; export where source = RTS_STATIC; };
  graceful restart;
  connect delay time 1; connect retry time 2; error wait time 1,5;
}
`

func hasLine(log, line string) bool {
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == line {
			return true
		}
	}
	return false
}

func newNS(t *testing.T, name string) *testbed.Netns {
	t.Helper()
	n, err := testbed.NewNetns(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// linkPair joins a and b with a veth (created in a, one end moved to b) and addresses both.
func linkPair(t *testing.T, a, b *testbed.Netns, name string, addrA, addrB netip.Prefix) {
	t.Helper()
	peerName := name + "p"
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peerName, PeerNamespace: netlink.NsFd(int(b.NS))}
	if err := a.NL.LinkAdd(veth); err != nil {
		t.Fatalf("veth %s: %v", name, err)
	}
	if err := testbed.AddrUp(a, name, addrA); err != nil {
		t.Fatal(err)
	}
	if err := testbed.AddrUp(b, peerName, addrB); err != nil {
		t.Fatal(err)
	}
}
