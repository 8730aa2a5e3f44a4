package explain

import (
	"net/netip"
	"net/url"
	"strconv"
)

// Packet is the flow a policy verdict is asked for: the first packet of a connection (a
// TCP SYN, a UDP datagram, an ICMP echo request). Replies are allowed by conntrack as
// established traffic, as in felix, so they are not judged.
type Packet struct {
	Src, Dst     netip.Addr
	Proto        uint8 // 6 TCP, 17 UDP, 1 ICMP
	SPort, DPort uint16
	ICMPType     uint8
	ICMPCode     uint8
}

// ProtoNumber maps the CLI's protocol names to IP protocol numbers.
func ProtoNumber(name string) (uint8, bool) {
	switch name {
	case "tcp":
		return 6, true
	case "udp":
		return 17, true
	case "icmp":
		return 1, true
	}
	return 0, false
}

// Verdict is the outcome of one endpoint's policy for one direction, with the rule that
// decided it and the path through tiers, policies and profiles that led there.
type Verdict struct {
	Iface     string     `json:"iface"`
	Direction string     `json:"direction"` // ingress (to the workload) or egress (from it)
	Src       netip.Addr `json:"src"`
	Dst       netip.Addr `json:"dst"`
	Allow     bool       `json:"allow"`
	// Decided says what gave the verdict: "tier T policy P rule N (Allow)", "end of tier T
	// (no policy decided)", "profile P rule N (Deny)", "no profile allowed it".
	Decided string   `json:"decided"`
	Trace   []string `json:"trace,omitempty"`
}

// FlowValues is the flow in a facts request's query string; ParseFlow reads it back.
func FlowValues(q Query) url.Values {
	v := url.Values{"src": {q.Src.Addr.String()}, "dst": {q.Dst.Addr.String()}, "protocol": {q.Protocol}}
	if q.Port > 0 {
		v.Set("port", strconv.Itoa(q.Port))
	}
	return v
}

// ParseFlow reads a facts request's flow: the packet that opens it (an ICMP echo request, or
// a TCP/UDP packet from an ephemeral port). ok is false when the request names no flow.
func ParseFlow(v url.Values) (Packet, bool) {
	src, err1 := netip.ParseAddr(v.Get("src"))
	dst, err2 := netip.ParseAddr(v.Get("dst"))
	proto, ok := ProtoNumber(v.Get("protocol"))
	if err1 != nil || err2 != nil || !ok {
		return Packet{}, false
	}
	pk := Packet{Src: src, Dst: dst, Proto: proto}
	if proto == 1 {
		pk.ICMPType = 8
	} else {
		pk.SPort = 40000
		if p, err := strconv.ParseUint(v.Get("port"), 10, 16); err == nil {
			pk.DPort = uint16(p)
		}
	}
	return pk, true
}
