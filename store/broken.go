package store

import (
	"fmt"
	"sync"

	"go.uber.org/zap"
)

// A value written by hand (etcdctl put) or by a buggy client may not decode. One such record
// must not fail a whole listing: every pool list, every CNI ADD on every host, every agent
// would stop on it. Readers skip it and report it here, which warns once per key and
// revision (a re-list or a resync finds it again and stays quiet; a new bad value at the
// same key warns again).

// BrokenRecord is a stored value that could not be decoded.
type BrokenRecord struct {
	Key         string
	ModRevision int64
	Err         error
}

func (b BrokenRecord) Error() string {
	return fmt.Sprintf("%s (revision %d) does not decode, skipped: %v", b.Key, b.ModRevision, b.Err)
}

// brokenLog remembers the revision each broken key was reported at.
type brokenLog struct {
	mu   sync.Mutex
	seen map[string]int64
}

// ReportBroken warns that key at revision rev does not decode and is skipped, once per key
// and revision for this client. It returns the record, for callers that also show it.
func (c *Client) ReportBroken(key string, rev int64, err error) BrokenRecord {
	b := BrokenRecord{Key: key, ModRevision: rev, Err: err}
	c.broken.mu.Lock()
	if c.broken.seen == nil {
		c.broken.seen = map[string]int64{}
	}
	first := c.broken.seen[key] != rev
	c.broken.seen[key] = rev
	c.broken.mu.Unlock()
	if first {
		c.log.Warn("skipping a stored record that does not decode; fix or delete the key",
			zap.String("key", key), zap.Int64("revision", rev), zap.Error(err))
	}
	return b
}
