package dataplane

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/calc"
)

// runAgentLoop is the smallest agent: apply on start and whenever Watch triggers.
func runAgentLoop(t *testing.T, dp *Dataplane, want calc.Desired) {
	ctx, cancel := context.WithCancel(context.Background())
	kick := make(chan struct{}, 1)
	trigger := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	watchDone := make(chan error, 1)
	go func() { watchDone <- dp.Watch(ctx, trigger) }()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				dp.Apply(ctx, want)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-loopDone
		if err := <-watchDone; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	trigger()
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if ok() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, limit)
	return 0
}

func TestDriftRepaired(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name string
		opts Options
	}{{"gateways", Options{}}, {"nexthop-objects", Options{NexthopsFrom: 1}}} {
		t.Run(tc.name, func(t *testing.T) { testDriftRepaired(t, tc.opts) })
	}
}

// routeLine returns the `ip route` line for dst without a nexthop object's id, so that
// routes written either way read alike.
func routeLine(ns, dst string) string {
	out, _ := shOK("ip", "-n", ns, "route", "show", dst)
	f := strings.Fields(out)
	if len(f) > 2 && f[1] == "nhid" {
		f = append(f[:1], f[3:]...)
	}
	return strings.Join(f, " ")
}

func testDriftRepaired(t *testing.T, opts Options) {
	a, _ := hostPair(t)
	dp := newDPOpts(t, a, opts)
	want := calc.Compute(twoNodes("node-a", calc.ModeAlways, false))
	runAgentLoop(t, dp, want)
	routeBack := func() bool {
		out, _ := shOK("ip", "-n", a, "route", "show")
		return routeLine(a, "192.168.0.64/26") == "192.168.0.64/26 via 192.168.0.65 dev vxlan.calico proto 80 onlink" &&
			strings.Contains(out, "blackhole 192.168.0.0/26")
	}
	waitFor(t, "initial programming", 5*time.Second, routeBack)

	sh(t, "ip", "-n", a, "route", "del", "192.168.0.64/26")
	t.Logf("deleted route back after %v", waitFor(t, "deleted route back", time.Second, routeBack))

	sh(t, "ip", "-n", a, "route", "replace", "192.168.0.64/26", "via", "10.0.1.2", "proto", "80")
	t.Logf("changed route restored after %v", waitFor(t, "changed route restored", time.Second, routeBack))

	sh(t, "ip", "-n", a, "neigh", "del", "192.168.0.65", "dev", "vxlan.calico")
	waitFor(t, "neighbour back", time.Second, func() bool {
		out, _ := shOK("ip", "-n", a, "neigh", "show", "dev", "vxlan.calico")
		return strings.Contains(out, "192.168.0.65 lladdr")
	})

	// The whole device, with its routes (the kernel sends no route deletions for those).
	sh(t, "ip", "-n", a, "link", "del", "vxlan.calico")
	t.Logf("device and routes back after %v", waitFor(t, "device and routes back", time.Second, func() bool {
		out, _ := shOK("bridge", "-n", a, "fdb", "show", "dev", "vxlan.calico")
		return routeBack() && strings.Contains(out, "dst 10.0.1.2 self permanent")
	}))
}
