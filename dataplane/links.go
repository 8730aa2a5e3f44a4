package dataplane

import (
	"strconv"
	"sync"
)

// linkIndex maps interface names to indexes. It is refreshed by a dump when marked stale
// (start, link events, a failed write) or, at most once per apply, when a name is not
// found, so that a workload interface created since the last dump is picked up without
// waiting for an event.
type linkIndex struct {
	mu      sync.Mutex
	h       *nsHandles
	byName  map[string]int
	stale   bool
	retried bool
	// gen changes whenever a known name disappears or gets another index (a device was
	// recreated): everything resolved with the old indexes must be resolved again.
	gen int
}

func (l *linkIndex) generation() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

func newLinkIndex(h *nsHandles) *linkIndex { return &linkIndex{h: h, stale: true} }

func (l *linkIndex) markStale() {
	l.mu.Lock()
	l.stale = true
	l.mu.Unlock()
}

// begin starts an apply round: one refresh on a miss is allowed again.
func (l *linkIndex) begin() {
	l.mu.Lock()
	l.retried = false
	l.mu.Unlock()
}

func (l *linkIndex) refresh() error {
	links, err := dump("links", l.h.nl.LinkList)
	if err != nil {
		return err
	}
	m := make(map[string]int, len(links))
	for _, ln := range links {
		m[ln.Attrs().Name] = ln.Attrs().Index
	}
	for name, idx := range l.byName {
		if m[name] != idx {
			l.gen++
			break
		}
	}
	l.byName, l.stale = m, false
	return nil
}

func (l *linkIndex) index(name string) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stale || l.byName == nil {
		if err := l.refresh(); err != nil {
			return 0, false
		}
	}
	if i, ok := l.byName[name]; ok {
		return i, true
	}
	if l.retried {
		return 0, false
	}
	l.retried = true
	if err := l.refresh(); err != nil {
		return 0, false
	}
	i, ok := l.byName[name]
	return i, ok
}

// nameOf is the name of the link with index idx as of the last dump, for logs.
func (l *linkIndex) nameOf(idx int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, i := range l.byName {
		if i == idx {
			return name
		}
	}
	return "if" + strconv.Itoa(idx)
}
