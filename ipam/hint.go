package ipam

import (
	"bytes"
	"io"
	"strconv"

	"github.com/brindle-net/brindle/store"
)

// The lock file of a block's cross-process turn also carries the block's value as the last
// turn holder left it: key, ModRevision and value. The next holder, typically a fresh CNI
// process that knows nothing yet, can then go straight to its compare-and-swap instead of
// reading the block first, which halves the time each process holds the turn. The hint is
// only ever used as the expected value of a CAS that also compares the value itself, so a
// stale, torn or foreign hint costs one failed transaction and nothing else.

// hint returns the value the previous holder left for key, or nil.
func (t *turn) hint(key string) *store.KV {
	if t.f == nil {
		return nil
	}
	data, err := io.ReadAll(io.NewSectionReader(t.f, 0, 1<<20))
	if err != nil {
		return nil
	}
	k, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || string(k) != key {
		return nil
	}
	r, value, ok := bytes.Cut(rest, []byte{'\n'})
	if !ok {
		return nil
	}
	rev, err := strconv.ParseInt(string(r), 10, 64)
	if err != nil || rev <= 0 || len(value) == 0 {
		return nil
	}
	return &store.KV{Key: key, Value: value, ModRevision: rev}
}

// leaveHint records kv (nil: unknown) for the next holder.
func (t *turn) leaveHint(key string, kv *store.KV) {
	if t.f == nil {
		return
	}
	if err := t.f.Truncate(0); err != nil || kv == nil {
		return
	}
	var b bytes.Buffer
	b.WriteString(key)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(kv.ModRevision, 10))
	b.WriteByte('\n')
	b.Write(kv.Value)
	_, _ = t.f.WriteAt(b.Bytes(), 0)
}
