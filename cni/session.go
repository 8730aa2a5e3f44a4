package cni

import (
	"context"
	"sync"

	"github.com/brindle-net/brindle/store"
)

// session is the datastore side of a verb, started in the background so that connecting to
// etcd (a fresh process has no connection) overlaps the kernel work of the same verb.
type session struct {
	done chan struct{}
	sc   *store.Client
	err  error
	// exiting: the verb succeeded and the process ends now; the kernel closes the
	// connection, so close need not (a graceful gRPC close costs 0.3-0.5 ms that the
	// runtime waits for).
	exiting bool
}

// startSession connects in the background; then runs after, if given, on the connection,
// still in the background (the reads a verb needs first, in parallel with each other).
func startSession(ctx context.Context, c *call, after func(context.Context, *store.Client) error) *session {
	s := &session{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.sc, s.err = connect(ctx, c.conf, c.log)
		if s.err == nil && after != nil {
			s.err = after(ctx, s.sc)
		}
	}()
	return s
}

// startLazySession is startSession for ADD: it dials without store.Connect's ping, and
// first, bounded by dialTimeout, proves the connection instead (see dialLazy).
func startLazySession(ctx context.Context, c *call, first func(context.Context, *store.Client) error) *session {
	s := &session{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if s.sc, s.err = dialLazy(c.conf, c.log); s.err != nil {
			return
		}
		fctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		if s.err = first(fctx, s.sc); s.err != nil {
			s.err = explainDial(ctx, c.conf, c.log, s.err)
		}
	}()
	return s
}

// wait returns the connection once it and the first reads are done. The connection is
// returned even when the reads failed, so the caller can still close it.
func (s *session) wait() (*store.Client, error) {
	<-s.done
	return s.sc, s.err
}

// close waits for the session and closes its connection.
func (s *session) close() {
	<-s.done
	if s.sc != nil && !s.exiting {
		_ = s.sc.Close()
	}
}

// parallel runs fs concurrently and returns the first error in argument order. etcd serves
// requests on one connection concurrently, so n reads cost about one round trip. The first
// runs on the calling goroutine, whose stack has already grown: a fresh goroutine's stack
// grows by copying through the deep gRPC call chain, measurable at process start-up.
func parallel(fs ...func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		if f == nil || i == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	if len(fs) > 0 && fs[0] != nil {
		errs[0] = fs[0]()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
