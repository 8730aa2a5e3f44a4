package ipam

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The queue makes writers of one block take turns instead of colliding. Every block write is
// a compare-and-swap on the whole block key, so N allocators racing on one block cost O(N^2)
// failed transactions; taking turns costs O(N). The queue is advisory and never needed for
// correctness: a turn that cannot be had within QueueWait is skipped (the caller proceeds and
// the CAS still decides), a crashed holder's flock is dropped by the kernel, and a holder that
// hangs only delays others by QueueWait. Calico's host-wide lock was neither: it was held for
// a whole CNI call and had no bound, which is how 100 pods came to wait minutes.

// Queue modes (Options.Queue; BRINDLE_IPAM_QUEUE when Options.Queue is empty).
const (
	QueueOn      = "on"      // goroutines of one process and processes of one host take turns
	QueueProcess = "process" // only goroutines of one process take turns
	QueueOff     = "off"     // no turns: every writer goes straight to its CAS
)

// DefaultQueueWait bounds the wait for a turn.
const DefaultQueueWait = 2 * time.Second

type queue struct {
	mode string
	dir  string // lock files for the cross-process queue; "" when unusable
	wait time.Duration
	log  *zap.SugaredLogger

	mu    sync.Mutex
	slots map[string]*slot
}

type slot struct {
	turn chan struct{} // capacity 1: holding the token is holding the turn
	refs int
}

func newQueue(opts Options, log *zap.SugaredLogger) *queue {
	q := &queue{mode: opts.Queue, wait: opts.QueueWait, log: log, slots: map[string]*slot{}}
	if q.mode == "" {
		q.mode = os.Getenv("BRINDLE_IPAM_QUEUE")
	}
	switch q.mode {
	case QueueOn, QueueProcess, QueueOff:
	default:
		q.mode = QueueOn
	}
	if q.wait <= 0 {
		q.wait = DefaultQueueWait
	}
	if q.mode == QueueOn {
		q.dir = opts.QueueDir
		if q.dir == "" {
			q.dir = filepath.Join(stateDir(), "ipam-queue")
		}
		if err := os.MkdirAll(q.dir, 0o700); err != nil {
			log.Debugw("no cross-process IPAM queue; processes will not take turns", "dir", q.dir, "error", err)
			q.dir = ""
		}
	}
	return q
}

// stateDir is brindle's per-host state directory.
func stateDir() string {
	if d := os.Getenv("BRINDLE_STATE_DIR"); d != "" {
		return d
	}
	return "/var/run/brindle"
}

// turn is one writer's turn on a key; end it with done. While it holds the key's lock file,
// the file also passes the last writer's block value on to the next (see hint).
type turn struct {
	done func()
	f    *os.File // the locked file; nil without a cross-process turn
}

var noTurn = &turn{done: func() {}}

// acquire waits (at most q.wait) for the turn on key. It never fails: without a turn the
// caller simply proceeds.
func (q *queue) acquire(ctx context.Context, key string) *turn {
	if q == nil || q.mode == QueueOff {
		return noTurn
	}
	deadline := time.Now().Add(q.wait)
	s := q.slot(key)
	t := time.NewTimer(q.wait)
	defer t.Stop()
	select {
	case s.turn <- struct{}{}:
	case <-t.C:
		q.put(key, s)
		q.log.Debugw("no in-process turn within the bound; proceeding", "key", key)
		return noTurn
	case <-ctx.Done():
		q.put(key, s)
		return noTurn
	}
	f, unlockFile := q.lockFile(ctx, key, time.Until(deadline))
	return &turn{f: f, done: func() {
		unlockFile()
		<-s.turn
		q.put(key, s)
	}}
}

func (q *queue) slot(key string) *slot {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.slots[key]
	if s == nil {
		s = &slot{turn: make(chan struct{}, 1)}
		q.slots[key] = s
	}
	s.refs++
	return s
}

func (q *queue) put(key string, s *slot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if s.refs--; s.refs == 0 {
		delete(q.slots, key)
	}
}

// lockFile takes an exclusive flock on the key's file in the state dir, waiting at most wait,
// and returns the locked file (nil if it got no lock). The blocking flock runs in its own
// goroutine so that the wait can be abandoned; if the lock is granted after that, the
// goroutine drops it at once.
func (q *queue) lockFile(ctx context.Context, key string, wait time.Duration) (*os.File, func()) {
	if q.dir == "" {
		return nil, func() {}
	}
	f, err := os.OpenFile(filepath.Join(q.dir, lockName(key)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		q.log.Debugw("cannot open IPAM queue file; proceeding without the turn", "key", key, "error", err)
		return nil, func() {}
	}
	fd := int(f.Fd())
	held := func() (*os.File, func()) {
		return f, func() {
			_ = unix.Flock(fd, unix.LOCK_UN)
			_ = f.Close()
		}
	}
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil {
		return held()
	}
	done := make(chan error, 1)
	go func() { done <- flockRetry(fd) }()
	t := time.NewTimer(max(wait, 0))
	defer t.Stop()
	abandon := func() {
		go func() {
			if <-done == nil {
				_ = unix.Flock(fd, unix.LOCK_UN)
			}
			_ = f.Close()
		}()
	}
	select {
	case err := <-done:
		if err == nil {
			return held()
		}
		q.log.Debugw("flock failed; proceeding without the turn", "key", key, "error", err)
		_ = f.Close()
	case <-t.C:
		q.log.Debugw("no cross-process turn within the bound; proceeding", "key", key)
		abandon()
	case <-ctx.Done():
		abandon()
	}
	return nil, func() {}
}

func flockRetry(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			return err
		}
	}
}

// lockName turns a queue key (e.g. "block/10.0.0.0/26") into a file name.
func lockName(key string) string {
	return strings.NewReplacer("/", "_", ":", "_").Replace(key)
}
