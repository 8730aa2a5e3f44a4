package cni

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/containernetworking/cni/pkg/skel"
	"go.uber.org/zap"
)

// The agent's side serves an ADD for its node and datastore and answers a repeated ADD with
// the same address; the plugin does the call itself when the agent declines (another node or
// datastore) and never asks a socket that others could have put there.
func TestBrokerServesDeclinesAndDistrusts(t *testing.T) {
	srv, sc := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for kind, doc := range map[string]string{
		"ClusterInformation": `{"metadata":{"name":"default"},"spec":{"datastoreReady":true}}`,
		"IPPool":             `{"metadata":{"name":"p"},"spec":{"cidr":"10.243.0.0/24","blockSize":28,"nodeSelector":"all()"}}`,
		"Node":               `{"metadata":{"name":"bcni-broker"},"spec":{}}`,
	} {
		k, _ := api.LookupKind(kind)
		r := k.NewResource()
		if err := json.Unmarshal([]byte(doc), r); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	state := t.TempDir()
	if err := ServeIPAM(ctx, state, sc, "bcni-broker", zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(StateDirEnv, state)
	t.Setenv("BRINDLE_IPAM_QUEUE", "process")
	mk := func(node, endpoints, id string) *call {
		conf, _ := json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": "bcni-net", "type": "calico",
			"etcd_endpoints": endpoints, "nodename": node, "ipam": map[string]any{"type": "calico-ipam"}})
		c, err := parseCall(&skel.CmdArgs{ContainerID: id, IfName: "eth0", Netns: "/var/run/netns/x", StdinData: conf})
		if err != nil {
			t.Fatal(err)
		}
		c.resolveAs("IPAM ADD", node, zap.NewNop())
		return c
	}
	eps := srv.Endpoints()
	res, served, err := brokerAdd(ctx, mk("bcni-broker", eps, "c1"))
	if err != nil || !served || len(res.IPs) != 1 {
		t.Fatalf("served %v, %v, %v", served, res, err)
	}
	again, served, err := brokerAdd(ctx, mk("bcni-broker", eps, "c1"))
	if err != nil || !served || !again.IPs[0].Address.IP.Equal(res.IPs[0].Address.IP) {
		t.Fatalf("repeated ADD: %v %v %v, first gave %v", again, served, err, res.IPs[0].Address)
	}
	for what, c := range map[string]*call{
		"another node":      mk("bcni-other", eps, "c2"),
		"another datastore": mk("bcni-broker", "http://127.0.0.1:1", "c3"),
	} {
		if _, served, err := brokerAdd(ctx, c); served || err != nil {
			t.Fatalf("%s: served %v (%v), want declined", what, served, err)
		}
	}
	sock := filepath.Join(state, BrokerSocketName)
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, served, _ := brokerAdd(ctx, mk("bcni-broker", eps, "c4")); served {
		t.Fatal("a socket that anyone may write to was trusted")
	}
	// A stopped agent takes its socket away; the plugin then does the call itself.
	cancel()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); os.IsNotExist(err) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, served, _ := brokerAdd(context.Background(), mk("bcni-broker", eps, "c5")); served {
		t.Fatal("served after the agent stopped")
	}
}
