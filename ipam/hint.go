package ipam

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/brindle-net/brindle/store"
)

// The lock file of a block's cross-process turn also carries the block's value as the last
// turn holder left it: key, ModRevision, length and value, each but the value on its own
// line. It is overwritten in place, never truncated: on a journalling filesystem (the state
// dir is not always a tmpfs) a truncate per turn measurably slowed every allocation. The next holder, typically a fresh CNI
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
	return parseHint(key, data)
}

// peekHint reads the hint of queue key qkey without taking the turn. A writer may be halfway
// through it: callers use it only to decide to read etcd, never to write.
func (q *queue) peekHint(qkey, key string) *store.KV {
	if q == nil || q.dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(q.dir, lockName(qkey)))
	if err != nil {
		return nil
	}
	return parseHint(key, data)
}

func parseHint(key string, data []byte) *store.KV {
	var fields [3][]byte
	for i := range fields {
		var ok bool
		if fields[i], data, ok = bytes.Cut(data, []byte{'\n'}); !ok {
			return nil
		}
	}
	rev, err1 := strconv.ParseInt(string(fields[1]), 10, 64)
	n, err2 := strconv.Atoi(string(fields[2]))
	if string(fields[0]) != key || err1 != nil || err2 != nil || rev <= 0 || n <= 0 || n > len(data) {
		return nil
	}
	return &store.KV{Key: key, Value: data[:n], ModRevision: rev}
}

// leaveHint records kv (nil: unknown) for the next holder.
func (t *turn) leaveHint(key string, kv *store.KV) {
	if t.f == nil {
		return
	}
	var b bytes.Buffer
	b.WriteString(key)
	b.WriteByte('\n')
	if kv == nil {
		b.WriteString("0\n0\n")
	} else {
		fmt.Fprintf(&b, "%d\n%d\n", kv.ModRevision, len(kv.Value))
		b.Write(kv.Value)
	}
	_, _ = t.f.WriteAt(b.Bytes(), 0)
}
