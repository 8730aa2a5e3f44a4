package kill

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// poolWatch follows, from the kernel's route announcements in one namespace, the main-table
// routes inside a pool: how many there are, every deletion, and how often each destination
// was announced (a second announcement of a route is a rewrite).
type poolWatch struct {
	pool netip.Prefix
	done chan struct{}
	exit chan struct{}

	mu      sync.Mutex
	present map[netip.Prefix]bool
	adds    map[netip.Prefix]int
	deleted []netip.Prefix
	lost    int // subscription errors (a full socket buffer loses announcements)
	onCount func(int)
}

func watchPool(t *testing.T, h *testbed.Host, pool netip.Prefix) *poolWatch {
	t.Helper()
	w := &poolWatch{pool: pool, done: make(chan struct{}), exit: make(chan struct{}),
		present: map[netip.Prefix]bool{}, adds: map[netip.Prefix]int{}}
	ch := make(chan netlink.RouteUpdate, 1<<16)
	ns := h.NS
	if err := netlink.RouteSubscribeWithOptions(ch, w.done, netlink.RouteSubscribeOptions{
		Namespace: &ns, ReceiveBufferSize: 64 << 20, ReceiveBufferForceSize: true,
		ErrorCallback: func(error) { w.mu.Lock(); w.lost++; w.mu.Unlock() },
	}); err != nil {
		t.Fatalf("route subscription in %s: %v", h.Name, err)
	}
	go w.run(ch)
	t.Cleanup(w.stop)
	return w
}

func (w *poolWatch) run(ch <-chan netlink.RouteUpdate) {
	defer close(w.exit)
	for u := range ch {
		if u.Dst == nil || u.Table != unix.RT_TABLE_MAIN {
			continue
		}
		a, ok := netip.AddrFromSlice(u.Dst.IP)
		if !ok || !w.pool.Contains(a.Unmap()) {
			continue
		}
		ones, _ := u.Dst.Mask.Size()
		p := netip.PrefixFrom(a.Unmap(), ones)
		w.mu.Lock()
		switch u.Type {
		case unix.RTM_NEWROUTE:
			w.present[p] = true
			w.adds[p]++
		case unix.RTM_DELROUTE:
			delete(w.present, p)
			w.deleted = append(w.deleted, p)
		}
		n := len(w.present)
		f := w.onCount
		w.mu.Unlock()
		if f != nil {
			f(n)
		}
	}
}

func (w *poolWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
}

// snapshot returns the routes present, the deletions and announcements so far, and resets
// them so the next phase counts afresh.
func (w *poolWatch) snapshot() (present map[netip.Prefix]bool, deleted []netip.Prefix, adds map[netip.Prefix]int, lost int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	present = make(map[netip.Prefix]bool, len(w.present))
	for p := range w.present {
		present[p] = true
	}
	deleted, adds, lost = w.deleted, w.adds, w.lost
	w.deleted, w.adds = nil, map[netip.Prefix]int{}
	return present, deleted, adds, lost
}

func (w *poolWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.present)
}

// kernelPoolRoutes lists the main-table routes inside the pool from a dump.
func kernelPoolRoutes(h *testbed.Host, pool netip.Prefix) (map[netip.Prefix]bool, error) {
	rs, err := h.NL.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, err
	}
	out := map[netip.Prefix]bool{}
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(r.Dst.IP); ok && pool.Contains(a.Unmap()) {
			ones, _ := r.Dst.Mask.Size()
			out[netip.PrefixFrom(a.Unmap(), ones)] = true
		}
	}
	return out, nil
}

