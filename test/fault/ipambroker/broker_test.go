// Package ipambroker tries hard to make the IPAM broker (cni/broker.go) hand out an address
// twice: bursts of calico-ipam ADDs, a process each, on two hosts sharing one pool at once,
// one host through its node agent's socket and one going to etcd itself, with the agent
// killed (SIGKILL) in the middle of its burst; then retried ADDs, DELs and `brindle ipam
// check`. Real etcd (the datastore process), real agents, real plugin processes in the test
// bed's host namespaces. Needs root. BRINDLE_E2E_BIN=path reuses a built (lean or full)
// brindle; BRINDLE_FAULT_N sets the calls per host and burst (default 40).
package ipambroker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	testBin.Remove()
	os.Exit(code)
}

func brindleBin(t *testing.T) string { return testBin.Path(t) }

type host struct {
	cl    *cluster.Cluster
	h     *testbed.Host
	name  string
	state string
	log   string
}

func (h *host) conf() []byte {
	c, _ := json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": "fbroker", "type": "calico", "datastore_type": "etcdv3",
		"etcd_endpoints": h.cl.Endpoints, "nodename": h.name, "state_dir": h.state,
		"log_level": "debug", "log_file_path": h.log,
		"ipam": map[string]any{"type": "calico-ipam", "ipv4_pools": []string{"10.241.0.0/16"}},
	})
	return c
}

