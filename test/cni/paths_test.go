package cnitest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// ADD orders its steps by what it knows up front: with the own IPAM the veth is made while
// etcd is read (IPv6 sysctls included when assign_ipv6 is on), with a delegated IPAM or an MTU
// only the pools can tell, after the addresses are known. Each order must give the same result.
func TestAddPaths(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)

	t.Run("dual stack, own IPAM", func(t *testing.T) {
		cl := newCluster(t, "10.243.0.0/24", 26)
		addPool(t, cl, "pool6", `{"cidr":"fd00:243::/120","blockSize":122,"nodeSelector":"all()"}`)
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0",
			"ipam": map[string]any{"type": "calico-ipam", "assign_ipv6": "true"}})
		cont := netnsAdd(t, "c")
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "ds1", Netns: "/var/run/netns/" + cont, Conf: conf})
		if r.err != nil {
			t.Fatalf("ADD: %v %s %s", r.err, r.stdout, r.stderr)
		}
		var res cniResult
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.IPs) != 2 {
			t.Fatalf("want an IPv4 and an IPv6 address: %v %s", err, r.stdout)
		}
		veth := res.Interfaces[0].Name
		addrs := mustIP(t, cont, "addr", "show", "eth0")
		for _, ip := range res.IPs {
			if !strings.Contains(addrs, ip.Address) {
				t.Errorf("container lacks %s:\n%s", ip.Address, addrs)
			}
		}
		if out := mustIP(t, cont, "-6", "route"); !strings.Contains(out, "default via fe80::ecee:eeff:feee:eeee dev eth0") {
			t.Errorf("container IPv6 default route:\n%s", out)
		}
		for path, want := range map[string]string{
			"net/ipv6/conf/" + veth + "/proxy_ndp":  "1",
			"net/ipv6/conf/" + veth + "/forwarding": "1",
			"net/ipv6/conf/" + veth + "/accept_dad": "0",
		} {
			if v := sysctlIn(t, host, path); v != want {
				t.Errorf("host %s = %q, want %s", path, v, want)
			}
		}
		if v := sysctlIn(t, cont, "net/ipv6/conf/eth0/accept_dad"); v != "0" {
			t.Errorf("container eth0 accept_dad = %q, want 0", v)
		}
		if r := cl.plugin(t, host, "calico", pluginCall{Command: "DEL", ContainerID: "ds1", Netns: "/var/run/netns/" + cont, Conf: conf}); r.err != nil {
			t.Fatalf("DEL: %v %s", r.err, r.stdout)
		}
		assertClean(t, cl, host, cont)
	})

	t.Run("MTU from the pools", func(t *testing.T) {
		// No mtu in the conf and no mtu file: the veth waits for the pools (a VXLAN pool
		// takes 50 bytes off the uplink's 1500, the host namespace having no default route).
		cl := newCluster(t, "10.242.0.0/24", 26)
		addPool(t, cl, "poolvx", `{"cidr":"10.241.0.0/24","blockSize":26,"vxlanMode":"Always","nodeSelector":"all()","disabled":true}`)
		addPool(t, cl, "poolvx2", `{"cidr":"10.240.0.0/24","blockSize":26,"vxlanMode":"Always","nodeSelector":"!all()"}`)
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})
		delete(conf, "mtu")
		cont := netnsAdd(t, "c")
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "mtu1", Netns: "/var/run/netns/" + cont, Conf: conf})
		if r.err != nil {
			t.Fatalf("ADD: %v %s %s", r.err, r.stdout, r.stderr)
		}
		if out := mustIP(t, cont, "link", "show", "eth0"); !strings.Contains(out, "mtu 1450") {
			t.Errorf("want mtu 1450 (1500 less VXLAN):\n%s", out)
		}
		if r := cl.plugin(t, host, "calico", pluginCall{Command: "DEL", ContainerID: "mtu1", Netns: "/var/run/netns/" + cont, Conf: conf}); r.err != nil {
			t.Fatalf("DEL: %v %s", r.err, r.stdout)
		}
		assertClean(t, cl, host, cont)
	})

	t.Run("host-local with usePodCidr", func(t *testing.T) {
		cl := newCluster(t, "10.244.0.0/24", 26)
		dataDir := t.TempDir()
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0",
			"ipam": map[string]any{"type": "host-local", "subnet": "usePodCidr", "dataDir": dataDir}})
		cont := netnsAdd(t, "c")
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "hl1", Netns: "/var/run/netns/" + cont, Conf: conf})
		if r.err != nil {
			t.Fatalf("ADD: %v %s %s", r.err, r.stdout, r.stderr)
		}
		var res cniResult
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.IPs) != 1 || !strings.HasPrefix(res.IPs[0].Address, "10.99.0.") {
			t.Fatalf("want one address from the node's pod CIDR 10.99.0.0/24: %v %s", err, r.stdout)
		}
		ip := strings.TrimSuffix(res.IPs[0].Address, "/32")
		veth := res.Interfaces[0].Name
		if out := mustIP(t, host, "route", "show", ip); !strings.Contains(out, "dev "+veth) {
			t.Errorf("host route for %s: %q", ip, out)
		}
		if _, err := os.Stat(filepath.Join(dataDir, "bcni-net", ip)); err != nil {
			t.Errorf("host-local holds no reservation for %s: %v", ip, err)
		}
		if r := cl.plugin(t, host, "calico", pluginCall{Command: "DEL", ContainerID: "hl1", Netns: "/var/run/netns/" + cont, Conf: conf}); r.err != nil {
			t.Fatalf("DEL: %v %s", r.err, r.stdout)
		}
		// host-local keeps one file per reserved address; DEL must have released it.
		if _, err := os.Stat(filepath.Join(dataDir, "bcni-net", ip)); !os.IsNotExist(err) {
			t.Errorf("host-local still holds %s after DEL (%v)", ip, err)
		}
		assertClean(t, cl, host, cont)
	})
}

func addPool(t *testing.T, cl *cluster, name, spec string) {
	t.Helper()
	k, _ := api.LookupKind("IPPool")
	r := k.NewResource()
	if err := json.Unmarshal([]byte(`{"metadata":{"name":"`+name+`"},"spec":`+spec+`}`), r); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.sc.Create(context.Background(), r); err != nil {
		t.Fatalf("creating IPPool %s: %v", name, err)
	}
}
