package e2e

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// serveTCP listens on port in n (all addresses) and answers every connection with "ok";
// closed when the test ends.
func serveTCP(t *testing.T, n *testbed.Netns, port int) {
	t.Helper()
	var l net.Listener
	if err := n.Do(func() error {
		var err error
		l, err = net.Listen("tcp4", ":"+strconv.Itoa(port))
		return err
	}); err != nil {
		t.Fatalf("listen %d in %s: %v", port, n.Name, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("ok"))
			c.Close()
		}
	}()
}

// tcpReach reports whether a connection from n (from src when valid) to dst gets "ok".
func tcpReach(n *testbed.Netns, src netip.Addr, dst netip.AddrPort) bool {
	var c net.Conn
	err := n.Do(func() error {
		d := net.Dialer{Timeout: 700 * time.Millisecond}
		if src.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
		var err error
		c, err = d.Dial("tcp4", dst.String())
		return err
	})
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	b, _ := io.ReadAll(c)
	return string(b) == "ok"
}

// waitReach waits until tcpReach gives want.
func waitReach(t *testing.T, what string, n *testbed.Netns, src netip.Addr, dst netip.AddrPort, want bool) {
	t.Helper()
	if err := cluster.WaitFor(15*time.Second, what, func() (bool, string) {
		return tcpReach(n, src, dst) == want, ""
	}); err != nil {
		t.Fatal(err)
	}
}

// conntrack is the host namespace's connection tracking table.
func conntrack(t *testing.T, h *testbed.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Run(ctx, testbed.RunOptions{Path: "cat", Args: []string{"/proc/net/nf_conntrack"}})
	if err != nil {
		t.Fatalf("conntrack table: %v", err)
	}
	return out
}

func countLines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// iptablesNAT is the host namespace's iptables nat table (iptables-nft), where portmap
// writes its rules.
func iptablesNAT(t *testing.T, h *testbed.Host) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Run(ctx, testbed.RunOptions{Path: "iptables", Args: []string{"-w", "5", "-t", "nat", "-S"}})
	if err != nil {
		t.Fatalf("iptables -t nat -S: %v\n%s", err, out)
	}
	return out
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
