package node

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// component is one thing the agent loop converges: the dataplane, the BGP speaker, the
// status report (and the policy dataplane next). Events only mark it dirty; the loop's apply
// step runs every dirty component that is due. A failure leaves it dirty and due again after
// a backoff, so nothing is forgotten until an unrelated event comes along (issue #10: a
// failed BGP sync used to wait for the next watch event). Components are independent: one
// failing does not hold back the others.
type component struct {
	name string // health component name
	// gatesReady: while this component has not converged, the agent is not ready. The
	// status report does not gate: nothing on this host depends on it.
	gatesReady bool
	run        func(context.Context) error

	dirty   bool
	due     time.Time // a retry waits until then; zero: now
	backoff backoff
	fail    failureLog
	ran     bool // converged at least once
}

// mark says the component's inputs changed. It runs at the next apply step even if it is
// backing off: the change may be what fixes it (the interface a route needs appeared).
func (c *component) mark() {
	if c == nil { // a role without this component (felix runs no BGP)
		return
	}
	c.dirty = true
	c.due = time.Time{}
}

// converged reports whether the component's last run succeeded and nothing changed since.
func (c *component) converged() bool { return c.ran && !c.dirty }

// components runs the agent's components in the order they were added.
type components struct {
	list   []*component
	health *Health
	log    *zap.Logger
	now    func() time.Time
	// observe, if set, hears every run's duration and result (node/metrics.go).
	observe func(name string, took time.Duration, err error)
}

func newComponents(h *Health, log *zap.Logger) *components {
	return &components{health: h, log: log, now: time.Now}
}

// add registers a component. what names it in log lines ("dataplane programming").
func (cs *components) add(name, what string, gatesReady bool, run func(context.Context) error) *component {
	c := &component{name: name, gatesReady: gatesReady, run: run,
		fail: failureLog{log: cs.log.With(zap.String("component", name)), what: what}}
	cs.list = append(cs.list, c)
	if gatesReady {
		// Not ready until it has run once; otherwise the moment between the datastore
		// coming into sync and the first apply would read as ready.
		cs.health.Report(name, true, false, "waiting for the first sync")
	}
	return c
}

// markAll marks every component dirty (a full resync).
func (cs *components) markAll() {
	for _, c := range cs.list {
		c.mark()
	}
}

// runDue runs each dirty component whose retry time has come and reports its health. It
// returns when the earliest pending run is due (zero: none pending) and whether any ran.
func (cs *components) runDue(ctx context.Context) (next time.Time, ran bool) {
	for _, c := range cs.list {
		if !c.dirty || cs.now().Before(c.due) {
			continue
		}
		// Cleared before running, so that a mark made during the run (the BGP component
		// restarting the speaker marks the dataplane) is kept for the next round.
		c.dirty = false
		ran = true
		start := cs.now()
		err := c.run(ctx)
		if cs.observe != nil {
			cs.observe(c.name, cs.now().Sub(start), err)
		}
		if ctx.Err() != nil {
			return time.Time{}, ran
		}
		if err == nil {
			c.ran = true
			c.backoff.reset()
			c.due = time.Time{}
			c.fail.succeeded()
			cs.health.Report(c.name, true, true, "")
			continue
		}
		c.dirty = true
		d := c.backoff.failed()
		c.due = cs.now().Add(d)
		c.fail.failed(err, d)
		cs.health.Report(c.name, true, !c.gatesReady, err.Error())
	}
	for _, c := range cs.list {
		due := c.due
		if due.IsZero() {
			due = cs.now() // marked by another component's run (BGP restarting the speaker)
		}
		if c.dirty && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next, ran
}

// converged reports whether every component converged.
func (cs *components) converged() bool {
	for _, c := range cs.list {
		if !c.converged() {
			return false
		}
	}
	return true
}
