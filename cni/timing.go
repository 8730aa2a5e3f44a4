package cni

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// phases records how long each step of a verb took, for the debug log: a runtime starts the
// plugin once per container, so knowing where the milliseconds go matters, and log_level
// "debug" is the only way to see it in a real deployment. Safe for concurrent steps.
type phases struct {
	mu    sync.Mutex
	start time.Time
	marks []zap.Field
}

func newPhases() *phases { return &phases{start: time.Now()} }

// done records that step ended now, measured from the start of the verb.
func (p *phases) done(step string) {
	d := time.Since(p.start)
	p.mu.Lock()
	p.marks = append(p.marks, zap.Duration(step, d))
	p.mu.Unlock()
}

func (p *phases) log(log *zap.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	log.Debug("phase end times since the verb started", p.marks...)
}
