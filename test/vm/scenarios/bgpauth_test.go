package scenarios

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestBGPAuth: TCP MD5 and GTSM between a brindle node and BIRD 2 on the 6.1 kernel (this
// machine's kernel has no TCP_MD5SIG). node1 and BIRD "tor" share subnet A; BIRD "far" is
// on subnet B, one router away.
//   - MD5: the BGPPeer's password.secretKeyRef is a file under --secrets-dir; with BIRD
//     holding the same password the session comes up and routes flow both ways. The node's
//     file is then rotated: while BIRD has the old password there is no session, once BIRD
//     has the new one it is back.
//   - A secretKeyRef naming a file that does not exist: the peer is not started and node
//     status says why.
//   - ttlSecurity (GTSM, both ends sending TTL 255): ttlSecurity 1 to "far", whose packets
//     arrive with TTL 254, never comes up; ttlSecurity 2 does.
func TestBGPAuth(t *testing.T) {
	bed := testbed.Options{Prefix: nsPrefix, Subnets: []netip.Prefix{subnetA, subnetB},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "tor"}, {Name: "far", Subnet: 1}}}
	c := startCluster(t, bed)
	applyPool(t, c, "Never", "Never")
	secrets := t.TempDir()
	writeSecretFile(t, secrets, "bgp-tor", "password", "first-secret\n")
	startAgents(t, c, cluster.AgentOptions{Extra: []string{"--secrets-dir", secrets}}, "node1")
	ct := addContainers(t, c, "node1")[0]
	block := blockOf(t, c, ct)
	node, tor, far := hostIP(c, "node1"), hostIP(c, "tor"), hostIP(c, "far")
	torRoute, farRoute := netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")

	torConf := birdConf{RouterID: tor, Neighbor: node, AS: 65100, NeighborAS: 64512, Static: torRoute,
		Password: "first-secret", TTLSecurity: 1}
	bird := startBirdRouter(t, c, c.Host("tor").Netns, "bird-tor", torConf)
	farBird := startBirdRouter(t, c, c.Host("far").Netns, "bird-far", birdConf{RouterID: far, Neighbor: node,
		AS: 65200, NeighborAS: 64512, Static: farRoute, TTLSecurity: 2})
	mustf(t, c.Apply(bgpPeerDoc("tor", tor, 65100, "bgp-tor", 1)+"---\n"+bgpPeerDoc("far", far, 65200, "no-such-secret", 0)), "applying the BGPPeers")

	t.Log("MD5: same password on both ends")
	waitRow(t, c, tor, "session with BIRD (MD5, ttlSecurity 1) Established", func(r cluster.PeerRow) bool { return r.Info == "Established" })
	waitRoute(t, c, "node1", torRoute, "BIRD's route via tor", func(r cluster.Route, ok bool) bool {
		return ok && r.Gw == tor && r.Dev == "eth0" && r.Proto == protoBird
	})
	mustf(t, cluster.WaitFor(30*time.Second, "BIRD to learn node1's block "+block.String(), func() (bool, string) { return bird.learns(block) }), "routes to BIRD")

	t.Log("missing secret: the peer is listed, not started, with the reason")
	row := waitRow(t, c, far, "far held for its missing secret", func(r cluster.PeerRow) bool {
		return r.State == "start" && strings.Contains(r.Info, "Not started: password: secret file") &&
			strings.Contains(r.Info, "no such file")
	})
	t.Logf("held peer row: %+v", row)

	t.Log("rotation: node side first (BIRD still has the old password), then BIRD")
	writeSecretFile(t, secrets, "bgp-tor", "password", "second-secret\n")
	waitRow(t, c, tor, "session down after the node's password changed", func(r cluster.PeerRow) bool { return r.Info != "Established" })
	stayDown(t, c, tor, "mismatched MD5 passwords", bird, netip.Prefix{})
	torConf.Password = "second-secret"
	bird.configure(torConf)
	waitRow(t, c, tor, "session back with the new password on both ends", func(r cluster.PeerRow) bool { return r.Info == "Established" })
	mustf(t, cluster.WaitFor(30*time.Second, "BIRD to learn node1's block again", func() (bool, string) { return bird.learns(block) }), "routes to BIRD")

	t.Log("ttlSecurity: 1 refuses a peer one router away, 2 accepts it")
	mustf(t, c.Apply(bgpPeerDoc("far", far, 65200, "", 1)), "far with ttlSecurity 1")
	waitRow(t, c, far, "far configured without a password", func(r cluster.PeerRow) bool { return !strings.Contains(r.Info, "Not started") })
	stayDown(t, c, far, "ttlSecurity 1 to a peer 2 hops away", farBird, block)
	mustf(t, c.Apply(bgpPeerDoc("far", far, 65200, "", 2)), "far with ttlSecurity 2")
	waitRow(t, c, far, "far Established with ttlSecurity 2", func(r cluster.PeerRow) bool { return r.Info == "Established" })
	if r := peerRow(t, c, tor); r.Info != "Established" {
		t.Errorf("the tor session moved while far changed: %+v", r)
	}
}

