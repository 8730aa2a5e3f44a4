package cni

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// undoTimeout bounds the whole undo of a failed ADD. Undo gets its own context because the
// verb's may have run out (often why we are undoing), and a bound because without one a hung
// etcd (stopped, or a network that drops packets) would hang the runtime's ADD forever.
// What undo could not release is left for `brindle ipam gc` and the runtime's DEL.
const undoTimeout = 8 * time.Second

// undoStack collects the reverse of every step taken so far. A failed ADD runs it in reverse
// order; a successful one discards it. Undo errors are logged, not returned: the original
// failure is what the runtime must see.
type undoStack struct {
	steps   []undoStep
	log     *zap.Logger
	timeout time.Duration // 0: undoTimeout
}

type undoStep struct {
	what string
	fn   func(ctx context.Context) error
}

func (u *undoStack) push(what string, fn func(ctx context.Context) error) {
	u.steps = append(u.steps, undoStep{what, fn})
}

// run undoes everything in reverse within one deadline; safe to call more than once.
func (u *undoStack) run() {
	if len(u.steps) == 0 {
		return
	}
	d := u.timeout
	if d == 0 {
		d = undoTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		if err := s.fn(ctx); err != nil && u.log != nil {
			u.log.Warn("undo step failed", zap.String("step", s.what), zap.Error(err))
		}
	}
	u.steps = nil
}
