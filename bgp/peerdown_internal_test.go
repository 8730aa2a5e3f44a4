package bgp

import (
	"testing"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/packet/bmp"
)

func TestDownReasonSpelling(t *testing.T) {
	notif := func(code, sub uint8, data []byte) *bgp.BGPMessage {
		return bgp.NewBGPNotificationMessage(code, sub, data)
	}
	for _, c := range []struct {
		d    bmp.BMPPeerDownNotification
		want string
	}{
		{bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_LOCAL_BGP_NOTIFICATION, BGPNotification: notif(4, 0, nil)}, "Sent: Hold timer expired"},
		{bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION, BGPNotification: notif(6, 2, nil)}, "Received: Administrative shutdown"},
		{bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION, BGPNotification: notif(6, 9, []byte{6, 3})}, "Received: Hard reset: Peer de-configured"},
		{bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_REMOTE_BGP_NOTIFICATION, BGPNotification: notif(2, 2, nil)}, "Received: code 2(open) subcode 2(bad peer as)"},
		{bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_REMOTE_NO_NOTIFICATION}, "Connection closed"},
		{bmp.BMPPeerDownNotification{Reason: bmp.BMP_PEER_DOWN_REASON_PEER_DE_CONFIGURED}, "Peer de-configured"},
	} {
		if got := downReason(&c.d); got != c.want {
			t.Errorf("reason %d: got %q, want %q", c.d.Reason, got, c.want)
		}
	}
}
