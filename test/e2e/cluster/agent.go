package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// HealthPort is the agents' health port; every host is its own namespace, so they share it.
const HealthPort = 9099

// AgentOptions chooses how a host's agent runs.
type AgentOptions struct {
	// Felix runs `brindle felix` (dataplane only) instead of `brindle node run`.
	Felix bool
	// NoBGP passes --bgp=false: routes to remote blocks come from the datastore.
	NoBGP bool
	AS    uint32 // --as, 0 = inherit from BGPConfiguration
	// Autodetect, if set, is the --ip-autodetection-method (Calico's first-found,
	// can-reach=<ip>, interface=<regex>, ...) used instead of giving --ip the host's address.
	Autodetect string
	Extra      []string // more flags
	// Wrap runs the agent through a command (e.g. setpriv with a unit's capabilities):
	// Wrap[0] is executed with Wrap[1:], the binary and its arguments.
	Wrap []string
}

// Agent is one host's node agent.
type Agent struct {
	Host     *testbed.Host
	StateDir string
	Opts     AgentOptions
	Proc     *testbed.Proc
}

// StateDir is where the host's agent keeps nodename, mtu and its status socket.
func (c *Cluster) StateDir(host string) string { return filepath.Join(c.Dir, "state", host) }

// Agent returns the host's running agent, or nil.
func (c *Cluster) Agent(host string) *Agent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agents[host]
}

// StartAgent starts the host's agent and waits until /readiness says it finished its first
// sync. An agent already running there is an error.
func (c *Cluster) StartAgent(host string, o AgentOptions) (*Agent, error) {
	a, err := c.LaunchAgent(host, o)
	if err != nil {
		return a, err
	}
	if err := a.WaitReady(60 * time.Second); err != nil {
		return a, err
	}
	return a, nil
}

// LaunchAgent starts the host's agent without waiting for it to be ready (it may have no
// datastore to sync with).
func (c *Cluster) LaunchAgent(host string, o AgentOptions) (*Agent, error) {
	h := c.Host(host)
	if h == nil {
		return nil, fmt.Errorf("no host %q in the bed", host)
	}
	if c.Agent(host) != nil {
		return nil, fmt.Errorf("an agent already runs on %s", host)
	}
	a := &Agent{Host: h, StateDir: c.StateDir(host), Opts: o}
	if err := os.MkdirAll(a.StateDir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"node", "run"}
	if o.Felix {
		args = []string{"felix"}
	}
	args = append(args, "--name", host, "--state-dir", a.StateDir, "--health-port", strconv.Itoa(HealthPort))
	if o.Autodetect != "" {
		args = append(args, "--ip", "autodetect", "--ip-autodetection-method", o.Autodetect)
	} else {
		args = append(args, "--ip", h.Addr.String())
	}
	if o.NoBGP {
		args = append(args, "--bgp=false")
	}
	if o.AS != 0 {
		args = append(args, "--as", strconv.FormatUint(uint64(o.AS), 10))
	}
	args = append(args, o.Extra...)
	path := c.Bin
	if len(o.Wrap) > 0 {
		path, args = o.Wrap[0], append(append(append([]string{}, o.Wrap[1:]...), c.Bin), args...)
	}
	p, err := c.StartProc(h.Netns, testbed.ProcOptions{Name: "agent-" + host, Path: path, Args: args, LogDir: c.LogDir(),
		Env: []string{"ETCD_ENDPOINTS=" + c.Endpoints, "BRINDLE_STATE_DIR=" + a.StateDir}})
	if err != nil {
		return nil, err
	}
	a.Proc = p
	c.mu.Lock()
	c.agents[host] = a
	c.mu.Unlock()
	return a, nil
}

// StopAgent stops the host's agent by PID (SIGTERM, then SIGKILL after a grace period).
func (c *Cluster) StopAgent(host string) error {
	c.mu.Lock()
	a := c.agents[host]
	delete(c.agents, host)
	c.mu.Unlock()
	if a == nil {
		return fmt.Errorf("no agent runs on %s", host)
	}
	return a.stop()
}

// RestartAgent stops the host's agent and starts it again with the same options.
func (c *Cluster) RestartAgent(host string) (*Agent, error) {
	a := c.Agent(host)
	if a == nil {
		return nil, fmt.Errorf("no agent runs on %s", host)
	}
	if err := c.StopAgent(host); err != nil {
		return nil, err
	}
	return c.StartAgent(host, a.Opts)
}

func (a *Agent) stop() error {
	if a.Proc == nil {
		return nil
	}
	return a.Proc.Stop(10 * time.Second)
}

// WaitReady polls the agent's /readiness until it answers 200.
func (a *Agent) WaitReady(timeout time.Duration) error {
	return WaitFor(timeout, "agent on "+a.Host.HostName+" to be ready", func() (bool, string) {
		if !a.Proc.Running() {
			return false, fmt.Sprintf("agent exited (%v); log:\n%s", a.Proc.ExitErr(), tail(a.Proc.Logs(), 40))
		}
		code, err := httpGet(a.Host.Netns, netAddr(HealthPort), "/readiness")
		if err != nil {
			return false, err.Error()
		}
		return code == 200, fmt.Sprintf("/readiness answered %d", code)
	})
}

// Ready asks the agent's /readiness once: true on 200, false on 503.
func (a *Agent) Ready() (bool, error) {
	code, err := httpGet(a.Host.Netns, netAddr(HealthPort), "/readiness")
	if err != nil {
		return false, err
	}
	return code == 200, nil
}

func netAddr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// httpGet does a minimal HTTP/1.0 GET over a socket opened inside n (Go's HTTP client would
// dial from whatever thread it likes, outside the namespace).
func httpGet(n *testbed.Netns, addr, path string) (int, error) {
	var conn net.Conn
	err := n.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, time.Second)
		return err
	})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	return strconv.Atoi(f[1])
}

// NodeStatus runs `brindle node status` in the host's namespace, the way an operator would
// on that host (the agent's socket is found through BRINDLE_STATE_DIR).
func (c *Cluster) NodeStatus(host string) (string, error) {
	h := c.Host(host)
	if h == nil {
		return "", fmt.Errorf("no host %q", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return h.Run(ctx, testbed.RunOptions{Path: c.Bin, Args: []string{"node", "status"},
		Env: []string{"BRINDLE_STATE_DIR=" + c.StateDir(host)}})
}

// PodMTU is the workload MTU the host's agent wrote for the CNI plugin.
func (c *Cluster) PodMTU(host string) (int, error) {
	b, err := os.ReadFile(filepath.Join(c.StateDir(host), "mtu"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
