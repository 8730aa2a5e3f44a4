// Package cluster runs a brindle cluster on a testbed: the embedded datastore in the router
// namespace, node agents in host namespaces, containers added through the CNI plugin, and
// the CLI pointed at the datastore. Everything is a real process of one built binary. It is
// shared by the e2e scenarios (test/e2e) and the demo (test/demo), so it reports errors
// instead of failing a test.
package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// EtcdPort is where the datastore listens in the router namespace. It is not 2379 so that a
// stray client pointed at the default can never reach it (and the rule is: never 2379).
const EtcdPort = 12379

// Options describes a cluster.
type Options struct {
	Bed     testbed.Options // Prefix, subnets and hosts; agents are started separately
	Binary  string          // path to the built brindle binary; required
	WorkDir string          // state dirs, logs and etcd data go under it; required
	// Detach starts every process so that it outlives this program (the demo's --keep).
	Detach bool
	// IPv6 makes the CNI plugin assign an IPv6 address (assign_ipv6) to every container;
	// NoIPv4 stops it assigning an IPv4 one (an IPv6-only cluster).
	IPv6, NoIPv4 bool
}

// Cluster is a running test bed with a datastore. Close stops every process it started (by
// PID) and removes every namespace.
type Cluster struct {
	Bed       *testbed.Bed
	Bin       string
	Dir       string
	Endpoints string // ETCD_ENDPOINTS for every client
	CNIDir    string // CNI_PATH: brindle as calico and calico-ipam
	detach    bool
	ipv6      bool
	noIPv4    bool

	mu         sync.Mutex
	etcd       *testbed.Proc
	agents     map[string]*Agent
	containers []*Container
	extra      []*testbed.Proc // other processes (BIRD, ...) stopped on Close
}

// Start builds the bed and starts the datastore. On error nothing is left behind.
func Start(o Options) (*Cluster, error) {
	if o.Binary == "" || o.WorkDir == "" {
		return nil, fmt.Errorf("cluster: Options.Binary and Options.WorkDir are required")
	}
	bin, err := filepath.Abs(o.Binary)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("cluster: brindle binary: %w", err)
	}
	bed, err := testbed.New(o.Bed)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Bed: bed, Bin: bin, Dir: o.WorkDir, agents: map[string]*Agent{}, detach: o.Detach,
		ipv6: o.IPv6, noIPv4: o.NoIPv4}
	if err := c.setup(); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) setup() error {
	for _, d := range []string{"logs", "cni", "etcd"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return err
		}
	}
	c.CNIDir = filepath.Join(c.Dir, "cni")
	for _, name := range []string{"calico", "calico-ipam"} {
		if err := os.Symlink(c.Bin, filepath.Join(c.CNIDir, name)); err != nil {
			return fmt.Errorf("CNI bin dir: %w", err)
		}
	}
	return c.startDatastore()
}

// EtcdAddr is the datastore's client address (the router's leg on subnet 0).
func (c *Cluster) EtcdAddr() netip.AddrPort {
	return netip.AddrPortFrom(c.Bed.RouterAddr(0), EtcdPort)
}

func (c *Cluster) startDatastore() error {
	url := "http://" + c.EtcdAddr().String()
	p, err := c.StartProc(c.Bed.Router, testbed.ProcOptions{
		Name: "datastore", Path: c.Bin, LogDir: c.LogDir(),
		Args: []string{"datastore", "run", "--data-dir", filepath.Join(c.Dir, "etcd"),
			"--listen-client-urls", url, "--listen-peer-urls", "http://127.0.0.1:12380"},
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.etcd = p
	c.mu.Unlock()
	c.Endpoints = url
	// Ready means initialised (cluster information written), which `get clusterinfo` shows.
	// 60 s: under TCG in the VM suite on a loaded machine the embedded server took over 30 s.
	return WaitFor(60*time.Second, "the datastore to answer", func() (bool, string) {
		if !p.Running() {
			return false, "datastore exited: " + p.Logs()
		}
		out, err := c.Ctl(nil, "get", "clusterinformation", "default", "-o", "yaml")
		return err == nil, out
	})
}

// StopDatastore stops the datastore by PID: an etcd outage. Its data stays for
// StartDatastore.
func (c *Cluster) StopDatastore() error {
	c.mu.Lock()
	p := c.etcd
	c.etcd = nil
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("the datastore is not running")
	}
	return p.Stop(10 * time.Second)
}

// StartDatastore starts the datastore again after StopDatastore, on the same data dir and
// address, and waits until it answers.
func (c *Cluster) StartDatastore() error {
	c.mu.Lock()
	running := c.etcd != nil
	c.mu.Unlock()
	if running {
		return fmt.Errorf("the datastore is already running")
	}
	return c.startDatastore()
}

// LogDir holds one log file per process.
func (c *Cluster) LogDir() string { return filepath.Join(c.Dir, "logs") }

// Host returns the named host or nil.
func (c *Cluster) Host(name string) *testbed.Host { return c.Bed.Host(name) }

// HostPort is the fabric-side port of a host's uplink (the place to capture its traffic).
func (c *Cluster) HostPort(name string) string {
	for i, h := range c.Bed.Hosts {
		if h.HostName == name {
			return fmt.Sprintf("h%d", i)
		}
	}
	return ""
}

// StartProc starts a long-lived process in n (detached if the cluster is). The caller tracks it.
func (c *Cluster) StartProc(n *testbed.Netns, o testbed.ProcOptions) (*testbed.Proc, error) {
	if c.detach {
		return n.StartDetached(o)
	}
	return n.Start(o)
}

// Track makes Close stop p (by PID) before removing the namespaces.
func (c *Cluster) Track(p *testbed.Proc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.extra = append(c.extra, p)
}

// Close removes containers (namespaces only: the datastore goes away with the cluster),
// stops agents, other processes and the datastore by PID, then deletes the bed.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, ct := range c.containers {
		errs = append(errs, ct.NS.Close())
	}
	c.containers = nil
	for _, a := range c.agents {
		errs = append(errs, a.stop())
	}
	c.agents = map[string]*Agent{}
	for _, p := range c.extra {
		errs = append(errs, p.Stop(5*time.Second))
	}
	c.extra = nil
	if c.etcd != nil {
		errs = append(errs, c.etcd.Stop(10*time.Second))
		c.etcd = nil
	}
	if c.Bed != nil {
		errs = append(errs, c.Bed.Close())
	}
	return errors.Join(errs...)
}

// WaitFor polls cond every 50 ms until it holds or timeout passes; the error carries the
// last detail cond returned.
func WaitFor(timeout time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s: %s", timeout, what, detail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
