// Package policyagent measures network policy as users run it (issue #11): `bin/brindle node
// run` in a host namespace of the e2e test bed, records written into the embedded datastore,
// and the kernel watched from outside the agent. Figures go into printed tables next to a
// baseline of the same run (nft -f of the agent's own ruleset, a bare etcd watch, the same pods
// without policy); nothing is asserted on time. Needs root and `make build`
// (BRINDLE_BIN=path for another binary). BPA_POLICIES / BPA_ENDPOINTS change the scale;
// BRINDLE_LOG_LEVEL=debug (inherited by the agent) and BPA_LOGS=dir keep the agent's own
// account of each sync (its "dataplane applied" and "policy applied" durations).
//
//	make build && go test -run XXX -bench . -benchtime 1x -timeout 30m ./bench/policyagent/
package policyagent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// prefix starts every namespace this package creates.
const prefix = "bpa-"

var subnet = netip.MustParsePrefix("172.30.9.0/24")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func startCluster(b *testing.B, hosts ...string) *cluster.Cluster {
	b.Helper()
	testbed.RequireRoot(b)
	var hs []testbed.HostOptions
	for _, h := range hosts {
		hs = append(hs, testbed.HostOptions{Name: h})
	}
	c, err := cluster.Start(cluster.Options{Bed: testbed.Options{Prefix: prefix, Subnets: []netip.Prefix{subnet}, Hosts: hs},
		Binary: benchutil.BrindleBin(b), WorkDir: b.TempDir()})
	if err != nil {
		b.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(b, 40)
	if dir := os.Getenv("BPA_LOGS"); dir != "" {
		b.Cleanup(func() {
			dst := filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_"))
			os.MkdirAll(dst, 0o755)
			files, _ := filepath.Glob(filepath.Join(c.LogDir(), "*.log"))
			for _, f := range files {
				if raw, err := os.ReadFile(f); err == nil {
					os.WriteFile(filepath.Join(dst, filepath.Base(f)), raw, 0o644)
				}
			}
		})
	}
	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: bench-pool}
spec: {cidr: 10.65.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never, nodeSelector: all()}
`); err != nil {
		b.Fatal(err)
	}
	return c
}

func decode[T any](b *testing.B, s string) T {
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		b.Fatalf("%v: %s", err, s)
	}
	return v
}

// gnp is policy i of the scale: three rules with selectors and ports, selecting the
// endpoints of app a<i%50> (20 policies per app).
func gnp(b *testing.B, i, port int) *api.GlobalNetworkPolicy {
	return decode[*api.GlobalNetworkPolicy](b, fmt.Sprintf(`{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3",
	"metadata":{"name":"p%d"},"spec":{"order":%d,"selector":"app == 'a%d'","types":["Ingress","Egress"],
	"ingress":[{"action":"Allow","protocol":"TCP","source":{"selector":"role == 'r%d'"},"destination":{"ports":[%d]}},
	           {"action":"Allow","protocol":"UDP","destination":{"ports":[53,"1000:2000"]}}],
	"egress":[{"action":"Deny","destination":{"nets":["10.99.%d.0/24"]}}]}}`, i, i, i%50, i%20, port, i%250))
}

// wepIface is the host-side interface of endpoint j.
func wepIface(j int) string { return fmt.Sprintf("cali%011d", j) }

func wepAddr(j int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 65, byte(j / 250), byte(j%250 + 1)})
}

func wep(b *testing.B, node string, j int, app string) *api.WorkloadEndpoint {
	return decode[*api.WorkloadEndpoint](b, fmt.Sprintf(`{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3",
	"metadata":{"name":"%s-cni-c%d-eth0","namespace":"default","labels":{"app":"%s","role":"r%d"}},
	"spec":{"node":"%s","orchestrator":"cni","workload":"c%d","containerID":"c%d","endpoint":"eth0","interfaceName":"%s",
	"ipNetworks":["%s/32"],"profiles":["net1"]}}`, node, j, app, j%20, node, j, j, wepIface(j), wepAddr(j)))
}

const profile = `{"kind":"Profile","apiVersion":"projectcalico.org/v3","metadata":{"name":"net1"},"spec":{"egress":[{"action":"Allow"}],
	"ingress":[{"action":"Allow","source":{"selector":"has(net1)"}}],"labelsToApply":{"net1":""}}}`

// writeAll applies resources one by one (a user's apply, not a bulk load).
func writeAll(ctx context.Context, st *store.Client, rs []api.Resource) error {
	for _, r := range rs {
		if _, err := st.Apply(ctx, r); err != nil {
			return fmt.Errorf("writing %s: %w", r.GetObjectMeta().Name, err)
		}
	}
	return nil
}

type stats struct {
	n             int
	p50, p90, max time.Duration
}

func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return stats{n: len(s), p50: s[len(s)/2], p90: s[len(s)*9/10], max: s[len(s)-1]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// bareWatch is the baseline of a change: an etcd write to its delivery on a plain watch of
// the same datastore, n times.
func bareWatch(ctx context.Context, st *store.Client, n int) ([]time.Duration, error) {
	ec := st.Etcd()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := ec.Watch(wctx, "/bpa-watch/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	<-wch // created: writes from now on are delivered
	var ds []time.Duration
	for i := range n {
		t0 := time.Now()
		if _, err := ec.Put(ctx, fmt.Sprintf("/bpa-watch/%d", i), "x"); err != nil {
			return nil, err
		}
		select {
		case <-wch:
			ds = append(ds, time.Since(t0))
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("bare watch: no event")
		}
	}
	_, err := ec.Delete(ctx, "/bpa-watch/", clientv3.WithPrefix())
	return ds, err
}
