package secure

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestMutualTLS: the datastore demands client certificates (etcd's --client-cert-auth);
// the agent, the CNI plugin, the CLI and the Docker plugin each present their own (its own
// common name), configured the way Calico configures each: ETCD_* variables, the CNI conf's
// etcd_*_file fields, calicoctl.cfg. Clients without one, or with one from another CA, are
// refused with an error that says so. Then the agent's files are replaced by ones from a new
// CA while the datastore restarts trusting only that CA, and the same agent process
// carries on: it reconnects, follows a change and writes its status.
func TestMutualTLS(t *testing.T) {
	c := startCluster(t)
	dir := t.TempDir()
	ca1 := newCA(t, dir, "ca1")
	etcdIP := c.EtcdAddr().Addr()
	server := ca1.issue("etcd-server", etcdIP)
	// The agent's files live at fixed paths its environment names; rotation replaces them.
	agentFiles := testbed.CertFiles{CA: filepath.Join(dir, "agent-ca.pem"), Cert: filepath.Join(dir, "agent.pem"), Key: filepath.Join(dir, "agent-key.pem")}
	install(t, agentFiles, ca1.issue("node1-agent"))
	cniFiles, cliFiles, dockerFiles := ca1.issue("node1-cni"), ca1.issue("operator-cli"), ca1.issue("node1-docker-plugin")
	cli := func(f testbed.CertFiles, args ...string) (string, error) { return c.CtlEnv(env(f), nil, args...) }
	if err := c.RestartDatastoreTLS(cluster.DatastoreTLS{CertFile: server.Cert, KeyFile: server.Key, CAFile: ca1.File},
		func() error { _, err := cli(cliFiles, "get", "nodes"); return err }); err != nil {
		t.Fatal(err)
	}
	// Felix's status reports (reportingInterval > 0) are the agent's regular writes.
	if _, err := c.CtlEnv(env(cliFiles), []byte(felixConfig("30s")), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}

	var c1 *cluster.Container
	t.Run("each component with its own certificate", func(t *testing.T) {
		if _, err := c.StartAgent("node1", cluster.AgentOptions{Wrap: envWrap(env(agentFiles)...)}); err != nil {
			t.Fatal(err)
		}
		var err error
		if c1, err = c.AddContainerWith("node1", "c1", cluster.ContainerOptions{Conf: cniConf(cniFiles)}); err != nil {
			t.Fatal(err)
		}
		// A key others can read still works, with a warning in the plugin's log.
		if err := os.Chmod(cniFiles.Key, 0o644); err != nil {
			t.Fatal(err)
		}
		c2, err := c.AddContainerWith("node1", "c2", cluster.ContainerOptions{Conf: cniConf(cniFiles)})
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(cniFiles.Key, 0o600)
		if b, _ := os.ReadFile(filepath.Join(c.LogDir(), "cni-node1.log")); !strings.Contains(string(b), "etcd client key is readable by group or others") {
			t.Errorf("no warning about the 0644 key in the CNI log")
		}
		if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 20*time.Second); err != nil {
			t.Error(err)
		}
		// The CLI through calicoctl.cfg, as calicoctl reads it.
		cfg := filepath.Join(dir, "calicoctl.cfg")
		os.WriteFile(cfg, []byte("apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: etcdv3\n"+
			"  etcdEndpoints: "+c.Endpoints+"\n  etcdCACertFile: "+cliFiles.CA+"\n  etcdCertFile: "+cliFiles.Cert+"\n  etcdKeyFile: "+cliFiles.Key+"\n"), 0o600)
		out, err := c.CtlEnv([]string{"ETCD_ENDPOINTS="}, nil, "--config", cfg, "get", "workloadendpoints", "-o", "wide")
		if err != nil || !strings.Contains(out, c1.IP.String()) || !strings.Contains(out, c2.IP.String()) {
			t.Errorf("brindle get workloadendpoints with calicoctl.cfg: %v\n%s", err, out)
		}
		dockerPlugin(t, c, dockerFiles)
	})
	if t.Failed() {
		return
	}

	t.Run("clients without the CA's certificate are refused", func(t *testing.T) {
		out, err := c.CtlEnv([]string{"ETCD_CA_CERT_FILE=" + ca1.File}, nil, "get", "nodes")
		wantFail(t, "CLI without a certificate", out, err, c.Endpoints, "certificate required")
		rogue := newCA(t, dir, "rogue-ca").issue("rogue")
		rogue.CA = ca1.File // it trusts the real server; the server must not trust it
		out, err = cli(rogue, "get", "nodes")
		wantFail(t, "CLI with another CA's certificate", out, err, c.Endpoints, "certificate required", "certificates from other CAs only")
		_, err = c.AddContainerWith("node1", "cx", cluster.ContainerOptions{Conf: map[string]any{"etcd_ca_cert_file": ca1.File}})
		wantFail(t, "CNI ADD without a certificate", "", err, "certificate required")
		// An agent without one starts, stays not ready and says why.
		a, err := c.LaunchAgent("node2", cluster.AgentOptions{Wrap: envWrap("ETCD_CA_CERT_FILE=" + ca1.File)})
		if err != nil {
			t.Fatal(err)
		}
		if err := cluster.WaitFor(20*time.Second, "node2's agent to report the refusal", func() (bool, string) {
			return strings.Contains(a.Proc.Logs(), "certificate required"), lastLine(a.Proc.Logs())
		}); err != nil {
			t.Error(err)
		}
		if ready, _ := a.Ready(); ready || !a.Proc.Running() {
			t.Errorf("agent without a certificate: ready %v, running %v; want running and not ready", ready, a.Proc.Running())
		}
		c.StopAgent("node2")
	})

	t.Run("rotation by file replacement without a restart", func(t *testing.T) {
		agent := c.Agent("node1")
		pid := agent.Proc.PID
		ca2 := newCA(t, dir, "ca2")
		server2, cli2, cni2 := ca2.issue("etcd-server-2", etcdIP), ca2.issue("operator-cli-2"), ca2.issue("node1-cni-2")
		install(t, agentFiles, ca2.issue("node1-agent-2"))
		// The datastore now trusts only the new CA: the old certificate cannot be the one in use.
		start := time.Now()
		if err := c.RestartDatastoreTLS(cluster.DatastoreTLS{CertFile: server2.Cert, KeyFile: server2.Key, CAFile: ca2.File},
			func() error { _, err := cli(cli2, "get", "nodes"); return err }); err != nil {
			t.Fatal(err)
		}
		out, err := cli(cliFiles, "get", "nodes")
		wantFail(t, "CLI with the old CA and certificate", out, err, "x509")
		rev := revision(t, c, cli2)
		// A change the agent must read, which makes it write its status.
		if _, err := c.CtlEnv(env(cli2), []byte(felixConfig("40s")), "apply", "-f", "-"); err != nil {
			t.Fatal(err)
		}
		key := "/calico/felix/v2/no-region/host/node1/last_reported_status"
		if err := cluster.WaitFor(30*time.Second, "node1's agent to write its status through the new connection", func() (bool, string) {
			out, err := helper(c, "get", append(env(cli2), "BSEC_KEY="+key)...)
			f := strings.Fields(out)
			if err != nil || len(f) < 2 {
				return false, out
			}
			mod, _ := strconv.ParseInt(f[0], 10, 64)
			return mod > rev, out
		}); err != nil {
			t.Error(err)
		}
		t.Logf("agent wrote its status %s after the datastore restarted with the new CA", time.Since(start).Round(time.Millisecond))
		if agent.Proc.PID != pid || !agent.Proc.Running() {
			t.Errorf("the agent was restarted (pid %d, now %d, running %v)", pid, agent.Proc.PID, agent.Proc.Running())
		}
		if err := agent.WaitReady(20 * time.Second); err != nil {
			t.Error(err)
		}
		if !strings.Contains(agent.Proc.Logs(), "etcd TLS files reloaded") {
			t.Errorf("the agent's log does not record the reload")
		}
		// The CNI plugin with its new certificate; workloads reach each other.
		c3, err := c.AddContainerWith("node1", "c3", cluster.ContainerOptions{Conf: cniConf(cni2)})
		if err != nil {
			t.Fatal(err)
		}
		if err := cluster.WaitMatrix([]*cluster.Container{c1, c3}, 20*time.Second); err != nil {
			t.Error(err)
		}
	})
}

func felixConfig(interval string) string {
	return "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  reportingInterval: " + interval + "\n"
}

// revision is the datastore's current revision.
func revision(t *testing.T, c *cluster.Cluster, f testbed.CertFiles) int64 {
	t.Helper()
	out, err := helper(c, "get", append(env(f), "BSEC_KEY=/calico/.none")...)
	if err != nil {
		t.Fatal(err)
	}
	f2 := strings.Fields(out)
	if len(f2) < 2 {
		t.Fatalf("helper get: %q", out)
	}
	rev, _ := strconv.ParseInt(f2[1], 10, 64)
	return rev
}
