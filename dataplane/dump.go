package dataplane

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// dumpRetries bounds how often an interrupted dump is repeated. The kernel interrupts a dump
// when the table changes under it (NLM_F_DUMP_INTR), which happens under load; the result is
// then possibly inconsistent and must not be used to decide deletions.
const dumpRetries = 10

// dump runs one netlink dump, repeating it while the kernel reports it interrupted. Every
// netlink list in this package goes through here.
func dump[T any](what string, f func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range dumpRetries {
		v, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("dump %s: %w", what, err)
	}
	return v, nil
}
