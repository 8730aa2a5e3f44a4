package bgp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/packet/bmp"
	"go.uber.org/zap"
)

// Why a session went down: GoBGP's peer events and ListPeer carry no reason (v3.37:
// api/gobgp.proto PeerState; the event conversion in pkg/server/server.go WatchEvent drops
// the FSM's StateReason). The one API that carries it is BMP (RFC 7854), which GoBGP speaks as
// a client (AddBmp): its Peer Down message has the reason code and the NOTIFICATION sent or
// received. So the speaker runs a BMP station on a loopback port of its own namespace and
// has its GoBGP report to it. Policy BOTH: GoBGP treats it as obsolete and then sends no
// route monitoring at all (pkg/server/bmp.go, loop), so the connection carries only peer up
// and down messages, not a copy of every route.

// startPeerDownFeed listens for GoBGP's BMP client and records every Peer Down reason in the
// status table until ctx ends. A failure only costs the reasons in `node status`.
func (s *Speaker) startPeerDownFeed(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("BMP station for peer-down reasons: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go s.servePeerDown(ln)
	port := ln.Addr().(*net.TCPAddr).Port
	err = s.srv.AddBmp(ctx, &api.AddBmpRequest{Address: "127.0.0.1", Port: uint32(port),
		Policy: api.AddBmpRequest_BOTH, SysName: "brindle"})
	if err != nil {
		ln.Close()
		return fmt.Errorf("BMP client for peer-down reasons: %w", err)
	}
	s.bmpPort = uint32(port)
	return nil
}

// stopPeerDownFeed removes GoBGP's BMP client, which would otherwise keep reconnecting to a
// closed port (GoBGP itself keeps running until the process ends).
func (s *Speaker) stopPeerDownFeed() {
	if s.bmpPort == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.DeleteBmp(ctx, &api.DeleteBmpRequest{Address: "127.0.0.1", Port: s.bmpPort})
	s.bmpPort = 0
}

// servePeerDown takes one connection at a time: GoBGP keeps one and reconnects if it drops.
func (s *Speaker) servePeerDown(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed
		}
		s.readPeerDown(conn)
		conn.Close()
	}
}

func (s *Speaker) readPeerDown(conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	sc.Split(bmp.SplitBMP)
	for sc.Scan() {
		msg, err := bmp.ParseBMPMessage(sc.Bytes())
		if err != nil {
			s.log.Debug("undecodable BMP message from GoBGP", zap.Error(err))
			continue
		}
		down, ok := msg.Body.(*bmp.BMPPeerDownNotification)
		if !ok {
			continue
		}
		addr, ok := netip.AddrFromSlice(msg.PeerHeader.PeerAddress)
		if !ok {
			continue
		}
		s.status.peerDown(addr.Unmap(), downReason(down))
	}
}

// downReason spells a BMP Peer Down reason (RFC 7854 §4.9) the way BIRD's "info" column
// does after "Last down:".
func downReason(d *bmp.BMPPeerDownNotification) string {
	switch d.Reason {
	case bmp.BMP_PEER_DOWN_REASON_LOCAL_BGP_NOTIFICATION:
		return "Sent: " + notification(d.BGPNotification)
	case bmp.BMP_PEER_DOWN_REASON_LOCAL_NO_NOTIFICATION:
		return "Closed locally"
	case bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION:
		return "Received: " + notification(d.BGPNotification)
	case bmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION:
		return "Connection closed"
	case bmp.BMP_PEER_DOWN_REASON_PEER_DE_CONFIGURED:
		return "Peer de-configured"
	}
	return "reason " + strconv.Itoa(int(d.Reason))
}

func notification(m *bgp.BGPMessage) string {
	if m == nil {
		return "notification"
	}
	n, ok := m.Body.(*bgp.BGPNotification)
	if !ok {
		return "notification"
	}
	// A Hard Reset (RFC 8538) carries the original code and subcode in its data; GoBGP,
	// which sends it for deconfiguration and shutdown once the N-bit was negotiated, leaves
	// the data empty (pkg/server/fsm.go), BIRD fills it.
	if n.ErrorCode == bgp.BGP_ERROR_CEASE && n.ErrorSubcode == bgp.BGP_ERROR_SUB_HARD_RESET && len(n.Data) >= 2 {
		return "Hard reset: " + notificationName(n.Data[0], n.Data[1])
	}
	return notificationName(n.ErrorCode, n.ErrorSubcode)
}

// ceaseNames are the Cease subcodes (RFC 4486, 8538), the ones a session between nodes
// usually ends with.
var ceaseNames = map[uint8]string{
	1: "Maximum number of prefixes reached", 2: "Administrative shutdown", 3: "Peer de-configured",
	4: "Administrative reset", 5: "Connection rejected", 6: "Other configuration change",
	7: "Connection collision resolution", 8: "Out of resources", 9: "Hard reset",
}

func notificationName(code, sub uint8) string {
	switch {
	case code == bgp.BGP_ERROR_CEASE && ceaseNames[sub] != "":
		return ceaseNames[sub]
	case code == bgp.BGP_ERROR_HOLD_TIMER_EXPIRED:
		return "Hold timer expired"
	}
	return bgp.NewNotificationErrorCode(code, sub).String() // e.g. "code 2(open) subcode 2(bad peer as)"
}
