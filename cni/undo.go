package cni

import "go.uber.org/zap"

// undoStack collects the reverse of every step taken so far. A failed ADD runs it in reverse
// order; a successful one discards it. Undo errors are logged, not returned: the original
// failure is what the runtime must see.
type undoStack struct {
	steps []undoStep
	log   *zap.Logger
}

type undoStep struct {
	what string
	fn   func() error
}

func (u *undoStack) push(what string, fn func() error) {
	u.steps = append(u.steps, undoStep{what, fn})
}

// run undoes everything in reverse; safe to call more than once.
func (u *undoStack) run() {
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		if err := s.fn(); err != nil && u.log != nil {
			u.log.Warn("undo step failed", zap.String("step", s.what), zap.Error(err))
		}
	}
	u.steps = nil
}
