package node

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// notifySocket listens where systemd would (a unixgram socket named by NOTIFY_SOCKET) and
// returns the datagrams as they arrive.
func notifySocket(t *testing.T) <-chan string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	out := make(chan string, 1000)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(out)
				return
			}
			out <- string(buf[:n])
		}
	}()
	return out
}

// next waits for the first datagram containing want, failing after a deadline that only
// bounds a broken test; it returns what came before it and the datagram.
func next(t *testing.T, msgs <-chan string, want string) (before []string, got string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed before %q", want)
			}
			if strings.Contains(m, want) {
				return before, m
			}
			before = append(before, m)
		case <-deadline:
			t.Fatalf("no %q on the notify socket; got %q", want, before)
		}
	}
}

// The agent speaks systemd's notify protocol on a real NOTIFY_SOCKET: STATUS= while it
// waits, READY=1 only after the first complete programming, WATCHDOG=1 at half of
// WATCHDOG_USEC from the loop.
func TestNotifyReadyStatusWatchdog(t *testing.T) {
	msgs := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	b := newLoopBed(t, nil, true)
	b.a.notify = newNotifier(b.a.health)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.a.notify.run(ctx)
	b.run(t)

	before, _ := next(t, msgs, "STATUS=not ready")
	for _, m := range before {
		if strings.Contains(m, "READY=1") {
			t.Fatalf("READY=1 before anything was programmed: %q", before)
		}
	}
	// Watchdog pings come from the loop even before the datastore is in sync: the loop
	// is alive and waiting, which is what the watchdog asks.
	next(t, msgs, "WATCHDOG=1")
	if b.dp.apply.count() != 0 {
		t.Fatal("programmed before sync")
	}
	b.sync()
	before, ready := next(t, msgs, "READY=1")
	if b.dp.apply.count() == 0 {
		t.Error("READY=1 before the dataplane was programmed")
	}
	for _, m := range before {
		if strings.Contains(m, "READY=1") {
			t.Errorf("READY=1 twice: %q", before)
		}
	}
	// The status goes with READY=1 (the status goroutine may have said it already).
	if !strings.Contains(ready, "\nSTATUS=ready") {
		t.Errorf("READY=1 datagram %q carries no ready status", ready)
	}
	next(t, msgs, "WATCHDOG=1")
}

// Without NOTIFY_SOCKET nothing is sent and no watchdog ticks.
func TestNotifyOffWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "200000")
	n := newNotifier(NewHealth())
	if n.on || n.watchdogInterval() != 0 {
		t.Errorf("notifier on=%v watchdog=%v without a socket", n.on, n.watchdogInterval())
	}
	n.ready() // must not panic or block
}
