package explain

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// CapturePath is the status socket path that runs a short capture (GET, query CaptureQuery).
const CapturePath = "/v1/explain/capture"

// CaptureQuery says what to look for on one device: packets of the walk's flow in the form
// the walk predicts (Encap IPIP/VXLAN with outer Src/Dst around Inner, or none: the inner
// addresses on the wire), in both directions.
type CaptureQuery struct {
	Dev                string
	Encap              string
	Src, Dst           netip.Addr // outer; the inner ones when Encap is none
	InnerSrc, InnerDst netip.Addr
	For                time.Duration
}

// Values encodes q for the request; ParseCaptureQuery reads it back.
func (q CaptureQuery) Values() url.Values {
	return url.Values{"dev": {q.Dev}, "encap": {q.Encap}, "src": {q.Src.String()}, "dst": {q.Dst.String()},
		"isrc": {q.InnerSrc.String()}, "idst": {q.InnerDst.String()}, "ms": {strconv.FormatInt(q.For.Milliseconds(), 10)}}
}

// MaxCapture bounds a capture an agent runs for one request.
const MaxCapture = 10 * time.Second

// ParseCaptureQuery reads a capture request, naming the field that is wrong.
func ParseCaptureQuery(v url.Values) (CaptureQuery, error) {
	q := CaptureQuery{Dev: v.Get("dev"), Encap: v.Get("encap")}
	if q.Dev == "" {
		return q, fmt.Errorf("dev: missing")
	}
	if q.Encap != "IPIP" && q.Encap != "VXLAN" && q.Encap != "none" {
		return q, fmt.Errorf("encap %q: want IPIP, VXLAN or none", q.Encap)
	}
	for name, dst := range map[string]*netip.Addr{"src": &q.Src, "dst": &q.Dst, "isrc": &q.InnerSrc, "idst": &q.InnerDst} {
		a, err := netip.ParseAddr(v.Get(name))
		if err != nil || !a.Is4() {
			return q, fmt.Errorf("%s %q: want an IPv4 address", name, v.Get(name))
		}
		*dst = a
	}
	ms, err := strconv.Atoi(v.Get("ms"))
	if err != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > MaxCapture {
		return q, fmt.Errorf("ms %q: want 1-%d", v.Get("ms"), MaxCapture.Milliseconds())
	}
	q.For = time.Duration(ms) * time.Millisecond
	return q, nil
}

// CaptureReport is what one capture saw.
type CaptureReport struct {
	Node     string  `json:"node"`
	Dev      string  `json:"dev"`
	Seconds  float64 `json:"seconds"`
	Expected string  `json:"expected"`
	Forward  int     `json:"forward"` // packets of the flow in the expected form
	Reply    int     `json:"reply"`   // the same, reversed
	// Unexpected counts packets between the inner addresses in another form (e.g. plain
	// where VXLAN was predicted).
	Unexpected int    `json:"unexpected"`
	Err        string `json:"error,omitempty"`
}

// Judge classifies one IPv4 packet (starting at its header) against q: +1 forward, -1
// reply, 2 the flow's addresses in another form, 0 unrelated.
func (q CaptureQuery) Judge(pkt []byte) int {
	o, ok := ipv4(pkt)
	if !ok {
		return 0
	}
	inner, innerOK := o, true
	switch {
	case o.proto == 4:
		inner, innerOK = ipv4(pkt[o.hlen:])
	case o.proto == 17 && len(pkt) >= o.hlen+8 && int(pkt[o.hlen+2])<<8|int(pkt[o.hlen+3]) == 4789:
		// UDP header, VXLAN header, inner Ethernet header, then the inner IPv4 packet.
		off := o.hlen + 8 + 8 + 14
		if len(pkt) < off {
			return 0
		}
		inner, innerOK = ipv4(pkt[off:])
	}
	if !innerOK {
		return 0
	}
	fwd := inner.src == q.InnerSrc && inner.dst == q.InnerDst
	rev := inner.src == q.InnerDst && inner.dst == q.InnerSrc
	if !fwd && !rev {
		return 0
	}
	form := "none"
	if o.proto == 4 {
		form = "IPIP"
	} else if inner != o {
		form = "VXLAN"
	}
	if form != q.Encap {
		return 2
	}
	switch {
	case fwd && o.src == q.Src && o.dst == q.Dst:
		return 1
	case rev && o.src == q.Dst && o.dst == q.Src:
		return -1
	}
	return 2
}

type ipv4hdr struct {
	src, dst netip.Addr
	proto    uint8
	hlen     int
}

func ipv4(b []byte) (ipv4hdr, bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return ipv4hdr{}, false
	}
	h := ipv4hdr{proto: b[9], hlen: int(b[0]&0x0f) * 4}
	if h.hlen < 20 || len(b) < h.hlen {
		return ipv4hdr{}, false
	}
	h.src = netip.AddrFrom4([4]byte(b[12:16]))
	h.dst = netip.AddrFrom4([4]byte(b[16:20]))
	return h, true
}

// CapturePlan is where to capture to check a walk: the source node's fabric-facing device
// and the destination node's uplink, looking for the forward flow in the predicted form.
func CapturePlan(r Result, c Cluster, d time.Duration) map[string]CaptureQuery {
	if r.Encap == "" || r.FabricDev == "" {
		return nil
	}
	q := CaptureQuery{Dev: r.FabricDev, Encap: r.Encap, Src: r.Outer[0], Dst: r.Outer[1],
		InnerSrc: r.Query.Src.Addr, InnerDst: r.Query.Dst.Addr, For: d}
	if r.Encap == "none" {
		q.Src, q.Dst = q.InnerSrc, q.InnerDst
	}
	plan := map[string]CaptureQuery{r.Query.Src.Node: q}
	if df := c.Facts[r.Query.Dst.Node]; df != nil && df.Uplink != "" && r.Query.Dst.Node != r.Query.Src.Node {
		q.Dev = df.Uplink
		plan[r.Query.Dst.Node] = q
	}
	return plan
}
