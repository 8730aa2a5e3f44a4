package node

import (
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestBackoffDoublesToCapAndResets(t *testing.T) {
	var b backoff
	var got []time.Duration
	for range 8 {
		got = append(got, b.failed())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, retryMax, retryMax}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff sequence %v, want %v", got, want)
		}
	}
	b.reset()
	if d := b.failed(); d != retryMin {
		t.Errorf("after reset: %v, want %v", d, retryMin)
	}
}

// Nothing is programmed and the agent is not ready until the watch is in sync (a restart
// with the datastore down keeps the kernel as it is).
func TestLoopProgramsNothingBeforeSync(t *testing.T) {
	b := newLoopBed(t, nil, true)
	b.run(t)
	b.batches <- store.Batch{}
	b.batches <- store.Batch{} // handshake: the first batch has been handled
	if n := b.dp.apply.count(); n != 0 {
		t.Errorf("dataplane applied %d times before the watch was in sync", n)
	}
	if n := b.starts.count(); n != 0 {
		t.Errorf("speaker started %d times before the watch was in sync", n)
	}
	if b.ready() {
		t.Error("ready before the watch was in sync")
	}
	b.sync()
	waitFor(t, "readiness after the first sync", b.ready)
	if b.dp.apply.count() == 0 || b.sp.peers.count() == 0 {
		t.Errorf("after sync: %d applies, %d peer updates; want both", b.dp.apply.count(), b.sp.peers.count())
	}
}

// Issue #10: a failed BGP sync was not retried until an unrelated event arrived.
func TestLoopRetriesFailedBGPSyncWithoutEvents(t *testing.T) {
	b := newLoopBed(t, nil, true)
	b.sp.peers.set(errBoom)
	b.run(t)
	b.sync()
	waitFor(t, "three BGP attempts", func() bool { return b.sp.peers.count() >= 3 })
	if b.ready() {
		t.Error("ready while BGP fails")
	}
	if p := b.part("bgp"); p.Ready || !strings.Contains(p.Detail, "boom") {
		t.Errorf("bgp health %+v, want not ready with the reason", p)
	}
	b.sp.peers.set(nil)
	waitFor(t, "readiness once BGP succeeds", b.ready)
	if n := b.sp.ads.count(); n == 0 {
		t.Error("advertisements never set")
	}
}

// A speaker that fails to start is started again, with no further event.
func TestLoopRetriesSpeakerStart(t *testing.T) {
	b := newLoopBed(t, nil, true)
	b.starts.set(errBoom)
	b.run(t)
	b.sync()
	waitFor(t, "two start attempts", func() bool { return b.starts.count() >= 2 })
	b.starts.set(nil)
	waitFor(t, "readiness once the speaker starts", b.ready)
}

// Issue #10: a dataplane failure reported ready.
func TestLoopDataplaneFailureIsNotReady(t *testing.T) {
	b := newLoopBed(t, nil, true)
	b.dp.apply.set(errBoom)
	b.run(t)
	b.sync()
	waitFor(t, "two apply attempts", func() bool { return b.dp.apply.count() >= 2 })
	if b.ready() {
		t.Error("ready while the dataplane fails")
	}
	if p := b.part("dataplane"); p.Ready || !p.Live || !strings.Contains(p.Detail, "boom") {
		t.Errorf("dataplane health %+v, want live, not ready, with the reason", p)
	}
	// Components are independent: BGP converges while the dataplane fails.
	waitFor(t, "BGP converged", func() bool { return b.part("bgp").Ready })
	b.dp.apply.set(nil)
	waitFor(t, "readiness once the dataplane applies", b.ready)
}

