package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// AddContainerArgs is AddContainerWith with more CNI_ARGS after the options' own, e.g.
// "IP=10.244.250.10" to ask the IPAM for one address (test/fault/etcd uses it to put a
// container into a block no host has yet).
func (c *Cluster) AddContainerArgs(host, name, extra string, o ContainerOptions) (*Container, error) {
	h := c.Host(host)
	if h == nil {
		return nil, fmt.Errorf("no host %q", host)
	}
	ns, err := testbed.NewNetns(c.Bed.Tag + "-c-" + name)
	if err != nil {
		return nil, err
	}
	args := o.cniArgs()
	if extra != "" {
		args = strings.TrimPrefix(args+";"+extra, ";")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.CNIDir, "calico"))
	cmd.Env = append(cmd.Environ(), "CNI_COMMAND=ADD", "CNI_CONTAINERID="+name, "CNI_NETNS=/var/run/netns/"+ns.Name,
		"CNI_IFNAME=eth0", "CNI_PATH="+c.CNIDir, "BRINDLE_STATE_DIR="+c.StateDir(host), "CNI_ARGS="+args)
	cmd.Stdin = bytes.NewReader(c.cniConf(host, o.network()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := h.StartCmd(cmd); err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w", name, host, errorsJoin(fmt.Errorf("%w: %s %s", err,
			strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String())), ns.Close()))
	}
	ct := &Container{Name: name, Host: host, NS: ns, Opts: o}
	if err := ct.parseResult(stdout.String(), !c.noIPv4, c.ipv6); err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w (output %q)", name, host, errorsJoin(err, ns.Close()), stdout.String())
	}
	c.mu.Lock()
	c.containers = append(c.containers, ct)
	c.mu.Unlock()
	return ct, nil
}

// DelContainerID runs CNI DEL for a container ID whose namespace is gone (CNI_NETNS empty),
// as containerd and CRI-O do after an ADD that failed.
func (c *Cluster) DelContainerID(host, name string, o ContainerOptions) error {
	h := c.Host(host)
	if h == nil {
		return fmt.Errorf("no host %q", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.CNIDir, "calico"))
	cmd.Env = append(cmd.Environ(), "CNI_COMMAND=DEL", "CNI_CONTAINERID="+name, "CNI_NETNS=",
		"CNI_IFNAME=eth0", "CNI_PATH="+c.CNIDir, "BRINDLE_STATE_DIR="+c.StateDir(host), "CNI_ARGS="+o.cniArgs())
	cmd.Stdin = bytes.NewReader(c.cniConf(host, o.network()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := h.StartCmd(cmd); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("CNI DEL %s on %s: %w: %s", name, host, err, strings.TrimSpace(out.String()))
	}
	return nil
}
