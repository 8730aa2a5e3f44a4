package node

import (
	"os"
	"runtime/debug"
	"time"

	"go.uber.org/zap"
)

// steadyGCPercent is the agent's GOGC once it has programmed its first full view. The
// default (100) lets the heap grow to twice the live data before collecting, which at
// 10,000 remote nodes is the larger part of the RSS; the agent allocates little per change
// afterwards, so collecting at +50% costs a few milliseconds of CPU now and then. A GC
// percentage (rather than a memory limit) cannot thrash: the goal always stays above the
// live heap, whatever the cluster grows to.
const steadyGCPercent = 50

// userTunedGC reports whether the operator set GOGC or GOMEMLIMIT: then the runtime does
// exactly what they asked and the agent changes nothing.
func userTunedGC() bool {
	return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != ""
}

// settleMemory runs once, after the first sync: the cold start's transient allocations
// (the list of every key, decoded resources, the first full route computation) are garbage
// by then, so one forced collection hands their pages back to the kernel instead of
// leaving them to the background scavenger, and the steadier GC percentage takes over.
func (a *Agent) settleMemory() {
	if userTunedGC() {
		return
	}
	start := time.Now()
	debug.SetGCPercent(steadyGCPercent)
	debug.FreeOSMemory()
	a.log.Debug("memory settled after the first sync", zap.Duration("took", time.Since(start)))
}
