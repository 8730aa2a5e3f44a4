package bgp

import (
	"net/netip"
	"testing"
)

// TestTTLSecurityMapping: Calico's ttlSecurity N is BIRD's "ttl security on; multihop N"
// (send TTL 255, accept TTL >= 256-N); GoBGP gets the same minimum TTL. Without it an eBGP
// peer gets BIRD's bare multihop (64) and an iBGP one neither.
func TestTTLSecurityMapping(t *testing.T) {
	s := &Speaker{opts: Options{AS: 64512}}
	addr := netip.MustParseAddr("192.0.2.1")
	for _, c := range []struct {
		as       uint32
		ttl      uint8
		min      uint32
		multihop uint32
	}{
		{65000, 1, 255, 0}, {65000, 2, 254, 0}, {65000, 255, 1, 0}, {64512, 1, 255, 0},
		{65000, 0, 0, 64}, {64512, 0, 0, 0},
	} {
		p := s.apiPeer(Peer{Address: addr, AS: c.as, TTLSecurity: c.ttl, Password: "pw"})
		var min, hops uint32
		if p.TtlSecurity != nil && p.TtlSecurity.Enabled {
			min = p.TtlSecurity.TtlMin
		}
		if p.EbgpMultihop != nil && p.EbgpMultihop.Enabled {
			hops = p.EbgpMultihop.MultihopTtl
		}
		if min != c.min || hops != c.multihop || p.Conf.AuthPassword != "pw" {
			t.Errorf("AS %d ttlSecurity %d: ttl-min %d multihop %d password %q; want %d, %d, pw",
				c.as, c.ttl, min, hops, p.Conf.AuthPassword, c.min, c.multihop)
		}
	}
}