// remoteCount is 10,000, or BRINDLE_FAULT_ROUTES.
func remoteCount() int {
	if n, err := strconv.Atoi(os.Getenv("BRINDLE_FAULT_ROUTES")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// TestSIGKILLWhileProgrammingRoutes: 10,000 remote nodes with a block each are in etcd; the
// agent (--bgp=false: a route per remote block from the datastore) starts on a fresh host
// and is SIGKILLed once it has programmed a tenth of them. The restarted agent must finish
// the job without flushing: the kernel's count of routes in the pool never drops, no route
// is deleted, and none of the routes the killed agent had written is written again.
func TestSIGKILLWhileProgrammingRoutes(t *testing.T) {
	n := remoteCount()
	testbed.RequireRoot(t)
	o := testbed.Options{Prefix: "bfk-", Subnets: []netip.Prefix{remoteSubnet},
		Hosts: []testbed.HostOptions{{Name: "node1"}}}
	c, err := cluster.Start(cluster.Options{Bed: o, Binary: testBin.Path(t), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 40)
	if err := c.Apply(fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: bfk-remotes}
spec: {cidr: %s, blockSize: 26, ipipMode: Never, vxlanMode: Never, nodeSelector: all()}
`, remotePool)); err != nil {
		t.Fatal(err)
	}
	st, err := c.Store()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	if err := writeRemotes(context.Background(), st, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d remote nodes with a /26 each written to etcd in %v", n, time.Since(start).Round(time.Millisecond))

	h := c.Host("node1")
	w := watchPool(t, h, remotePool)
	killAt := max(n/10, 1)
	opts := cluster.AgentOptions{NoBGP: true}
	a, err := c.LaunchAgent("node1", opts)
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL from the watch goroutine the moment the count crosses killAt: the agent is
	// then in the middle of its first route programming.
	var once sync.Once
	killed := make(chan struct{})
	w.mu.Lock()
	w.onCount = func(got int) {
		if got >= killAt {
			once.Do(func() { _ = syscall.Kill(a.Proc.PID, syscall.SIGKILL); close(killed) })
		}
	}
	w.mu.Unlock()
	launched := time.Now()
	select {
	case <-killed:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the agent programmed only %d of %d routes in 3 min", w.count(), n)
	}
	if _, err := c.KillAgent("node1"); err != nil && a.Proc.Running() {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the last announcements arrive
	w.mu.Lock()
	w.onCount = nil
	w.mu.Unlock()
	atKill, deleted, _, lost := w.snapshot()
	kernel, err := kernelPoolRoutes(h, remotePool)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("agent SIGKILLed %v after its start with %d of %d routes in the kernel", time.Since(launched).Round(time.Millisecond), len(kernel), n)
	if len(kernel) >= n {
		t.Fatalf("the agent had programmed every route before the SIGKILL landed: not a kill mid-programming")
	}
	if len(deleted) > 0 || lost > 0 || len(kernel) != len(atKill) {
		t.Fatalf("before the kill: %d deletions, %d lost announcements, watch saw %d routes, kernel holds %d", len(deleted), lost, len(atKill), len(kernel))
	}

	restart := time.Now()
	if _, err := c.StartAgent("node1", opts); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(restart)
	if err := cluster.WaitFor(3*time.Minute, fmt.Sprintf("all %d routes", n), func() (bool, string) {
		got := w.count()
		return got >= n, fmt.Sprintf("%d routes", got)
	}); err != nil {
		t.Fatal(err)
	}
	full := time.Since(restart)
	time.Sleep(2 * time.Second) // anything the agent does after converging is caught too
	_, deleted, adds, lost := w.snapshot()
	kernel, err = kernelPoolRoutes(h, remotePool)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := 0
	for p := range atKill {
		if adds[p] > 0 {
			rewritten++
		}
	}
	t.Logf("restart: ready after %v, all %d routes after %v; %d deleted, %d of the %d routes left by the killed agent written again, %d announcements lost",
		ready.Round(time.Millisecond), n, full.Round(time.Millisecond), len(deleted), rewritten, len(atKill), lost)
	if lost > 0 {
		t.Errorf("the route watch lost %d batches of announcements: the figures above are incomplete", lost)
	}
	if len(deleted) > 0 {
		t.Errorf("the restarted agent deleted %d routes in the pool (first %v): a flush", len(deleted), deleted[0])
	}
	if rewritten > 0 {
		t.Errorf("the restarted agent wrote %d of the routes it had already programmed again", rewritten)
	}
	if len(kernel) != n {
		t.Errorf("the kernel holds %d routes in the pool after the restart, want %d", len(kernel), n)
	}
	for i := range n {
		if !kernel[remoteBlock(i)] {
			t.Errorf("no route to remote block %s after the restart", remoteBlock(i))
			break
		}
	}
}