// bgpPeerDoc is a global BGPPeer; secret "" leaves the password out, ttl 0 ttlSecurity.
func bgpPeerDoc(name string, ip netip.Addr, as int, secret string, ttl int) string {
	doc := fmt.Sprintf("apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: %s\nspec:\n  peerIP: %s\n  asNumber: %d\n", name, ip, as)
	if secret != "" {
		doc += fmt.Sprintf("  password:\n    secretKeyRef:\n      name: %s\n      key: password\n", secret)
	}
	if ttl > 0 {
		doc += fmt.Sprintf("  ttlSecurity: %d\n", ttl)
	}
	return doc
}

// writeSecretFile replaces <dir>/<name>/<key> atomically, mode 600, as a secret volume would.
func writeSecretFile(t *testing.T, dir, name, key, value string) {
	t.Helper()
	d := filepath.Join(dir, name)
	mustf(t, os.MkdirAll(d, 0o700), "secret dir")
	tmp := filepath.Join(d, "."+key+".tmp")
	mustf(t, os.WriteFile(tmp, []byte(value), 0o600), "secret file")
	mustf(t, os.Rename(tmp, filepath.Join(d, key)), "secret file")
}

// peerRow is node1's status row for addr (empty if it is not listed).
func peerRow(t *testing.T, c *cluster.Cluster, addr netip.Addr) cluster.PeerRow {
	t.Helper()
	out, err := c.NodeStatus("node1")
	if err != nil {
		return cluster.PeerRow{Info: err.Error()}
	}
	rows, _ := cluster.ParseNodeStatus(out)
	for _, r := range rows {
		if r.Addr == addr.String() {
			return r
		}
	}
	return cluster.PeerRow{}
}

func waitRow(t *testing.T, c *cluster.Cluster, addr netip.Addr, what string, ok func(cluster.PeerRow) bool) cluster.PeerRow {
	t.Helper()
	var r cluster.PeerRow
	err := cluster.WaitFor(60*time.Second, what, func() (bool, string) {
		r = peerRow(t, c, addr)
		return r.Addr != "" && ok(r), fmt.Sprintf("%+v", r)
	})
	mustf(t, err, "node1's peer %s", addr)
	return r
}

// stayDown watches the session for 8 s (BIRD retries every 2 s, GoBGP within 5 s) and
// fails if either end reaches Established.
// stayDown checks for 8 s that node1's session to addr does not come up. With a zero
// block BIRD's side must stay down too (MD5: the kernel drops every segment). With a block
// (ttlSecurity) BIRD may report Established for a moment: GoBGP sets IP_MINTTL on a
// passive connection only after accepting it, so an OPEN that arrives with the handshake is
// read and answered, and BIRD takes the answer for a session; every later segment from the
// far peer is dropped, so node1 never reaches Established and never sends it a route, which
// is what is checked instead (docs/security.md).
func stayDown(t *testing.T, c *cluster.Cluster, addr netip.Addr, why string, b *birdRouter, block netip.Prefix) {
	t.Helper()
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if r := peerRow(t, c, addr); r.Info == "Established" || r.State == "up" {
			t.Fatalf("%s: node1's session to %s came up: %+v", why, addr, r)
		}
		if up, out := b.established(); up && !block.IsValid() {
			t.Fatalf("%s: BIRD's session came up:\n%s", why, out)
		}
		if block.IsValid() {
			if got, out := b.learns(block); got {
				t.Fatalf("%s: BIRD learned node1's block %s:\n%s", why, block, out)
			}
		}
	}
	r := peerRow(t, c, addr)
	_, out := b.established()
	t.Logf("%s: no session for 8 s; node1 shows %q, BIRD:\n%s", why, r.Info, out)
}
