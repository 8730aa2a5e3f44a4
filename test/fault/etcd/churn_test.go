package etcdfault

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// churn adds and removes containers on one host through the real CNI plugin, without
// pause, for as long as it runs: a runtime under a steady stream of pods. A failed ADD is
// recorded with its CNI error code and checked at once for leftovers (a veth no container
// owns), then followed by a DEL of its container ID, retried until it succeeds, as
// containerd and CRI-O do; a failed DEL is retried too. A DEL after a failed ADD that
// found an endpoint to delete means the ADD's write committed while its answer was lost
// and the plugin's own undo could not reach etcd either: counted, and what the final scan
// checks is that nothing is left once the runtime's DELs went through.
type churn struct {
	c    *cluster.Cluster
	host string
	keep int // containers it keeps at most

	mu       sync.Mutex
	events   []churnEvent
	live     []*cluster.Container
	failed   []string // container IDs of failed ADDs, still to DEL
	delStuck bool     // the last DEL of a live container failed
	cleaned  int      // DELs after a failed ADD that deleted an endpoint
	problems []string
	stop     chan struct{}
	done     chan struct{}
}

type churnEvent struct {
	at        time.Time // when the call returned
	add       bool
	afterFail bool // a DEL after a failed ADD
	code      int  // 0 = success, else the CNI error code (-1: no code in the output)
	dur       time.Duration
}

var codeRE = regexp.MustCompile(`"code":\s*(\d+)`)

func startChurn(c *cluster.Cluster, host string, keep int) *churn {
	ch := &churn{c: c, host: host, keep: keep, stop: make(chan struct{}), done: make(chan struct{})}
	go ch.run()
	return ch
}

func (ch *churn) run() {
	defer close(ch.done)
	for n, turn := 0, 0; ; turn++ {
		select {
		case <-ch.stop:
			return
		default:
		}
		ch.mu.Lock()
		nlive, nfailed, stuck := len(ch.live), len(ch.failed), ch.delStuck
		ch.mu.Unlock()
		switch {
		case nfailed > 0 && turn%2 == 0:
			ch.delFailed()
		// While DELs fail (an outage) keep trying ADDs too: what they do then is the point.
		case nlive < ch.keep || stuck && nlive < ch.keep+5:
			n++
			ch.add(fmt.Sprintf("k%s-%d", strings.TrimPrefix(ch.host, "node"), n))
		default:
			ch.del()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (ch *churn) add(name string) {
	start := time.Now()
	ct, err := ch.c.AddContainer(ch.host, name)
	ev := churnEvent{at: time.Now(), add: true, dur: time.Since(start)}
	if err != nil {
		ev.code = -1
		if m := codeRE.FindStringSubmatch(err.Error()); m != nil {
			ev.code, _ = strconv.Atoi(m[1])
		}
		if ev.code != 11 {
			ch.problem("ADD %s on %s failed with code %d, not 11 (retriable): %v", name, ch.host, ev.code, err)
		}
		if left := ch.leftoverVeths(); len(left) > 0 {
			ch.problem("failed ADD %s on %s left veths no container owns: %v", name, ch.host, left)
		}
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.events = append(ch.events, ev)
	if ct != nil {
		ch.live = append(ch.live, ct)
	} else {
		ch.failed = append(ch.failed, name)
	}
}

// delFailed sends the DEL a runtime sends after a failed ADD and notes whether it found an
// endpoint of that container (the plugin's log says "workload deleted" only then).
func (ch *churn) delFailed() {
	ch.mu.Lock()
	id := ch.failed[0]
	ch.mu.Unlock()
	start := time.Now()
	err := ch.c.DelContainerID(ch.host, id, cluster.ContainerOptions{})
	ev := churnEvent{at: time.Now(), dur: time.Since(start), afterFail: true}
	if err != nil {
		ev.code = -1
		if m := codeRE.FindStringSubmatch(err.Error()); m != nil {
			ev.code, _ = strconv.Atoi(m[1])
		}
		time.Sleep(100 * time.Millisecond)
	}
	found := err == nil && ch.logSays(`"msg":"workload deleted","verb":"DEL","containerID":"`+id+`"`)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if err == nil {
		ch.failed = ch.failed[1:]
		if found {
			ch.cleaned++
		}
	}
	ch.events = append(ch.events, ev)
}

// logSays reports whether the host's CNI log holds s.
func (ch *churn) logSays(s string) bool {
	b, err := os.ReadFile(filepath.Join(ch.c.LogDir(), "cni-"+ch.host+".log"))
	return err == nil && strings.Contains(string(b), s)
}

func (ch *churn) del() {
	ch.mu.Lock()
	ct := ch.live[0]
	ch.mu.Unlock()
	start := time.Now()
	err := ch.c.DelContainer(ct)
	ev := churnEvent{at: time.Now(), dur: time.Since(start)}
	if err != nil {
		ev.code = -1
		if m := codeRE.FindStringSubmatch(err.Error()); m != nil {
			ev.code, _ = strconv.Atoi(m[1])
		}
		time.Sleep(100 * time.Millisecond) // retried on the next turn
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if err == nil {
		ch.live = ch.live[1:]
	}
	ch.delStuck = err != nil
	ch.events = append(ch.events, ev)
}

// leftoverVeths lists cali* interfaces on the host that belong to no container the
// cluster knows there (the churn's own, the static ones, a failed DEL's).
func (ch *churn) leftoverVeths() []string {
	h := ch.c.Host(ch.host)
	links, err := h.NL.LinkList()
	if err != nil {
		return []string{"(listing links: " + err.Error() + ")"}
	}
	var owned []string
	for _, ct := range ch.c.Containers() {
		if ct.Host == ch.host {
			owned = append(owned, ct.HostVeth)
		}
	}
	var left []string
	for _, l := range links {
		if n := l.Attrs().Name; strings.HasPrefix(n, "cali") && !slices.Contains(owned, n) {
			left = append(left, n)
		}
	}
	return left
}

func (ch *churn) problem(format string, args ...any) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.problems = append(ch.problems, fmt.Sprintf(format, args...))
}

// Stop ends the churn after its current call.
func (ch *churn) Stop() {
	close(ch.stop)
	<-ch.done
}

// churnCounts sums the events of several churns that returned in [from, to).
type churnCounts struct {
	adds, addFails, retriable, dels, delFails int
	maxFailDur                                time.Duration
}

func countChurn(chs []*churn, from, to time.Time) churnCounts {
	var n churnCounts
	for _, ch := range chs {
		ch.mu.Lock()
		for _, ev := range ch.events {
			if ev.at.Before(from) || !ev.at.Before(to) {
				continue
			}
			switch {
			case ev.add && ev.code == 0:
				n.adds++
			case ev.add:
				n.addFails++
				if ev.code == 11 {
					n.retriable++
				}
				n.maxFailDur = max(n.maxFailDur, ev.dur)
			case ev.code == 0:
				n.dels++
			default:
				n.delFails++
			}
		}
		ch.mu.Unlock()
	}
	return n
}

func (n churnCounts) String() string {
	s := fmt.Sprintf("%d ADDs ok, %d failed (%d with code 11", n.adds, n.addFails, n.retriable)
	if n.addFails > 0 {
		s += fmt.Sprintf(", slowest failure %s", n.maxFailDur.Round(10*time.Millisecond))
	}
	return s + fmt.Sprintf("), %d DELs ok, %d failed and retried", n.dels, n.delFails)
}
