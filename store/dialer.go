package store

import (
	"context"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
)

// synRetry is how often quickDial sends a fresh SYN while etcd does not answer.
const synRetry = 500 * time.Millisecond

// quickDial connects with a fresh SYN every synRetry instead of one connect() that waits
// for the kernel's SYN retransmissions (1 s, then 3 s, 7 s, ... later). While a network
// drops etcd's packets every attempt goes unanswered; once it lets them through again the
// next SYN is at most synRetry away, so a client cut off for a minute reconnects within
// about half a second rather than at its next retransmission, seconds later. The last
// attempt gets whatever gRPC's connect deadline leaves (at least 1.5 s), so a link slower
// than synRetry still connects.
func quickDial() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		network := "tcp"
		if rest, ok := strings.CutPrefix(addr, "unix:"); ok { // as gRPC's own dialer does
			network, addr = "unix", strings.TrimPrefix(rest, "//")
		}
		var d net.Dialer
		for {
			attempt := ctx
			cancel := func() {}
			if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 3*synRetry {
				attempt, cancel = context.WithTimeout(ctx, synRetry)
			}
			conn, err := d.DialContext(attempt, network, addr)
			cancel()
			if err == nil || ctx.Err() != nil || attempt == ctx {
				return conn, err
			}
			if attempt.Err() == nil { // refused or unreachable at once: not a dropped SYN
				select {
				case <-ctx.Done():
					return nil, err
				case <-time.After(synRetry):
				}
			}
		}
	})
}
