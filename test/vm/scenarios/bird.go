package scenarios

import (
	"context"
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

// birdRouter is one BIRD 2 in a host namespace of the bed, peering with one brindle node
// (the runner copies Debian's /usr/sbin/bird and birdc into the initramfs).
type birdRouter struct {
	t    *testing.T
	ns   *testbed.Netns
	conf string // config file, rewritten by configure
	sock string
	o    birdConf
}

// birdConf is the part of BIRD's config the scenarios vary.
type birdConf struct {
	RouterID, Neighbor netip.Addr
	AS, NeighborAS     int
	Static             netip.Prefix // announced to the node
	Password           string       // "" for none
	// TTLSecurity > 0 is Calico's BIRD rendering of ttlSecurity: "ttl security on;
	// multihop N;" (confd/etc/calico/confd/templates/bird.cfg.template); 1 leaves
	// multihop out (a direct neighbour).
	TTLSecurity int
}

func (o birdConf) render() string {
	var extra strings.Builder
	if o.Password != "" {
		fmt.Fprintf(&extra, "  password %q;\n", o.Password)
	}
	if o.TTLSecurity > 0 {
		extra.WriteString("  ttl security on;\n")
	}
	if o.TTLSecurity > 1 {
		fmt.Fprintf(&extra, "  multihop %d;\n", o.TTLSecurity)
	}
	return fmt.Sprintf(`router id %s;
protocol device { scan time 10; }
protocol static { ipv4; route %s blackhole; }
protocol bgp node {
  local %s as %d;
  neighbor %s as %d;
  ipv4 { import all; export where source = RTS_STATIC; };
  connect delay time 1; connect retry time 2; error wait time 1,5;
%s}
`, o.RouterID, o.Static, o.RouterID, o.AS, o.Neighbor, o.NeighborAS, extra.String())
}

// startBirdRouter runs BIRD in ns with o; it is stopped by PID when the test ends.
func startBirdRouter(t *testing.T, c *cluster.Cluster, ns *testbed.Netns, name string, o birdConf) *birdRouter {
	t.Helper()
	dir := t.TempDir()
	b := &birdRouter{t: t, ns: ns, conf: filepath.Join(dir, name+".conf"), sock: filepath.Join(dir, name+".ctl"), o: o}
	mustf(t, os.WriteFile(b.conf, []byte(o.render()), 0o600), "writing %s", b.conf)
	p, err := c.StartProc(ns, testbed.ProcOptions{Name: name, Path: "/usr/sbin/bird",
		Args: []string{"-f", "-c", b.conf, "-s", b.sock}, LogDir: c.LogDir()})
	mustf(t, err, "starting %s", name)
	c.Track(p)
	return b
}

// ctl runs birdc on this BIRD's control socket.
func (b *birdRouter) ctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.ns.Run(ctx, testbed.RunOptions{Path: "/usr/sbin/birdc", Args: append([]string{"-s", b.sock}, args...)})
}

// configure rewrites the config with o and makes BIRD reload it.
func (b *birdRouter) configure(o birdConf) {
	b.t.Helper()
	b.o = o
	mustf(b.t, os.WriteFile(b.conf, []byte(o.render()), 0o600), "writing %s", b.conf)
	out, err := b.ctl("configure")
	mustf(b.t, err, "birdc configure: %s", out)
}

// established reports whether BIRD's session to the node is up, with birdc's answer.
func (b *birdRouter) established() (bool, string) {
	out, err := b.ctl("show", "protocols", "node")
	return err == nil && strings.Contains(out, "Established"), out
}

// learns reports whether BIRD has pfx from the node.
func (b *birdRouter) learns(pfx netip.Prefix) (bool, string) {
	out, err := b.ctl("show", "route", "for", pfx.Addr().String())
	return err == nil && strings.Contains(out, pfx.String()), out
}
