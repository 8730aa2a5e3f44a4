package ipam

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

func TestTunnelAddresses(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "p", "10.40.0.0/16", 26, `"ipipMode":"Always"`)
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	ip, err := a.EnsureTunnelAddress(ctx, "n1", IPIP)
	if err != nil || !ip.IsValid() {
		t.Fatalf("EnsureTunnelAddress: %v %v", ip, err)
	}
	nodeJSON := func() string {
		r, err := c.Get(ctx, "Node", "", "n1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r)
		return string(b)
	}
	if s := nodeJSON(); !strings.Contains(s, `"ipv4IPIPTunnelAddr":"`+ip.String()+`"`) {
		t.Fatalf("node not updated: %s", s)
	}
	info, _ := a.LookupIP(ctx, ip)
	if info.Handle != "ipip-tunnel-addr-n1" || info.Attrs[AttrType] != "ipipTunnelAddress" || info.Attrs[AttrNode] != "n1" {
		t.Fatalf("tunnel allocation: %+v", info)
	}
	if again, err := a.EnsureTunnelAddress(ctx, "n1", IPIP); err != nil || again != ip {
		t.Fatalf("second call must keep %s: %v %v", ip, again, err)
	}
	if vx, err := a.EnsureTunnelAddress(ctx, "n1", VXLAN); err != nil || vx.IsValid() {
		t.Fatalf("no VXLAN pool: want no address, got %v %v", vx, err)
	}
	// The pool stops using IPIP: the address is released and the field cleared.
	r, _ := c.Get(ctx, "IPPool", "", "p")
	b, _ := json.Marshal(r)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["spec"].(map[string]any)["ipipMode"] = "Never"
	m["spec"].(map[string]any)["vxlanMode"] = "Always"
	b, _ = json.Marshal(m)
	json.Unmarshal(b, r)
	if _, err := c.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := a.EnsureTunnelAddress(ctx, "n1", IPIP); err != nil || got.IsValid() {
		t.Fatalf("IPIP no longer needed: %v %v", got, err)
	}
	if s := nodeJSON(); strings.Contains(s, "ipv4IPIPTunnelAddr") {
		t.Fatalf("field not cleared: %s", s)
	}
	vx, err := a.EnsureTunnelAddress(ctx, "n1", VXLAN)
	if err != nil || !vx.IsValid() || !strings.Contains(nodeJSON(), `"ipv4VXLANTunnelAddr":"`+vx.String()+`"`) {
		t.Fatalf("VXLAN: %v %v %s", vx, err, nodeJSON())
	}
	if _, err := a.EnsureTunnelAddress(ctx, "ghost", IPIP); err == nil {
		t.Fatal("missing node must be an error")
	}
	checkClean(t, a)
}

// clock is a settable Now for grace-period tests.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

