package cluster

import (
	"fmt"
	"strings"
	"time"
)

// PeerRow is one line of the IPv4 table of `brindle node status`.
type PeerRow struct{ Addr, Type, State, Info string }

// ParseNodeStatus reads the IPv4 BGP table from node status output (calicoctl's layout:
// "| PEER ADDRESS | PEER TYPE | STATE | SINCE | INFO |").
func ParseNodeStatus(out string) ([]PeerRow, error) {
	if !strings.HasPrefix(out, "Calico process is running.") {
		return nil, fmt.Errorf("node status does not start with the running line:\n%s", out)
	}
	v4, _, _ := strings.Cut(out, "IPv6 BGP status")
	return parseTable(v4), nil
}

// ParseNodeStatusV6 reads the IPv6 BGP table of node status output.
func ParseNodeStatusV6(out string) ([]PeerRow, error) {
	_, v6, ok := strings.Cut(out, "IPv6 BGP status")
	if !ok {
		return nil, fmt.Errorf("node status has no IPv6 section:\n%s", out)
	}
	return parseTable(v6), nil
}

func parseTable(text string) []PeerRow {
	var rows []PeerRow
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 7 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if f[1] == "PEER ADDRESS" {
			continue
		}
		rows = append(rows, PeerRow{Addr: f[1], Type: f[2], State: f[3], Info: f[5]})
	}
	return rows
}

// WaitEstablished waits until the host's node status lists at least one peer and every
// peer is up and Established; it returns the last output.
func (c *Cluster) WaitEstablished(host string, timeout time.Duration) (string, error) {
	var last string
	err := WaitFor(timeout, host+"'s BGP sessions to be Established", func() (bool, string) {
		out, err := c.NodeStatus(host)
		last = out
		if err != nil {
			return false, err.Error()
		}
		rows, err := ParseNodeStatus(out)
		if err != nil || len(rows) == 0 {
			return false, out
		}
		for _, r := range rows {
			if r.State != "up" || r.Info != "Established" {
				return false, out
			}
		}
		return true, out
	})
	return last, err
}
