package etcdfault

import (
	"fmt"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// baseline toggles the probe policy with nothing broken: the same-run reference for the
// convergence figures.
func (r *faultRun) baseline() {
	const fault = "none (baseline)"
	start := time.Now()
	time.Sleep(3 * time.Second)
	r.toggle(fault)
	r.window(fault, start, time.Now())
}

// toggle writes the deny policy, waits until node2 and node3 enforce it, deletes it and
// waits until both forward again, recording both delays from the write's return.
func (r *faultRun) toggle(fault string) {
	at, err := writeUntilOK(r.c, true, 30*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault, true, at, "node2", "node3")
	if at, err = writeUntilOK(r.c, false, 30*time.Second); err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault, false, at, "node2", "node3")
}

// leaderKill SIGKILLs the leader; the two others elect a new one. Measured: how long writes
// wait, then the usual policy round trip; the killed member is restarted afterwards.
func (r *faultRun) leaderKill() {
	const fault = "leader killed (SIGKILL)"
	start := time.Now()
	l, err := r.m.leader()
	if err != nil {
		r.t.Fatal(err)
	}
	kill := time.Now()
	if err := r.m.kill(l); err != nil {
		r.t.Fatal(err)
	}
	at, err := writeUntilOK(r.c, true, 60*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	r.add(fault, "kill to first successful write (CLI)", "%s", at.Sub(kill).Round(time.Millisecond))
	r.policyFigures(fault, true, at, "node2", "node3")
	if err := r.m.start(l); err != nil {
		r.t.Fatal(err)
	}
	if err := r.m.waitServing(30 * time.Second); err != nil {
		r.t.Fatal(err)
	}
	if at, err = writeUntilOK(r.c, false, 30*time.Second); err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault, false, at, "node2", "node3")
	time.Sleep(2 * time.Second)
	r.window(fault, start, time.Now())
}

// partition cuts the leader off from its peers (its peer port dropped in its namespace;
// clients still reach it, and it cannot serve them): the majority elects a new leader and
// clients that talk to the cut member must go elsewhere.
func (r *faultRun) partition() {
	const fault = "leader partitioned from its peers (10 s)"
	start := time.Now()
	l, err := r.m.leader()
	if err != nil {
		r.t.Fatal(err)
	}
	cut := time.Now()
	if err := dropTCPPort(r.m.hosts[l].Netns, peerPort); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = undrop(r.m.hosts[l].Netns) })
	at, err := writeUntilOK(r.c, true, 60*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	r.add(fault, "cut to first successful write (CLI)", "%s", at.Sub(cut).Round(time.Millisecond))
	r.policyFigures(fault, true, at, "node2", "node3")
	if at, err = writeUntilOK(r.c, false, 30*time.Second); err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault, false, at, "node2", "node3")
	time.Sleep(time.Until(cut.Add(10 * time.Second)))
	if err := undrop(r.m.hosts[l].Netns); err != nil {
		r.t.Fatal(err)
	}
	healed := time.Now()
	if err := cluster.WaitFor(30*time.Second, "the cut member to rejoin", func() (bool, string) {
		body, err := httpGet(r.m.hosts[l].Netns, fmt.Sprintf("%s:%d", r.m.hosts[l].Addr.Addr(), clientPort), "/metrics")
		return err == nil && strings.Contains(body, "\netcd_server_has_leader 1\n"), fmt.Sprint(err)
	}); err != nil {
		r.t.Fatal(err)
	}
	r.add(fault, "heal to the cut member following a leader", "%s", time.Since(healed).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	r.window(fault, start, time.Now())
}

// clusterDown stops all three members for d and starts them again. While down: every
// agent keeps its routes and nft ruleset, CNI ADD fails with code 11 and leaves nothing.
// After: how long until writes work, every agent is ready and the policy reaches them.
func (r *faultRun) clusterDown(d time.Duration) {
	fault := fmt.Sprintf("whole cluster down (%s)", d)
	for _, p := range r.m.procs {
		if err := p.Stop(10 * time.Second); err != nil {
			r.t.Fatal(err)
		}
	}
	down := time.Now()
	// The reference is taken once nothing can reach the agents any more.
	time.Sleep(time.Second)
	before := map[string]string{}
	for _, h := range nodes {
		s, err := dataplane(r.c, h, true)
		if err != nil {
			r.t.Fatal(err)
		}
		before[h] = s
	}
	time.Sleep(time.Until(down.Add(d)))
	changed := 0
	for _, h := range nodes {
		after, err := dataplane(r.c, h, true)
		if err != nil {
			r.t.Fatal(err)
		}
		if after != before[h] {
			changed++
			r.t.Errorf("%s's routes or nft ruleset changed while etcd was down:\n%s", h, diffLines(before[h], after))
		}
		if a := r.c.Agent(h); !a.Proc.Running() {
			r.t.Errorf("%s's agent exited while etcd was down: %v", h, a.Proc.ExitErr())
		}
	}
	r.add(fault, "hosts whose routes or nft ruleset changed during the outage", "%d of %d", changed, len(nodes))
	during := time.Now()
	r.window(fault+", during", down, during)
	for i := range r.m.procs {
		if err := r.m.start(i); err != nil {
			r.t.Fatal(err)
		}
	}
	up := time.Now()
	at, err := writeUntilOK(r.c, true, 60*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	r.add(fault, "members started to first successful write (CLI)", "%s", at.Sub(up).Round(time.Millisecond))
	for _, h := range nodes {
		a := r.c.Agent(h)
		if err := a.WaitReady(30 * time.Second); err != nil {
			r.t.Error(err)
		}
	}
	r.add(fault, "first write to all agents ready", "%s", time.Since(at).Round(time.Millisecond))
	r.policyFigures(fault, true, at, "node2", "node3")
	if at, err = writeUntilOK(r.c, false, 30*time.Second); err != nil {
		r.t.Fatal(err)
	}
	r.policyFigures(fault, false, at, "node2", "node3")
	time.Sleep(2 * time.Second)
	r.window(fault+", after", during, time.Now())
}
