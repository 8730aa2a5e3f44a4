package cluster

import (
	"bytes"
	"context"
	"path/filepath"
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
