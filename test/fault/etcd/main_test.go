// Package etcdfault is issue #16's datastore fault suite: three `brindle datastore run`
// members in namespaces of their own, agents with BGP in three hosts, containers added and
// removed through the CNI plugin all along, pings between existing containers, and faults
// in sequence: the leader killed, a member partitioned from its peers, the whole cluster
// down, one host cut off from the datastore. Needs root. BRINDLE_E2E_BIN=path reuses a
// built binary; BRINDLE_FAULT_OUTAGE (a Go duration, default 60s) sets how long the
// cluster stays down and the host stays cut off (`make test-faults-long` runs longer ones).
package etcdfault

import (
	"os"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func brindleBin(t *testing.T) string { return testBin.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testBin.Remove()
	os.Exit(code)
}

// outage is how long the cluster stays down and the host stays cut off.
func outage(t *testing.T) time.Duration {
	s := os.Getenv("BRINDLE_FAULT_OUTAGE")
	if s == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		t.Fatalf("BRINDLE_FAULT_OUTAGE=%q: want a Go duration of at least 1s", s)
	}
	return d
}
