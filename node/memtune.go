package node

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"go.uber.org/zap"
)

// The agent's GC pacing once it has programmed its first full view. The default GOGC (100)
// lets the heap grow to twice the live data before collecting, which at 10,000 remote nodes
// was the larger part of the RSS. After each sync the agent sets the percentage so that the
// heap may grow by gcHeadroom over the live data, but by no less than minGCPercent and no
// more than 100: a large view gets +25% (a change allocates little, so collections stay
// rare), a small one keeps Go's usual pacing. A percentage, unlike a memory limit, cannot
// thrash: the goal always stays above the live heap, whatever the cluster grows to.
const (
	gcHeadroom   = 4 << 20
	minGCPercent = 25
)

// memTuner holds the pacing state; it is used from the event loop only.
type memTuner struct {
	off     bool // GOGC or GOMEMLIMIT set by the operator: change nothing
	settled bool
	percent int
	sample  []metrics.Sample
}

func newMemTuner() *memTuner {
	return &memTuner{off: os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "", percent: 100,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
}

// afterSync runs after each successful sync. The first time, the cold start's transient
// allocations (the list of every key, decoded resources, the first full computation) are
// garbage: one forced collection hands their pages back to the kernel instead of leaving
// them to the background scavenger.
func (m *memTuner) afterSync(log *zap.Logger) {
	if m.off {
		return
	}
	if !m.settled {
		m.settled = true
		start := time.Now()
		debug.FreeOSMemory()
		log.Debug("memory released after the first sync", zap.Duration("took", time.Since(start)))
	}
	metrics.Read(m.sample)
	if m.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if p := gcPercentFor(m.sample[0].Value.Uint64()); p != m.percent {
		m.percent = p
		debug.SetGCPercent(p)
	}
}

// gcPercentFor is the GC percentage that allows gcHeadroom of growth over live bytes,
// within [minGCPercent, 100].
func gcPercentFor(live uint64) int {
	if live == 0 {
		return 100
	}
	return int(min(max(gcHeadroom*100/live, minGCPercent), 100))
}
