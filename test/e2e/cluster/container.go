package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// Container is a workload: a network namespace wired by the CNI plugin.
type Container struct {
	Name     string // also its CNI_CONTAINERID
	Host     string
	NS       *testbed.Netns
	IP       netip.Addr // IPv4 address; invalid in an IPv6-only cluster
	IP6      netip.Addr // IPv6 address when the cluster assigns one
	HostVeth string     // the cali* interface on the host
	Opts     ContainerOptions
}

// ContainerOptions are what a runtime passes besides the container: the CNI network (conf
// name) and, in CNI_ARGS, the namespace and labels (docs/cni.md).
type ContainerOptions struct {
	Network   string            // conf "name"; "" = brindle-e2e
	Namespace string            // K8S_POD_NAMESPACE; "" = none (the endpoint's is "default")
	Labels    map[string]string // BRINDLE_LABELS
	// PortMappings, when set, wire the container through the seed's chain (calico, then
	// Debian's portmap plugin) run by cnitool; see cniChain.
	PortMappings []PortMapping
	Conf         map[string]any // extra CNI conf fields (e.g. etcd certificate files)
	Env          []string       // extra environment of the plugin (e.g. ETCD_USERNAME)
}

func (o ContainerOptions) network() string {
	if o.Network == "" {
		return "brindle-e2e"
	}
	return o.Network
}

// cniArgs is CNI_ARGS for the options (keys sorted so a call is reproducible).
func (o ContainerOptions) cniArgs() string {
	var args []string
	if o.Namespace != "" {
		args = append(args, "K8S_POD_NAMESPACE="+o.Namespace)
	}
	if len(o.Labels) > 0 {
		var kv []string
		for k, v := range o.Labels {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		args = append(args, "BRINDLE_LABELS="+strings.Join(kv, ","))
	}
	return strings.Join(args, ";")
}

func (ct *Container) String() string {
	if !ct.IP.IsValid() {
		return fmt.Sprintf("%s@%s(%s)", ct.Name, ct.Host, ct.IP6)
	}
	return fmt.Sprintf("%s@%s(%s)", ct.Name, ct.Host, ct.IP)
}

// Addr is the container's address of one family (IPv4 when v4, else IPv6).
func (ct *Container) Addr(v4 bool) netip.Addr {
	if v4 {
		return ct.IP
	}
	return ct.IP6
}

// cniConf is the calico plugin entry a host would have in /etc/cni/net.d for etcd mode. The
// MTU is left out so the plugin reads the one the agent wrote into the state dir.
func (c *Cluster) cniConf(host, network string) []byte {
	conf := map[string]any{
		"cniVersion":     "1.0.0",
		"name":           network,
		"type":           "calico",
		"datastore_type": "etcdv3",
		"etcd_endpoints": c.Endpoints,
		"nodename":       host,
		"state_dir":      c.StateDir(host),
		"log_level":      "info",
		"log_file_path":  filepath.Join(c.LogDir(), "cni-"+host+".log"),
		"ipam":           c.ipamConf(),
	}
	b, _ := json.Marshal(conf)
	return b
}

func (c *Cluster) ipamConf() map[string]any {
	ipam := map[string]any{"type": "calico-ipam"}
	if c.ipv6 {
		ipam["assign_ipv6"] = "true"
	}
	if c.noIPv4 {
		ipam["assign_ipv4"] = "false"
	}
	return ipam
}

// cni runs the plugin in the host's namespace as a runtime would. The result is stdout
// alone; the plugin logs to stderr, which goes into the error on failure.
func (c *Cluster) cni(host *testbed.Host, command, id, netnsPath string, o ContainerOptions) (string, error) {
	if len(o.PortMappings) > 0 {
		return c.cniChain(host, command, netnsPath, o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.CNIDir, "calico"))
	cmd.Env = append(cmd.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+id, "CNI_NETNS="+netnsPath,
		"CNI_IFNAME=eth0", "CNI_PATH="+c.CNIDir, "BRINDLE_STATE_DIR="+c.StateDir(host.HostName), "CNI_ARGS="+o.cniArgs())
	cmd.Env = append(cmd.Env, o.Env...)
	stdin, err := c.cniConfWith(host.HostName, o)
	if err != nil {
		return "", err
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := host.StartCmd(cmd); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s %s", err, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// cniConfWith is the host's CNI conf for o's network with o.Conf's fields set over it.
func (c *Cluster) cniConfWith(host string, o ContainerOptions) ([]byte, error) {
	conf := c.cniConf(host, o.network())
	if len(o.Conf) == 0 {
		return conf, nil
	}
	var m map[string]any
	if err := json.Unmarshal(conf, &m); err != nil {
		return nil, err
	}
	maps.Copy(m, o.Conf)
	return json.Marshal(m)
}

// AddContainer creates a namespace and runs CNI ADD for it on the host.
func (c *Cluster) AddContainer(host, name string) (*Container, error) {
	return c.AddContainerWith(host, name, ContainerOptions{})
}

// AddContainerWith is AddContainer on a chosen network, namespace and labels.
func (c *Cluster) AddContainerWith(host, name string, o ContainerOptions) (*Container, error) {
	h := c.Host(host)
	if h == nil {
		return nil, fmt.Errorf("no host %q", host)
	}
	ns, err := testbed.NewNetns(c.Bed.Tag + "-c-" + name)
	if err != nil {
		return nil, err
	}
	out, err := c.cni(h, "ADD", name, "/var/run/netns/"+ns.Name, o)
	if err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w", name, host, errorsJoin(err, ns.Close()))
	}
	ct := &Container{Name: name, Host: host, NS: ns, Opts: o}
	if err := ct.parseResult(out, !c.noIPv4, c.ipv6); err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w (output %q)", name, host, errorsJoin(err, ns.Close()), out)
	}
	c.mu.Lock()
	c.containers = append(c.containers, ct)
	c.mu.Unlock()
	return ct, nil
}

func (ct *Container) parseResult(out string, want4, want6 bool) error {
	var r struct {
		Interfaces []struct{ Name string }    `json:"interfaces"`
		IPs        []struct{ Address string } `json:"ips"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return err
	}
	for _, ip := range r.IPs {
		p, err := netip.ParsePrefix(ip.Address)
		switch {
		case err != nil:
		case p.Addr().Is4():
			ct.IP = p.Addr()
		default:
			ct.IP6 = p.Addr()
		}
	}
	if len(r.Interfaces) > 0 {
		ct.HostVeth = r.Interfaces[0].Name
	}
	if want4 && !ct.IP.IsValid() {
		return fmt.Errorf("result has no IPv4 address")
	}
	if want6 && !ct.IP6.IsValid() {
		return fmt.Errorf("result has no IPv6 address")
	}
	return nil
}

// DelContainer runs CNI DEL and removes the namespace.
func (c *Cluster) DelContainer(ct *Container) error {
	h := c.Host(ct.Host)
	if _, err := c.cni(h, "DEL", ct.Name, "/var/run/netns/"+ct.NS.Name, ct.Opts); err != nil {
		return fmt.Errorf("CNI DEL %s: %w", ct, err)
	}
	c.mu.Lock()
	c.containers = slices.DeleteFunc(c.containers, func(x *Container) bool { return x == ct })
	c.mu.Unlock()
	return ct.NS.Close()
}

// Containers returns the containers added so far, in order.
func (c *Cluster) Containers() []*Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.containers)
}

func errorsJoin(a, b error) error {
	if b == nil {
		return a
	}
	return fmt.Errorf("%w (and cleaning up: %v)", a, b)
}
