package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// DatastoreTLS is the server side of an https datastore (etcd's --cert-file, --key-file,
// --trusted-ca-file; --client-cert-auth is always on).
type DatastoreTLS struct{ CertFile, KeyFile, CAFile string }

// RestartDatastoreTLS (re)starts the datastore on the same data dir and address serving
// https and demanding a client certificate signed by a CA in tls.CAFile; Endpoints becomes
// the https URL. The cluster's own CLI (Ctl) has no certificate, so ready, run until it
// returns nil, is how the caller proves the datastore answers (its CLI with its material).
func (c *Cluster) RestartDatastoreTLS(tls DatastoreTLS, ready func() error) error {
	return c.RestartDatastoreWith("https", []string{"--cert-file", tls.CertFile, "--key-file", tls.KeyFile,
		"--trusted-ca-file", tls.CAFile, "--client-cert-auth"}, ready)
}

// RestartDatastoreWith (re)starts the datastore on the same data dir and address with a
// scheme (http, https) and more flags, waiting until ready returns nil: for a datastore
// the cluster's own CLI cannot talk to (client certificates, etcd authentication).
func (c *Cluster) RestartDatastoreWith(scheme string, args []string, ready func() error) error {
	c.mu.Lock()
	running := c.etcd != nil
	c.mu.Unlock()
	if running {
		if err := c.StopDatastore(); err != nil {
			return err
		}
	}
	url := scheme + "://" + c.EtcdAddr().String()
	p, err := c.StartProc(c.Bed.Router, testbed.ProcOptions{
		Name: "datastore", Path: c.Bin, LogDir: c.LogDir(),
		Args: append([]string{"datastore", "run", "--data-dir", filepath.Join(c.Dir, "etcd"),
			"--listen-client-urls", url, "--listen-peer-urls", "http://127.0.0.1:12380"}, args...),
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.etcd = p
	c.mu.Unlock()
	c.Endpoints = url
	return WaitFor(30*time.Second, "the datastore to answer", func() (bool, string) {
		if !p.Running() {
			return false, "datastore exited: " + p.Logs()
		}
		if err := ready(); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// CtlEnv is Ctl with more environment (ETCD_CERT_FILE, ETCD_USERNAME, ...).
func (c *Cluster) CtlEnv(env []string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := testbed.RunOptions{Path: c.Bin, Args: args, Env: append([]string{"ETCD_ENDPOINTS=" + c.Endpoints}, env...)}
	if stdin != nil {
		o.Stdin = bytes.NewReader(stdin)
	}
	return c.Bed.Router.Run(ctx, o)
}

// CNIExtra is what a host's runtime adds to the CNI call: fields in the calico conf
// (etcd_cert_file, ...) and variables in the plugin's environment (ETCD_USERNAME, ...).
type CNIExtra struct {
	Conf map[string]any
	Env  []string
}

// AddContainerExtra is AddContainer with extra CNI conf fields and environment.
func (c *Cluster) AddContainerExtra(host, name string, x CNIExtra) (*Container, error) {
	h := c.Host(host)
	if h == nil {
		return nil, fmt.Errorf("no host %q", host)
	}
	ns, err := testbed.NewNetns(c.Bed.Tag + "-c-" + name)
	if err != nil {
		return nil, err
	}
	out, err := c.cniExtra(h, "ADD", name, "/var/run/netns/"+ns.Name, x)
	if err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w", name, host, errorsJoin(err, ns.Close()))
	}
	ct := &Container{Name: name, Host: host, NS: ns}
	if err := ct.parseResult(out, !c.noIPv4, c.ipv6); err != nil {
		return nil, fmt.Errorf("CNI ADD %s on %s: %w (output %q)", name, host, errorsJoin(err, ns.Close()), out)
	}
	c.mu.Lock()
	c.containers = append(c.containers, ct)
	c.mu.Unlock()
	return ct, nil
}

// DelContainerExtra is DelContainer with extra CNI conf fields and environment.
func (c *Cluster) DelContainerExtra(ct *Container, x CNIExtra) error {
	if _, err := c.cniExtra(c.Host(ct.Host), "DEL", ct.Name, "/var/run/netns/"+ct.NS.Name, x); err != nil {
		return fmt.Errorf("CNI DEL %s: %w", ct, err)
	}
	c.mu.Lock()
	c.containers = slices.DeleteFunc(c.containers, func(x *Container) bool { return x == ct })
	c.mu.Unlock()
	return ct.NS.Close()
}

func (c *Cluster) cniExtra(host *testbed.Host, command, id, netnsPath string, x CNIExtra) (string, error) {
	var conf map[string]any
	if err := json.Unmarshal(c.cniConf(host.HostName, ContainerOptions{}.network()), &conf); err != nil {
		return "", err
	}
	maps.Copy(conf, x.Conf)
	stdin, err := json.Marshal(conf)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.CNIDir, "calico"))
	cmd.Env = append(cmd.Environ(), "CNI_COMMAND="+command, "CNI_CONTAINERID="+id, "CNI_NETNS="+netnsPath,
		"CNI_IFNAME=eth0", "CNI_PATH="+c.CNIDir, "BRINDLE_STATE_DIR="+c.StateDir(host.HostName))
	cmd.Env = append(cmd.Env, x.Env...)
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
