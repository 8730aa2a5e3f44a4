package dataplane

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

// TestDeltaAppliesMatchFullDiff drives random node and block changes through calc and one
// Dataplane (so most applies go by calc's delta), and after every step lets a fresh
// Dataplane diff the whole kernel against the same result: it must find nothing to write,
// and the host set must hold exactly the tunnel sources.
func TestDeltaAppliesMatchFullDiff(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	opts := Options{NexthopsFrom: 4} // some routes with gateways, some through objects
	dp := newDPOpts(t, a, opts)
	s := twoNodes("node-a", calc.ModeCrossSubnet, true)
	r := rand.New(rand.NewSource(7))
	deltas := 0
	for step := range 40 {
		for range 1 + r.Intn(3) {
			i := r.Intn(12)
			name := fmt.Sprintf("node-r%d", i)
			switch r.Intn(5) {
			case 0:
				s.DeleteNode(name)
			case 1:
				s.DeleteBlock(netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(10 + i), byte(64 * r.Intn(2))}), 26))
			case 2, 3:
				s.SetNode(calc.Node{Name: name,
					IPv4:            netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(1 + r.Intn(2)), byte(20 + r.Intn(6))}), 24),
					VXLANTunnelAddr: netip.AddrFrom4([4]byte{192, 168, byte(100 + r.Intn(8)), 1})})
			default:
				s.SetBlock(calc.Block{CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(10 + i), byte(64 * r.Intn(2))}), 26),
					Node: fmt.Sprintf("node-r%d", r.Intn(12))})
			}
		}
		want := calc.Compute(s)
		if !want.Delta.Full {
			deltas++
		}
		apply(t, dp, want)
		dp.nft.wait() // one writer at a time: a host removal may still be in flight
		fresh := newDPOpts(t, a, opts)
		apply(t, fresh, want)
		if st := fresh.Stats(); st != (Stats{}) {
			t.Fatalf("step %d: a full diff after the incremental apply still wrote %+v", step, st)
		}
		fresh.Close()
		dp.nft.wait()
		c, err := dp.h.nft()
		if err != nil {
			t.Fatal(err)
		}
		have, err := readNFT(c)
		if err != nil {
			t.Fatal(err)
		}
		var hosts []netip.Addr
		for _, e := range have.elems[setAllHosts] {
			hosts = append(hosts, netip.AddrFrom4([4]byte(e.Key)))
		}
		slices.SortFunc(hosts, netip.Addr.Compare)
		if !slices.Equal(hosts, want.TunnelSources) {
			t.Fatalf("step %d: all-hosts %v, want %v", step, hosts, want.TunnelSources)
		}
	}
	if deltas < 30 {
		t.Fatalf("only %d of 40 applies had a delta", deltas)
	}
}