// call runs one calico-ipam verb in the host's namespace; ADD returns the address.
func (h *host) call(verb, id, broker string) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, filepath.Join(h.cl.CNIDir, "calico-ipam"))
	c.Env = []string{"CNI_COMMAND=" + verb, "CNI_CONTAINERID=" + id, "CNI_NETNS=/var/run/netns/fbroker-unused",
		"CNI_IFNAME=eth0", "CNI_PATH=" + h.cl.CNIDir, "BRINDLE_STATE_DIR=" + h.state, "BRINDLE_IPAM_BROKER=" + broker}
	c.Stdin = bytes.NewReader(h.conf())
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := h.h.StartCmd(c)
	if err == nil {
		err = c.Wait()
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s %s: %v: %s %s", verb, id, err, stdout.Bytes(), stderr.Bytes())
	}
	if verb != "ADD" {
		return netip.Addr{}, nil
	}
	var res struct {
		IPs []struct{ Address string } `json:"ips"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.IPs) != 1 {
		return netip.Addr{}, fmt.Errorf("ADD %s: result %s: %v", id, stdout.Bytes(), err)
	}
	p, err := netip.ParsePrefix(res.IPs[0].Address)
	return p.Addr(), err
}

// burst runs ADD for every id at once; done(i) is called as each one ends.
func (h *host) burst(t *testing.T, ids []string, broker string, done func()) map[string]netip.Addr {
	got := map[string]netip.Addr{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := h.call("ADD", id, broker)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			got[id] = a
			mu.Unlock()
			if done != nil {
				done()
			}
		}()
	}
	wg.Wait()
	return got
}

func TestBrokerNoDuplicates(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	n := 40
	if v, err := strconv.Atoi(os.Getenv("BRINDLE_FAULT_N")); err == nil && v > 0 {
		n = v
	}
	cl, err := cluster.Start(cluster.Options{WorkDir: t.TempDir(), Binary: brindleBin(t),
		Bed: testbed.Options{Prefix: "fipb-", Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	cl.CloseWhenDone(t, 40)
	hosts := map[string]*host{}
	for _, name := range []string{"node1", "node2"} {
		if _, err := cl.StartAgent(name, cluster.AgentOptions{NoBGP: true}); err != nil {
			t.Fatal(err)
		}
		hosts[name] = &host{cl: cl, h: cl.Host(name), name: name, state: cl.StateDir(name), log: filepath.Join(cl.LogDir(), "ipam-"+name+".log")}
	}
	// A small block size, so that the bursts fill blocks and claim new ones while they race.
	if err := cl.Apply(`{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"fbroker"},"spec":{"cidr":"10.241.0.0/16","blockSize":29,"nodeSelector":"all()"}}`); err != nil {
		t.Fatal(err)
	}
	ids := func(host, what string) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%s-%03d", host, what, i))
		}
		return out
	}
	all := map[string]netip.Addr{}
	record := func(got map[string]netip.Addr) {
		for id, a := range got {
			all[id] = a
		}
	}

	// 1. Both hosts at once: node1 through its agent, node2 going to etcd itself.
	var wg sync.WaitGroup
	var g1, g2 map[string]netip.Addr
	wg.Add(2)
	go func() { defer wg.Done(); g1 = hosts["node1"].burst(t, ids("node1", "a"), "", nil) }()
	go func() { defer wg.Done(); g2 = hosts["node2"].burst(t, ids("node2", "a"), "off", nil) }()
	wg.Wait()
	record(g1)
	record(g2)
	if served := strings.Count(readFile(t, hosts["node1"].log), "served by the node agent"); served == 0 {
		t.Fatalf("no ADD on node1 was served by its agent; the broker path was not tested")
	}

	// 2. node1's agent killed in the middle of node1's burst, node2's burst through its agent.
	agent := cl.Agent("node1")
	var once sync.Once
	var count int
	var mu sync.Mutex
	kill := func() {
		mu.Lock()
		count++
		c := count
		mu.Unlock()
		if c == n/5 {
			once.Do(func() {
				if err := syscall.Kill(agent.Proc.PID, syscall.SIGKILL); err != nil {
					t.Errorf("killing the agent: %v", err)
				}
			})
		}
	}
	wg.Add(2)
	go func() { defer wg.Done(); g1 = hosts["node1"].burst(t, ids("node1", "b"), "", kill) }()
	go func() { defer wg.Done(); g2 = hosts["node2"].burst(t, ids("node2", "b"), "", nil) }()
	wg.Wait()
	record(g1)
	record(g2)
	if t.Failed() {
		t.FailNow()
	}
	if !strings.Contains(readFile(t, hosts["node1"].log), "did not serve") {
		t.Errorf("no ADD on node1 fell back after the agent was killed")
	}

	// No address twice, across hosts and bursts.
	seen := map[netip.Addr]string{}
	for id, a := range all {
		if !a.IsValid() {
			t.Fatalf("%s got no address", id)
		}
		if other, dup := seen[a]; dup {
			t.Fatalf("duplicate address %s: %s and %s", a, other, id)
		}
		seen[a] = id
	}
	if len(seen) != 4*n {
		t.Fatalf("%d distinct addresses for %d ADDs", len(seen), 4*n)
	}
	ipamCheck(t, cl)

	// 3. A runtime's retry of an ADD gets the same address, through either path.
	for i, id := range []string{"node1-b-000", "node1-a-001", "node2-b-002"} {
		h := hosts[strings.SplitN(id, "-", 2)[0]]
		broker := []string{"", "off", ""}[i]
		a, err := h.call("ADD", id, broker)
		if err != nil {
			t.Fatal(err)
		}
		if a != all[id] {
			t.Fatalf("repeated ADD %s: %s, first ADD gave %s", id, a, all[id])
		}
	}

	// 4. Every DEL, then nothing is held.
	for id := range all {
		h := hosts[strings.SplitN(id, "-", 2)[0]]
		if _, err := h.call("DEL", id, ""); err != nil {
			t.Fatal(err)
		}
	}
	if out := ipamCheck(t, cl); !strings.Contains(out, " 0 allocated addresses") {
		t.Fatalf("addresses still allocated after every DEL:\n%s", out)
	}
}

func ipamCheck(t *testing.T, cl *cluster.Cluster) string {
	t.Helper()
	out, err := cl.Ctl(nil, "ipam", "check")
	if err != nil || !strings.Contains(out, "No problems found") {
		t.Fatalf("brindle ipam check: %v\n%s", err, out)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
