package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	ucli "github.com/urfave/cli/v2"
)

// nodeStatusCommand is `brindle node status`: the local agent's BGP peers in calicoctl's
// layout. It reads the agent's unix socket, so it works without etcd.
func nodeStatusCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "status",
		Usage: "show this node's BGP peers (calicoctl node status) and WireGuard state",
		Flags: []ucli.Flag{&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "json: the agent's status reply as JSON"}},
		Action: func(c *ucli.Context) error {
			if o := c.String("output"); o != "" && o != "json" {
				return fmt.Errorf("--output %q: want json (or nothing for the calicoctl table)", o)
			}
			return runNodeStatus(c.Context, os.Stdout, bgpstatus.SocketPath(nodeStateDir()), c.String("output") == "json")
		},
	}
}

// nodeStateDir mirrors the agent's choice: $BRINDLE_STATE_DIR, else Calico's /var/lib/calico.
func nodeStateDir() string {
	if d := os.Getenv("BRINDLE_STATE_DIR"); d != "" {
		return d
	}
	return "/var/lib/calico"
}

// runNodeStatus prints the status; a missing agent prints calicoctl's line and exits 1.
func runNodeStatus(ctx context.Context, w io.Writer, sock string, asJSON bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	reply, err := bgpstatus.Fetch(ctx, sock)
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("this command must be run as root (status socket %s: %w)", sock, err)
	}
	if err != nil {
		fmt.Fprintln(w, "Calico process is not running.")
		return ucli.Exit("", 1)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(reply)
	}
	writeNodeStatus(w, reply, time.Now())
	return nil
}

// writeNodeStatus renders calicoctl's output byte for byte: the running line, then per
// family a blank line, the heading and a table or "No IPvN peers found.", and a final blank
// line (calicoctl adds it because its table library ends on the last border).
func writeNodeStatus(w io.Writer, r *bgpstatus.Reply, now time.Time) {
	fmt.Fprintln(w, "Calico process is running.")
	defer writeWireGuardStatus(w, r.WireGuard, r.WireGuardV6, now)
	if r.BGP == nil {
		fmt.Fprintln(w, "\nThe BGP backend process (BIRD) is not running.")
		fmt.Fprintln(w)
		return
	}
	for _, v := range []int{4, 6} {
		fmt.Fprintf(w, "\nIPv%d BGP status\n", v)
		var rows [][]string
		for _, p := range r.BGP.Peers {
			if p.Address.Is4() == (v == 4) {
				rows = append(rows, []string{peerAddress(p), string(p.Type), p.State, birdSince(p.Since, now), p.Info})
			}
		}
		if len(rows) == 0 {
			fmt.Fprintf(w, "No IPv%d peers found.\n", v)
			continue
		}
		writeTable(w, []string{"PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"}, rows)
	}
	fmt.Fprintln(w)
}

// peerAddress reproduces calicoctl's reading of BIRD protocol names: Node_10_0_0_1_port_1790
// has its underscores turned into dots (IPv6: colons), so a port shows as ".port.1790".
func peerAddress(p bgpstatus.PeerStatus) string {
	s := p.Address.String()
	if p.Port == 0 || p.Port == 179 {
		return s
	}
	sep := "."
	if p.Address.Is6() {
		sep = ":"
	}
	return s + sep + "port" + sep + strconv.Itoa(int(p.Port))
}

// birdSince formats like BIRD's default protocol time format ("iso short"): the time of
// day for changes in the last 20 hours, else the date.
func birdSince(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(now.Location())
	if now.Sub(t) < 20*time.Hour {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02")
}

// numericCell is what tablewriter v0.0.5's default alignment right-aligns (table.go,
// printRow): a cell that is one plain number, optionally signed, with thousands commas or a
// fraction. "3 (1%)" is not one and stays left-aligned, as in calicoctl's ipam show.
var numericCell = regexp.MustCompile(`^-?([0-9]{1,3}(,[0-9]{3})*|[0-9]+)(\.[0-9]+)?$`)

// writeTable draws the table as olekukonko/tablewriter v0.0.5 does for calicoctl: headers
// centred (an odd gap puts the extra space on the right), number cells right-aligned, other
// cells left-aligned, one space of padding, +---+ borders above and below the header and at
// the end.
func writeTable(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var sep strings.Builder
	sep.WriteString("+")
	for _, wd := range widths {
		sep.WriteString(strings.Repeat("-", wd+2) + "+")
	}
	line := func(cells []string, centre bool) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			gap := widths[i] - len(c)
			left := 0
			switch {
			case centre:
				left = gap / 2
			case numericCell.MatchString(strings.TrimSpace(c)):
				left = gap
			}
			b.WriteString(" " + strings.Repeat(" ", left) + c + strings.Repeat(" ", gap-left) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w, sep.String())
	line(header, true)
	fmt.Fprintln(w, sep.String())
	for _, r := range rows {
		line(r, false)
	}
	fmt.Fprintln(w, sep.String())
}
