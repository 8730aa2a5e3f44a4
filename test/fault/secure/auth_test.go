package secure

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestEtcdPassword: etcd's own authentication (a root user, and a brindle user whose role
// may read and write /calico/ only) with Calico's settings: ETCD_USERNAME/ETCD_PASSWORD
// for the agent and the CNI plugin (Calico's CNI conf has no such fields; the plugin reads
// its environment), etcdUsername/etcdPassword in calicoctl.cfg for the CLI. The right
// password works end to end; a wrong one, or none, is refused with an error that names
// the settings.
func TestEtcdPassword(t *testing.T) {
	c := startCluster(t)
	if out, err := helper(c, "enable-auth", "BSEC_USER=brindle", "BSEC_PASSWORD=pw-right"); err != nil {
		t.Fatalf("enabling etcd authentication: %v %s", err, out)
	}
	right := []string{"ETCD_USERNAME=brindle", "ETCD_PASSWORD=pw-right"}
	wrong := []string{"ETCD_USERNAME=brindle", "ETCD_PASSWORD=pw-wrong"}

	t.Run("the right password works end to end", func(t *testing.T) {
		if _, err := c.StartAgent("node1", cluster.AgentOptions{Wrap: envWrap(right...)}); err != nil {
			t.Fatal(err)
		}
		c1, err := c.AddContainerWith("node1", "c1", cluster.ContainerOptions{Env: right})
		if err != nil {
			t.Fatal(err)
		}
		c2, err := c.AddContainerWith("node1", "c2", cluster.ContainerOptions{Env: right})
		if err != nil {
			t.Fatal(err)
		}
		if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 20*time.Second); err != nil {
			t.Error(err)
		}
		cfg := filepath.Join(t.TempDir(), "calicoctl.cfg")
		os.WriteFile(cfg, []byte("apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: etcdv3\n"+
			"  etcdEndpoints: "+c.Endpoints+"\n  etcdUsername: brindle\n  etcdPassword: pw-right\n"), 0o600)
		out, err := c.CtlEnv([]string{"ETCD_ENDPOINTS="}, nil, "--config", cfg, "get", "workloadendpoints", "-o", "wide")
		if err != nil || !strings.Contains(out, c1.IP.String()) {
			t.Errorf("brindle get workloadendpoints with etcdUsername/etcdPassword: %v\n%s", err, out)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("a wrong password or none is refused", func(t *testing.T) {
		out, err := c.CtlEnv(wrong, nil, "get", "nodes")
		wantFail(t, "CLI with a wrong password", out, err, "user name or password refused", "ETCD_PASSWORD")
		out, err = c.CtlEnv(nil, nil, "get", "nodes")
		wantFail(t, "CLI without credentials", out, err, "authentication is enabled")
		_, err = c.AddContainerWith("node1", "cx", cluster.ContainerOptions{Env: wrong})
		wantFail(t, "CNI ADD with a wrong password", "", err, "user name or password refused")
		// A wrong password is a configuration error: the agent exits saying so.
		a, err := c.LaunchAgent("node2", cluster.AgentOptions{Wrap: envWrap(wrong...)})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Proc.Done():
			if a.Proc.ExitErr() == nil || !strings.Contains(a.Proc.Logs(), "user name or password refused") {
				t.Errorf("agent with a wrong password: exit %v, log:\n%s", a.Proc.ExitErr(), a.Proc.Logs())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("agent with a wrong password still runs after 20s; log:\n%s", a.Proc.Logs())
		}
		c.StopAgent("node2")
	})
	t.Run("the agent starts while etcd is down and authenticates when it is back", func(t *testing.T) {
		// clientv3 authenticates while it connects, so this start once ended the agent after
		// the dial timeout (5 s); it must wait instead, as it does without a password.
		if err := c.StopDatastore(); err != nil {
			t.Fatal(err)
		}
		a, err := c.LaunchAgent("node2", cluster.AgentOptions{Wrap: envWrap(right...)})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(8 * time.Second)
		if !a.Proc.Running() {
			t.Fatalf("agent exited while etcd was down (%v); log:\n%s", a.Proc.ExitErr(), a.Proc.Logs())
		}
		if !strings.Contains(a.Proc.Logs(), "waiting for etcd to authenticate") {
			t.Errorf("the agent's log does not say what it waits for")
		}
		if err := c.RestartDatastoreWith("http", nil, func() error { _, err := c.CtlEnv(right, nil, "get", "nodes"); return err }); err != nil {
			t.Fatal(err)
		}
		if err := a.WaitReady(30 * time.Second); err != nil {
			t.Error(err)
		}
	})
}
