// Package nodebench measures the node agent as users run it: `bin/brindle node run` in host
// namespaces of the e2e test bed, the embedded datastore, the CNI plugin and iperf3. Every
// benchmark prints a table with its figures next to a baseline measured in the same run (bare
// netlink, a bare etcd watch, host-to-host iperf3), because the machine is shared and busy.
// Needs root and a built binary (`make build`; BRINDLE_BIN=path to use another one).
// BNB_SIZES=0,1000 chooses the cold-start sizes, BNB_RR_CLIENTS=200 the light clients,
// BNB_LOGS=dir keeps every process log, BNB_PROFILE=dir profiles the cold-start agent.
//
//	make build && go test -run XXX -bench . -benchtime 1x -timeout 30m ./bench/node/
package nodebench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// prefix starts every namespace this package creates.
const prefix = "bnb-"

// startCluster builds the bed and starts the datastore; Cleanup stops every process by PID
// and removes every namespace, also on failure (when it prints the tail of each log).
func startCluster(b *testing.B, bed testbed.Options) *cluster.Cluster {
	b.Helper()
	testbed.RequireRoot(b)
	bed.Prefix = prefix
	c, err := cluster.Start(cluster.Options{Bed: bed, Binary: benchutil.BrindleBin(b), WorkDir: b.TempDir()})
	if err != nil {
		b.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(b, 40)
	b.Cleanup(func() { keepLogs(b, c.LogDir()) })
	return c
}

// keepLogs copies the cluster's logs to $BNB_LOGS/<benchmark name>/ when BNB_LOGS is set, to
// read an agent's own account of a run (its log says what it programmed and when).
func keepLogs(b *testing.B, dir string) {
	root := os.Getenv("BNB_LOGS")
	if root == "" {
		return
	}
	dst := filepath.Join(root, strings.ReplaceAll(b.Name(), "/", "_"))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Logf("keeping logs: %v", err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		if raw, err := os.ReadFile(f); err == nil {
			_ = os.WriteFile(filepath.Join(dst, filepath.Base(f)), raw, 0o644)
		}
	}
}

// poolYAML is an IPPool manifest for the benchmarks' pools.
func poolYAML(name, cidr string, blockSize int, ipip, vxlan string) string {
	return fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: %s
spec:
  cidr: %s
  blockSize: %d
  ipipMode: %s
  vxlanMode: %s
  natOutgoing: false
  nodeSelector: all()
`, name, cidr, blockSize, ipip, vxlan)
}

// vmRSS reads VmRSS of a process in KiB.
func vmRSS(pid int) (int64, error) { return benchutil.ProcKiB(pid, "VmRSS:") }

// stats summarises latencies.
type stats struct {
	n                   int
	p50, p90, max, mean time.Duration
}

func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(math.Ceil(p*float64(len(s))))-1] }
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	return stats{n: len(s), p50: q(0.5), p90: q(0.9), max: s[len(s)-1], mean: sum / time.Duration(len(s))}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func splitComma(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