func TestCheckAndGCFindOnlyRealLeaks(t *testing.T) {
	_, c := datastore.StartTest(t)
	var clk clock
	a := New(c, Options{Now: clk.now})
	mkPool(t, c, "p", "10.50.0.0/16", 26, "")
	mkNode(t, c, "n1", "")
	mkNode(t, c, "n2", "")
	ctx := ctxT(t)
	alloc := func(host, cid string) netip.Addr {
		v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "net." + cid, Hostname: host,
			Attrs: map[string]string{AttrContainerID: cid}})
		if err != nil {
			t.Fatal(err)
		}
		return v4[0].Addr()
	}
	live := alloc("n1", "live")
	mkWEP(t, c, "n1", "live", live)
	leaked := alloc("n1", "leaked")     // ADD that never wrote its endpoint
	onGone := alloc("n2", "ongone")     // its node is going away
	mkWEP(t, c, "n2", "ongone", onGone) //
	manual := mustAddr("10.50.200.1")   // an admin's AssignIP: no workload named
	if err := a.AssignIP(ctx, AssignIPArgs{IP: manual, HandleID: "admin", Hostname: "n1", Attrs: map[string]string{"note": "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, "Node", "", "n2", ""); err != nil {
		t.Fatal(err)
	}
	// Within the grace period nothing is a leak yet.
	r, err := a.CheckWith(ctx, CheckOptions{GracePeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Leaks) != 0 || len(r.InFlight) != 2 {
		t.Fatalf("in grace: leaks %+v in flight %+v", r.Leaks, r.InFlight)
	}
	if len(r.OrphanBlocks) != 1 || r.OrphanBlocks[0].Host != "n2" {
		t.Fatalf("orphan blocks %+v", r.OrphanBlocks)
	}
	rep, err := a.GC(ctx, GCOptions{GracePeriod: time.Hour})
	if err != nil || len(rep.Released) != 0 {
		t.Fatalf("gc within grace released %v (%v)", rep.Released, err)
	}
	clk.off.Store(int64(2 * time.Hour))
	dry, err := a.GC(ctx, GCOptions{GracePeriod: time.Hour, DryRun: true})
	if err != nil || len(dry.Check.Leaks) != 2 || len(dry.Released) != 0 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	rep, err = a.GC(ctx, GCOptions{GracePeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rep.Released)
	if len(rep.Released) != 2 || !strings.Contains(got, leaked.String()) || !strings.Contains(got, onGone.String()) {
		t.Fatalf("gc released %v, want %s and %s", rep.Released, leaked, onGone)
	}
	for _, ip := range []netip.Addr{live, manual} {
		if info, _ := a.LookupIP(ctx, ip); !info.Allocated {
			t.Fatalf("gc released in-use %s", ip)
		}
	}
	checkClean(t, a)
}

// GC runs continuously with a short grace period while workers allocate, record endpoints
// like the CNI plugin, and delete them again. No address whose endpoint exists (or whose ADD
// is younger than the grace period) may ever be freed.
func TestGCNeverReleasesAddressesInUse(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "p", "10.60.0.0/22", 28, "")
	for i := 0; i < 4; i++ {
		mkNode(t, c, fmt.Sprintf("g%d", i), "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound on a hang, not a speed target
	defer cancel()
	const grace = 2 * time.Second
	var wg sync.WaitGroup
	var bad atomic.Value
	stop := make(chan struct{})
	var ops atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			host := fmt.Sprintf("g%d", w%4)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cid := fmt.Sprintf("w%dc%d", w, i)
				v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "net." + cid, Hostname: host, Attrs: map[string]string{AttrContainerID: cid}})
				if err != nil {
					bad.Store(fmt.Sprintf("assign: %v", err))
					return
				}
				ip := v4[0].Addr()
				if err := createWEP(c, host, cid, ip); err != nil {
					bad.Store(fmt.Sprintf("wep: %v", err))
					return
				}
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				// While the endpoint exists the address must still be ours.
				if held, err := a.IPsByHandle(ctx, "net."+cid); err != nil || len(held) != 1 || held[0] != ip {
					bad.Store(fmt.Sprintf("%s lost its address %s while in use (now %v, %v)", cid, ip, held, err))
					return
				}
				if i%5 == 0 {
					continue // leave some workloads running
				}
				deleteWEP(c, host, cid)
				if err := a.ReleaseByHandle(ctx, "net."+cid); err != nil {
					bad.Store(fmt.Sprintf("release: %v", err))
					return
				}
				ops.Add(1)
			}
		}(w)
	}
	// Leaked allocations (ADD killed before the endpoint) for gc to find.
	for i := 0; i < 10; i++ {
		if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: fmt.Sprintf("net.dead%d", i), Hostname: "g0", Attrs: map[string]string{AttrContainerID: fmt.Sprintf("dead%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	released := 0
	// GC runs for 6 s alongside the workers, and on until it has found the 10 leaks (on a
	// loaded machine 6 s may end before they pass the grace period), at most a minute.
	deadline, limit := time.Now().Add(6*time.Second), time.Now().Add(time.Minute)
	for (time.Now().Before(deadline) || released < 10) && time.Now().Before(limit) && bad.Load() == nil {
		rep, err := a.GC(ctx, GCOptions{GracePeriod: grace})
		if err != nil {
			t.Fatal(err)
		}
		released += len(rep.Released)
	}
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
	t.Logf("%d allocate/release cycles, gc released %d leaked addresses", ops.Load(), released)
	if released < 10 {
		t.Fatalf("gc released %d, want at least the 10 leaked ones", released)
	}
	for i := 0; i < 10; i++ {
		if held, _ := a.IPsByHandle(ctx, fmt.Sprintf("net.dead%d", i)); len(held) != 0 {
			t.Fatalf("leak dead%d not reclaimed", i)
		}
	}
	time.Sleep(grace)
	if _, err := a.GC(ctx, GCOptions{GracePeriod: grace}); err != nil {
		t.Fatal(err)
	}
	r := checkClean(t, a)
	if _, _, err := c.ListKV(ctx, store.HandleKey("")); err != nil || r.Allocations == 0 {
		t.Fatalf("expected the running workloads to keep their addresses: %+v", r)
	}
}
