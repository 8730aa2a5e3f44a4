package etcdfault

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

const (
	clientPort = 12379 // never 2379 (development.md)
	peerPort   = 12380
)

// members is a three-member etcd cluster of `brindle datastore run` processes, one per
// namespace (etcd1..etcd3 of the bed), so that a drop rule in one namespace partitions
// exactly that member.
type members struct {
	c       *cluster.Cluster
	hosts   []*testbed.Host
	procs   []*testbed.Proc
	initial string
}

var memberNames = []string{"etcd1", "etcd2", "etcd3"}

// startMembers replaces the cluster's single datastore by three members and points every
// client (agents, CNI conf, CLI) at all three endpoints.
func startMembers(t *testing.T, c *cluster.Cluster) *members {
	t.Helper()
	if err := c.StopDatastore(); err != nil {
		t.Fatal(err)
	}
	m := &members{c: c}
	var initial, eps []string
	for _, n := range memberNames {
		h := c.Host(n)
		m.hosts = append(m.hosts, h)
		initial = append(initial, fmt.Sprintf("%s=http://%s:%d", n, h.Addr.Addr(), peerPort))
		eps = append(eps, fmt.Sprintf("http://%s:%d", h.Addr.Addr(), clientPort))
	}
	m.initial = strings.Join(initial, ",")
	m.procs = make([]*testbed.Proc, len(memberNames))
	for i := range memberNames {
		if err := m.start(i); err != nil {
			t.Fatal(err)
		}
	}
	c.Endpoints = strings.Join(eps, ",")
	if err := m.waitServing(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return m
}

// start launches member i (again) on its data dir; a restarted member rejoins from its data.
func (m *members) start(i int) error {
	h := m.hosts[i]
	a := h.Addr.Addr().String()
	p, err := m.c.StartProc(h.Netns, testbed.ProcOptions{Name: "datastore-" + memberNames[i], Path: m.c.Bin, LogDir: m.c.LogDir(),
		Args: []string{"datastore", "run", "--name", memberNames[i],
			"--data-dir", filepath.Join(m.c.Dir, "etcd-"+memberNames[i]),
			"--listen-client-urls", fmt.Sprintf("http://%s:%d", a, clientPort),
			"--listen-peer-urls", fmt.Sprintf("http://%s:%d", a, peerPort),
			"--initial-cluster", m.initial, "--initial-cluster-token", "bfe-" + m.c.Bed.Tag}})
	if err != nil {
		return err
	}
	m.c.Track(p)
	m.procs[i] = p
	return nil
}

// kill SIGKILLs member i by PID: a crash, not a clean stop.
func (m *members) kill(i int) error {
	p := m.procs[i]
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		return fmt.Errorf("SIGKILL to %s: %w", p.Name, err)
	}
	select {
	case <-p.Done():
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) still running after SIGKILL", p.Name, p.PID)
	}
}

// waitServing waits until the CLI reads the initialised datastore through the endpoints.
func (m *members) waitServing(timeout time.Duration) error {
	return cluster.WaitFor(timeout, "the etcd cluster to serve", func() (bool, string) {
		for _, p := range m.procs {
			if !p.Running() {
				return false, p.Name + " exited: " + p.Logs()
			}
		}
		out, err := m.c.Ctl(nil, "get", "clusterinformation", "default", "-o", "yaml")
		return err == nil, out
	})
}

// leader returns the index of the member whose /metrics says it leads.
func (m *members) leader() (int, error) {
	var last error
	for i, h := range m.hosts {
		if !m.procs[i].Running() {
			continue
		}
		body, err := httpGet(h.Netns, fmt.Sprintf("%s:%d", h.Addr.Addr(), clientPort), "/metrics")
		if err != nil {
			last = err
			continue
		}
		if strings.Contains(body, "\netcd_server_is_leader 1\n") {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no member says it leads (last error %v)", last)
}

// httpGet fetches a page over a socket opened inside n (Go's HTTP client would dial from
// whatever thread it likes, outside the namespace).
func httpGet(n *testbed.Netns, addr, path string) (string, error) {
	var conn net.Conn
	if err := n.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path); err != nil {
		return "", err
	}
	var b strings.Builder
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String(), sc.Err()
}

// dropTCPPort drops, in n, every TCP segment to or from port, in both directions: the
// namespace's side of a partition. The table is the test's own; undrop deletes it.
func dropTCPPort(n *testbed.Netns, port int) error {
	return nft(n, fmt.Sprintf(`table inet bfe_fault {
	chain in { type filter hook input priority -300; policy accept; tcp dport %[1]d drop; tcp sport %[1]d drop; }
	chain out { type filter hook output priority -300; policy accept; tcp dport %[1]d drop; tcp sport %[1]d drop; }
}`, port))
}

func undrop(n *testbed.Netns) error { return nft(n, "delete table inet bfe_fault") }

func nft(n *testbed.Netns, script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"-f", "-"}, Stdin: strings.NewReader(script)})
	return err
}
