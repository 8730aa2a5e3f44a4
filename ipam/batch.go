package ipam

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/brindle-net/brindle/store"
	"golang.org/x/sys/unix"
)

// Combined block writes. Taking turns (queue.go) stops writers of one block from colliding,
// but the block still takes one transaction - one raft commit and one fsync - per address,
// one after another: 100 CNI processes started at once on a host queue for about 100 commit
// times. So a request for a fresh handle first posts itself in the block's batch directory,
// then waits for the turn; whoever gets the turn takes every request posted by then, assigns
// all of them in one block write (each handle created in the same transaction), and leaves
// each poster its result. A poster that gets the turn and finds its result is done without
// touching etcd.
//
// Correctness still rests on the transaction alone: the block CAS, and each handle created
// only if absent. The files only decide who writes. A request is claimed by renaming it
// (atomic, so a claim and a withdrawal cannot both succeed); a claimed request whose result
// never comes (the claimer died) is settled from etcd: the handle exists only if the write
// that assigned its addresses committed.

// batchReq is a posted request.
type batchReq struct {
	ID     string            `json:"id"` // this attempt's, so a stale result is never taken
	Handle string            `json:"handle"`
	Num    int               `json:"num"`
	Attrs  map[string]string `json:"attrs"`
}

// batchResult is what the claimer leaves for a poster.
type batchResult struct {
	ID   string       `json:"id"`
	IPs  []netip.Addr `json:"ips,omitempty"`
	Fail bool         `json:"fail,omitempty"` // not served: assign on your own
}

// batchOp makes a block write combinable: the request, and how the writer judges the block.
type batchOp struct {
	req      batchReq
	accept   func(b *Block, full bool) bool
	reserved func(netip.Addr) bool
	served   func(ips []netip.Addr) // receives the addresses when the batch path served it
}

// maxBatch bounds the requests one write takes (a block has 64 addresses by default).
const maxBatch = 64

// batchDir is the directory where requests for block cidr are posted ("" without one).
func (q *queue) batchDir(cidr netip.Prefix) string {
	if q == nil || q.dir == "" || q.mode != QueueOn {
		return ""
	}
	d := filepath.Join(q.dir, "batch-"+lockName(cidr.String()))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return ""
	}
	return d
}

func reqName(handle string) string {
	s := sha256.Sum256([]byte(handle))
	return hex.EncodeToString(s[:12])
}

// casBatched posts op's request and takes the block's turn. done is true when the request
// was served (by this writer's combined write or another's); false means: write on your own
// (the turn is released again; noTurn says it could not be had, so do not wait again).
func (a *Allocator) casBatched(ctx context.Context, op blockOp, keys blockKeys) (done, noTurn bool, err error) {
	dir := a.q.batchDir(op.cidr)
	if dir == "" {
		return false, false, nil
	}
	name := filepath.Join(dir, reqName(op.batch.req.Handle))
	if err := writeAtomic(name+".req", op.batch.req); err != nil {
		return false, false, nil
	}
	// Wait for the turn or for a claimer to ring: a served request needs no turn, so the
	// posters a combined write served do not each wake up in turn just to read their result.
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	if b := newBell(name); b != nil {
		defer b.close()
		go func() {
			b.wait()
			stop()
		}()
	}
	var t *turn
	for {
		t = a.q.acquire(tctx, "block/"+op.cidr.String())
		if res, ok := readResult(name, op.batch.req.ID); ok {
			t.done()
			return a.takeResult(op, name, res)
		}
		if t.f != nil {
			defer t.done()
			break
		}
		t.done()
		// No turn: withdraw, unless a claimer has taken the request already; then its
		// result comes (or, should it die, its turn: then etcd settles it, below).
		if os.Remove(name+".req") == nil {
			return false, true, nil
		}
		if _, err := os.Stat(name + ".claimed"); err != nil {
			return false, true, nil // gone altogether (the directory was cleared): on our own
		}
		if err := ctx.Err(); err != nil {
			return false, false, err
		}
	}
	if err := os.Rename(name+".req", name+".claimed"); err != nil {
		// Claimed, no result, and we hold the turn: the claimer died. etcd knows whether
		// its write committed.
		return a.settleOrphan(ctx, op, keys, name)
	}
	return a.combine(ctx, op, keys, t, dir, name)
}

// settleOrphan settles a request whose claimer died before leaving a result, while holding
// the turn (so no live claimer can still write): the handle exists only if the claimer's
// write committed, and then the block says which addresses it took.
func (a *Allocator) settleOrphan(ctx context.Context, op blockOp, keys blockKeys, name string) (bool, bool, error) {
	os.Remove(name + ".claimed")
	var bkv, hkv *store.KV
	if err := a.readBlockHandle(ctx, keys.block, keys.handle, &bkv, &hkv); err != nil {
		return false, false, err
	}
	if hkv == nil {
		return false, false, nil // not committed: write on our own
	}
	b, err := decodeBlockKV(bkv)
	if err != nil || b == nil {
		return false, false, err
	}
	var ips []netip.Addr
	for _, ord := range b.ordinalsOfHandle(op.batch.req.Handle) {
		ips = append(ips, OrdinalAddr(b.prefix, ord))
	}
	op.batch.served(ips)
	op.hint.known = false
	return true, false, nil
}

func (a *Allocator) takeResult(op blockOp, name string, res batchResult) (bool, bool, error) {
	os.Remove(name + ".done")
	os.Remove(name + ".claimed")
	if res.Fail {
		return false, false, nil
	}
	op.batch.served(res.IPs)
	op.hint.known = false // the handle was written by someone else
	return true, false, nil
}

// writeAtomic writes v as JSON to path through a rename, so readers see all of it or nothing.
func writeAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readResult reads the result left for request id; a result for another attempt (left for
// a poster that gave up waiting) is removed and ignored.
func readResult(name, id string) (batchResult, bool) {
	var r batchResult
	data, err := os.ReadFile(name + ".done")
	if err != nil {
		return r, false
	}
	if json.Unmarshal(data, &r) != nil || r.ID != id {
		os.Remove(name + ".done")
		return r, false
	}
	return r, true
}

var errBatchHandle = errors.New("a batched handle exists")

// batchID names one request attempt.
func batchID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// bell is a poster's doorbell: a FIFO the claimer writes a byte to once the result is there.
type bell struct {
	f    *os.File
	path string
}

func newBell(name string) *bell {
	p := name + ".bell"
	os.Remove(p)
	if unix.Mkfifo(p, 0o600) != nil {
		return nil
	}
	// Read-write, so that reading blocks until a byte comes instead of seeing end-of-file
	// while no writer has the FIFO open.
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		os.Remove(p)
		return nil
	}
	return &bell{f: f, path: p}
}

// wait returns once the bell rang or was closed.
func (b *bell) wait() {
	var x [1]byte
	_, _ = b.f.Read(x[:])
}

func (b *bell) close() {
	os.Remove(b.path)
	b.f.Close()
}

// ring wakes the poster of name, if it is still waiting (no reader: nothing to do).
func ring(name string) {
	f, err := os.OpenFile(name+".bell", os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	_, _ = f.Write([]byte{1})
	f.Close()
}
