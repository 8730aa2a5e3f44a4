package node

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifier speaks systemd's notify protocol (sd_notify(3)) when the agent runs as a
// Type=notify unit: READY=1 after the first complete programming, STATUS= lines saying what
// the agent is waiting for, WATCHDOG=1 from the event loop when the unit sets WatchdogSec,
// STOPPING=1 on the way out. Without NOTIFY_SOCKET every call does nothing.
type notifier struct {
	health *Health
	on     bool

	mu   sync.Mutex
	last string // STATUS last sent
	// loopPets: the event loop runs and pets the watchdog itself. Until then (waiting for
	// the datastore, which may take as long as etcd is down) run pets it, so that a node
	// whose etcd is away is not killed by the watchdog over and over.
	loopPets atomic.Bool
}

func newNotifier(h *Health) *notifier {
	return &notifier{health: h, on: os.Getenv("NOTIFY_SOCKET") != ""}
}

// watchdogInterval is WatchdogSec when systemd asked this process for pings, else 0.
func (n *notifier) watchdogInterval() time.Duration {
	if n == nil || !n.on {
		return 0
	}
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return d
}

func (n *notifier) send(state string) {
	if n == nil || !n.on {
		return
	}
	_, _ = daemon.SdNotify(false, state)
}

// ready says the agent finished its first complete programming.
func (n *notifier) ready() { n.send("READY=1\nSTATUS=" + n.statusLine()) }

// watchdog pets systemd's watchdog.
func (n *notifier) watchdog() { n.send(daemon.SdNotifyWatchdog) }

func (n *notifier) stopping() { n.send(daemon.SdNotifyStopping + "\nSTATUS=stopping") }

// run sends a STATUS= line whenever the health summary changes, until ctx ends. It polls
// once a second: status is for people reading `systemctl status`, and polling keeps the
// loop and the datastore connector free of any call into this file.
func (n *notifier) run(ctx context.Context) {
	if n == nil || !n.on {
		return
	}
	every := time.Second
	wd := n.watchdogInterval()
	if wd > 0 && wd/2 < every {
		every = wd / 2
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if wd > 0 && !n.loopPets.Load() {
			n.watchdog()
		}
		s := n.statusLine()
		n.mu.Lock()
		changed := s != n.last
		n.last = s
		n.mu.Unlock()
		if changed {
			n.send("STATUS=" + s)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// statusLine summarises health: "ready" or what is not ready and why.
func (n *notifier) statusLine() string {
	_, ready, parts := n.health.Status()
	if ready {
		return "ready: in sync with the datastore, every component converged"
	}
	var waiting []string
	for name, p := range parts {
		if !p.Ready {
			waiting = append(waiting, fmt.Sprintf("%s: %s", name, p.Detail))
		}
	}
	sort.Strings(waiting)
	if len(waiting) == 0 {
		return "starting"
	}
	return "not ready: " + strings.Join(waiting, "; ")
}
