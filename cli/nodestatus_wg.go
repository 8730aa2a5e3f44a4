package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
)

// writeWireGuardStatus adds a WireGuard section after calicoctl's BGP part, only when
// WireGuard is enabled (so the output without it stays calicoctl's byte for byte): whether
// the node encrypts, why not if it does not, and the device as `wg show` would print it. The
// IPv6 device (wireguardEnabledV6) gets a section of its own after the IPv4 one.
func writeWireGuardStatus(w io.Writer, st, st6 *bgpstatus.WireGuardStatus, now time.Time) {
	writeWireGuardDevice(w, "WireGuard status", st, now)
	writeWireGuardDevice(w, "WireGuard IPv6 status", st6, now)
}

func writeWireGuardDevice(w io.Writer, title string, st *bgpstatus.WireGuardStatus, now time.Time) {
	if st == nil {
		return
	}
	fmt.Fprintln(w, title)
	if !st.Running {
		fmt.Fprintf(w, "WireGuard is enabled but not running: %s\n", st.Reason)
		fmt.Fprintln(w, "Traffic to and from this node is not encrypted.")
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "interface: %s  address: %s  public key: %s\n", st.Iface, orDash(st.Address), st.PublicKey)
	if d := st.Device; d != nil {
		fmt.Fprintf(w, "listening port: %d  fwmark: 0x%x  peers: %d\n", d.ListenPort, d.FirewallMark, len(d.Peers))
		var rows [][]string
		for _, p := range d.Peers {
			hs := "never"
			if !p.LastHandshake.IsZero() {
				hs = now.Sub(p.LastHandshake).Truncate(time.Second).String() + " ago"
			}
			rows = append(rows, []string{p.PublicKey, orDash(p.Endpoint), strings.Join(p.AllowedIPs, ","), hs,
				strconv.FormatInt(p.RxBytes, 10), strconv.FormatInt(p.TxBytes, 10)})
		}
		if len(rows) > 0 {
			writeTable(w, []string{"PEER", "ENDPOINT", "ALLOWED IPS", "LATEST HANDSHAKE", "RX", "TX"}, rows)
		}
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
