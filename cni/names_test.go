package cni

import (
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	// Expected hash computed independently: python3 hashlib.sha1(b"kube-system.coredns-abc").
	k8s := workloadArgs{PodNamespace: "kube-system", PodName: "coredns-abc"}
	if got := vethName("0123456789abcdef", true, k8s); got != "cali"+"3d5d6ab04b5" {
		t.Errorf("k8s veth name: got %s", got)
	}
	if got := vethName("0123456789abcdef", false, workloadArgs{}); got != "cali0123456789a" {
		t.Errorf("cni veth name: got %s", got)
	}
	// Without the Kubernetes conf the pod arguments do not change the name.
	if got := vethName("0123456789abcdef", false, k8s); got != "cali0123456789a" {
		t.Errorf("cni veth name with pod args: got %s", got)
	}
	if got := identify("node-1", "ab-c", "eth0", false, workloadArgs{}); got.Name != "node--1-cni-ab--c-eth0" || got.Namespace != "default" {
		t.Errorf("cni endpoint: %+v", got)
	}
	if got := identify("n1", "x", "eth0", true, k8s); got.Name != "n1-k8s-coredns--abc-eth0" || got.Namespace != "kube-system" || got.Orchestrator != "k8s" {
		t.Errorf("k8s endpoint: %+v", got)
	}
	// cni mode keeps the container naming but takes the namespace from K8S_POD_NAMESPACE.
	if got := identify("n1", "x", "eth0", false, k8s); got.Name != "n1-cni-x-eth0" || got.Namespace != "kube-system" || got.Orchestrator != "cni" {
		t.Errorf("cni endpoint with pod args: %+v", got)
	}
	if got := handleID("net", "ctr"); got != "net.ctr" {
		t.Errorf("handle: %s", got)
	}
}

// nerdctl's IDs are "<namespace>-<64 hex>": Calico's ID[:11] would leave three characters
// ("default-abc") to tell containers apart. Such IDs are hashed; names stay distinct.
func TestVethNameNerdctlIDs(t *testing.T) {
	// Expected value computed independently: python3 hashlib.sha1(b"default-abc1").hexdigest()[:11].
	if got := vethName("default-abc1", false, workloadArgs{}); got != "cali"+"b7baeb444b1" {
		t.Errorf("hashed veth name: got %s", got)
	}
	a := vethName("default-abc0000000000000000000000000000000000000000000000000000000001", false, workloadArgs{})
	b := vethName("default-abc0000000000000000000000000000000000000000000000000000000002", false, workloadArgs{})
	if a == b || len(a) != 15 || len(b) != 15 {
		t.Errorf("nerdctl IDs must give distinct 15-character names: %s %s", a, b)
	}
	if got := vethName("abc", false, workloadArgs{}); got != "caliabc" {
		t.Errorf("short ID: got %s", got)
	}
}

func TestConfDecidesKubernetesMode(t *testing.T) {
	plain := &NetConf{}
	kconf := &NetConf{Kubernetes: &RawBlock{}}
	pconf := &NetConf{Policy: &Policy{Type: "k8s"}}
	if plain.kubernetes() || !kconf.kubernetes() || !pconf.kubernetes() {
		t.Errorf("kubernetes(): plain %v, kubernetes block %v, policy k8s %v", plain.kubernetes(), kconf.kubernetes(), pconf.kubernetes())
	}
}

func TestCheckWorkload(t *testing.T) {
	podman := workloadArgs{PodName: "ecstatic_hawking"}
	if err := podman.checkWorkload(false); err != nil {
		t.Errorf("podman's container name must pass outside Kubernetes mode: %v", err)
	}
	if err := (workloadArgs{PodNamespace: "ns", PodName: "ecstatic_hawking"}).checkWorkload(true); err == nil || !strings.Contains(err.Error(), "K8S_POD_NAME") {
		t.Errorf("Kubernetes mode must reject the pod name: %v", err)
	}
	for _, ns := range []string{"Bad", "a.b", "x/y", strings.Repeat("a", 64)} {
		if err := (workloadArgs{PodNamespace: ns}).checkWorkload(false); err == nil || !strings.Contains(err.Error(), "K8S_POD_NAMESPACE") {
			t.Errorf("namespace %q: want an error naming K8S_POD_NAMESPACE, got %v", ns, err)
		}
	}
}
