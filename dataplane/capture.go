package dataplane

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/brindle-net/brindle/explain"
	"golang.org/x/sys/unix"
)

// Capture counts, for q.For, the packets on q.Dev (in the caller's namespace) that belong to
// the flow q describes, in the form the walk predicted and otherwise: `brindle explain
// --capture`. A packet socket without the Ethernet header (SOCK_DGRAM); ETH_P_ALL because
// the kernel hands outgoing packets only to ETH_P_ALL taps (dev_queue_xmit_nit), IPv4 is
// picked from the link-layer address. It only reads.
func Capture(ctx context.Context, q explain.CaptureQuery) (explain.CaptureReport, error) {
	rep := explain.CaptureReport{Dev: q.Dev, Seconds: q.For.Seconds(), Expected: expected(q)}
	ifc, err := net.InterfaceByName(q.Dev)
	if err != nil {
		return rep, fmt.Errorf("capture on %s: %w", q.Dev, err)
	}
	proto := htons(unix.ETH_P_ALL)
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return rep, fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index}); err != nil {
		return rep, fmt.Errorf("packet socket on %s: %w", q.Dev, err)
	}
	// Wake up regularly to notice the deadline and a cancelled request.
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000}); err != nil {
		return rep, err
	}
	buf := make([]byte, 65536)
	end := time.Now().Add(q.For)
	for time.Now().Before(end) && ctx.Err() == nil {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue // timeout or EINTR
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Protocol != htons(unix.ETH_P_IP) {
			continue
		}
		switch q.Judge(buf[:n]) {
		case 1:
			rep.Forward++
		case -1:
			rep.Reply++
		case 2:
			rep.Unexpected++
		}
	}
	return rep, ctx.Err()
}

func expected(q explain.CaptureQuery) string {
	if q.Encap == "none" {
		return fmt.Sprintf("%s > %s unencapsulated", q.InnerSrc, q.InnerDst)
	}
	return fmt.Sprintf("%s %s > %s around %s > %s", q.Encap, q.Src, q.Dst, q.InnerSrc, q.InnerDst)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
