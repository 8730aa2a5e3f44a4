package scenarios

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/explain"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// expectExplainIPIP runs `brindle explain` from a to b on a's host (issue #18) and wants the
// seed's IPIP walk: the route `<block> via <b's host> dev tunl0 proto bird onlink`,
// encapsulation on tunl0 with the hosts as outer and the containers as inner addresses,
// decapsulation on tunl0 at b's host. With --capture while a pings b, both hosts' fabric
// devices must see the predicted outer packets each way and nothing unexpected, which is
// what expectWire sees on the fabric port.
func expectExplainIPIP(t *testing.T, c *cluster.Cluster, a, b *cluster.Container) {
	t.Helper()
	src, dst := hostIP(c, a.Host), hostIP(c, b.Host)
	text, err := c.Explain(a.Host, "--timeout", "30s", "--protocol", "icmp", a.Name, b.Name)
	t.Logf("brindle explain %s %s on %s:\n%s", a.Name, b.Name, a.Host, text)
	if err != nil {
		t.Fatalf("explain %s -> %s: %v", a, b, err)
	}
	for _, want := range []string{
		"default via 169.254.1.1 dev eth0",
		fmt.Sprintf("%s via %s dev tunl0 proto bird onlink", blockOf(t, c, b), dst),
		fmt.Sprintf("encapsulation: IPIP on tunl0, outer %s > %s (IP protocol 4), inner %s > %s", src, dst, a.IP, b.IP),
		"MTU: workload 1480 -> tunl0 1480 -> +20 header, eth0 1500",
		"decapsulation: tunl0 (mtu 1480)",
		"reply: source node",
		"OK: ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explain %s -> %s lacks %q", a, b, want)
		}
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		testbed.Ping(a.NS, b.IP, 40, time.Second)
	}()
	out, err := c.Explain(a.Host, "-o", "json", "--timeout", "30s", "--capture", "--capture-for", "4s", a.Name, b.Name)
	<-done
	var r explain.Result
	if i := strings.IndexByte(out, '{'); i < 0 || json.Unmarshal([]byte(out[i:]), &r) != nil {
		t.Fatalf("explain --capture %s -> %s: %v\n%s", a, b, err, out)
	}
	if !r.OK || r.Encap != "IPIP" || r.Outer[0] != src || r.Outer[1] != dst {
		t.Errorf("explain --capture %s -> %s: ok=%v encap %s outer %v, want IPIP %s > %s", a, b, r.OK, r.Encap, r.Outer, src, dst)
	}
	if len(r.Captures) != 2 {
		t.Fatalf("explain --capture %s -> %s: %d capture reports, want 2\n%s", a, b, len(r.Captures), out)
	}
	for _, cp := range r.Captures {
		t.Logf("capture on %s %s: %+v", cp.Node, cp.Dev, cp)
		if cp.Err != "" || cp.Forward == 0 || cp.Reply == 0 || cp.Unexpected != 0 {
			t.Errorf("%s -> %s: capture on %s %s: %+v", a, b, cp.Node, cp.Dev, cp)
		}
	}
}