// Policy programming is a component of its own: while it fails the node is not ready
// (ready means enforced), it is retried without further events, and routes and BGP
// converge meanwhile.
func TestLoopPolicyFailureIsNotReady(t *testing.T) {
	b := newLoopBed(t, nil, true)
	b.dp.policy.set(errBoom)
	b.run(t)
	b.sync()
	waitFor(t, "two policy attempts", func() bool { return b.dp.policy.count() >= 2 })
	if b.ready() {
		t.Error("ready while policy programming fails")
	}
	if p := b.part("policy"); p.Ready || !p.Live || !strings.Contains(p.Detail, "boom") {
		t.Errorf("policy health %+v, want live, not ready, with the reason", p)
	}
	waitFor(t, "routes applied", func() bool { return b.dp.apply.count() >= 1 })
	waitFor(t, "BGP converged", func() bool { return b.part("bgp").Ready })
	b.dp.policy.set(nil)
	waitFor(t, "readiness once policy applies", b.ready)
}

// A persistent failure is logged at warning once per reason; repeats at debug; the
// recovery once at info.
func TestLoopLogsFailureOncePerReason(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b := newLoopBed(t, zap.New(core), false)
	b.dp.apply.set(errBoom)
	b.run(t)
	b.sync()
	waitFor(t, "four apply attempts", func() bool { return b.dp.apply.count() >= 4 })
	b.dp.apply.set(errSecond)
	n := b.dp.apply.count()
	waitFor(t, "two more attempts", func() bool { return b.dp.apply.count() >= n+2 })
	b.dp.apply.set(nil)
	waitFor(t, "readiness", b.ready)

	warn := logs.FilterMessage("dataplane programming failed; retrying").All()
	if len(warn) != 2 || warn[0].Level != zapcore.WarnLevel {
		t.Errorf("%d warnings for the failure, want 2 (one per reason)", len(warn))
	}
	if n := logs.FilterMessage("dataplane programming still failing; retrying").FilterLevelExact(zapcore.DebugLevel).Len(); n < 3 {
		t.Errorf("%d debug repeats, want at least 3", n)
	}
	if n := logs.FilterMessage("dataplane programming recovered").FilterLevelExact(zapcore.InfoLevel).Len(); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
}

// The retries back off: each gap is at least the backoff's delay, and the gaps grow (the
// old loop retried at a fixed 1 s).
func TestLoopRetriesBackOff(t *testing.T) {
	b := newLoopBed(t, nil, false)
	b.dp.apply.set(errBoom)
	b.run(t)
	b.sync()
	waitFor(t, "five apply attempts", func() bool { return b.dp.apply.count() >= 5 })
	at := b.dp.apply.times()
	var gaps []time.Duration
	for i := 1; i < 5; i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]))
	}
	for i, want := range []time.Duration{100, 200, 400, 800} {
		if gaps[i] < want*time.Millisecond {
			t.Errorf("gap %d between attempts %v, want at least %v ms (all gaps %v)", i, gaps[i], want, gaps)
		}
	}
	if gaps[0] >= gaps[3] {
		t.Errorf("gaps between attempts %v do not grow", gaps)
	}
}

// The loop never waits on the datastore: with etcd gone after the first sync (status
// reports and tunnel addresses hang or fail), watch batches and programming go on.
func TestLoopDoesNotWaitOnTheDatastore(t *testing.T) {
	st, err := store.Dial(store.Config{Endpoints: []string{"http://" + datastore.FreeAddr(t)}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := newLoopBedWith(t, st, nil, true)
	b.run(t)
	b.sync() // kicks the tunnel loop and the first status report, both against a dead etcd
	waitFor(t, "readiness", b.ready)
	for i := 0; i < 3; i++ {
		b.sync()
	}
	b.batches <- store.Batch{InSync: true} // handshake: the syncs above were handled
	if n := b.dp.apply.count(); n < 4 {
		t.Errorf("%d applies for 4 in-sync batches: the loop waited", n)
	}
	waitFor(t, "the failed status report in health", func() bool { return b.part("status-report").Detail != "" })
	if !b.ready() {
		t.Error("a failing status report made the agent not ready")
	}
}
