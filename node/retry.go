package node

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Retry pacing for everything the agent converges. A failure is tried again soon (most are
// transient: an interface not there yet, a conflict), then less and less often, so a
// persistent failure (an unreachable next hop, etcd down) costs one attempt every few seconds.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// datastoreAttempt bounds one attempt at datastore work outside the loop (connecting,
// tunnel addresses, status reports): etcd's client waits for a connection indefinitely,
// and an attempt that hangs would hide the reason from the logs and health.
const datastoreAttempt = 10 * time.Second

// backoff is the delay before the next attempt: retryMin, doubled per failure up to
// retryMax; a success resets it.
type backoff struct{ next time.Duration }

func (b *backoff) failed() time.Duration {
	if b.next == 0 {
		b.next = retryMin
	}
	d := b.next
	b.next = min(2*b.next, retryMax)
	return d
}

func (b *backoff) reset() { b.next = 0 }

// failureLog logs a persistent failure once per change of reason: the first failure and
// each new reason at warning, repeats of the same reason at debug, and the recovery at info.
type failureLog struct {
	log      *zap.Logger
	what     string // "dataplane programming", "BGP", ...
	reason   string // the failure being retried, "" when converged
	attempts int
}

func (f *failureLog) failed(err error, retryIn time.Duration) {
	f.attempts++
	fields := []zap.Field{zap.Error(err), zap.Duration("retryIn", retryIn), zap.Int("attempt", f.attempts)}
	if reason := err.Error(); reason != f.reason {
		f.reason = reason
		f.log.Warn(f.what+" failed; retrying", fields...)
		return
	}
	f.log.Debug(f.what+" still failing; retrying", fields...)
}

func (f *failureLog) succeeded() {
	if f.reason != "" {
		f.log.Info(f.what+" recovered", zap.Int("failedAttempts", f.attempts), zap.String("lastError", f.reason))
	}
	f.reason, f.attempts = "", 0
}

// retryUntil runs step until it succeeds or ctx ends, with backoff between attempts and each
// failure shown in health (live, not ready) under component. Each attempt gets its own
// deadline so that a datastore that does not answer at all is an error, not a hang.
func retryUntil(ctx context.Context, h *Health, f *failureLog, component string, attempt time.Duration, step func(context.Context) error) error {
	var b backoff
	for {
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := step(actx)
		cancel()
		if err == nil {
			f.succeeded()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := b.failed()
		f.failed(err, d)
		h.Report(component, true, false, err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// retryOnKick runs attempt (bounded by datastoreAttempt) each time kick fires, and again
// with backoff after each failure, until ctx ends; fail logs the failures once per reason.
// The loops beside the event loop that write to the datastore (tunnel addresses, WireGuard
// keys) share it.
func retryOnKick(ctx context.Context, kick <-chan struct{}, fail failureLog, attempt func(context.Context) error) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var b backoff
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-retry.C:
		}
		actx, cancel := context.WithTimeout(ctx, datastoreAttempt)
		err := attempt(actx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		retry.Stop()
		if err == nil {
			b.reset()
			fail.succeeded()
			continue
		}
		d := b.failed()
		fail.failed(err, d)
		retry.Reset(d)
	}
}
