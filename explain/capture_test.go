package explain

import (
	"net/netip"
	"testing"
	"time"
)

func ip4(src, dst string, proto byte, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0], b[9] = 0x45, proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	return append(b, payload...)
}

func vxlan(src, dst string, inner []byte) []byte {
	udp := make([]byte, 8+8+14)
	udp[2], udp[3] = 4789>>8, 4789&0xff
	return ip4(src, dst, 17, append(udp, inner...))
}

func TestJudge(t *testing.T) {
	ping := ip4("10.244.2.5", "10.244.1.2", 1, make([]byte, 8))
	pong := ip4("10.244.1.2", "10.244.2.5", 1, make([]byte, 8))
	q := CaptureQuery{Encap: "VXLAN", Src: addr("100.100.137.202"), Dst: addr("100.100.137.201"),
		InnerSrc: addr("10.244.2.5"), InnerDst: addr("10.244.1.2")}
	for _, tc := range []struct {
		name string
		q    CaptureQuery
		pkt  []byte
		want int
	}{
		{"VXLAN forward", q, vxlan("100.100.137.202", "100.100.137.201", ping), 1},
		{"VXLAN reply", q, vxlan("100.100.137.201", "100.100.137.202", pong), -1},
		{"plain where VXLAN was predicted", q, ping, 2},
		{"VXLAN between other hosts", q, vxlan("100.100.137.202", "100.100.137.9", ping), 2},
		{"another flow", q, vxlan("100.100.137.202", "100.100.137.201", ip4("10.244.2.6", "10.244.1.2", 1, nil)), 0},
		{"IPIP forward", CaptureQuery{Encap: "IPIP", Src: q.Src, Dst: q.Dst, InnerSrc: q.InnerSrc, InnerDst: q.InnerDst},
			ip4("100.100.137.202", "100.100.137.201", 4, ping), 1},
		{"plain forward", CaptureQuery{Encap: "none", Src: q.InnerSrc, Dst: q.InnerDst, InnerSrc: q.InnerSrc, InnerDst: q.InnerDst}, ping, 1},
		{"truncated", q, ping[:10], 0},
	} {
		if got := tc.q.Judge(tc.pkt); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	q.Dev, q.For = "eth0", 2*time.Second
	back, err := ParseCaptureQuery(q.Values())
	if err != nil || back != q {
		t.Errorf("query read back as %+v (%v), want %+v", back, err, q)
	}
	q.For = time.Minute
	if _, err := ParseCaptureQuery(q.Values()); err == nil {
		t.Error("a one-minute capture was accepted")
	}
}
