package cni

import "testing"

func TestNames(t *testing.T) {
	// Expected hash computed independently: python3 hashlib.sha1(b"kube-system.coredns-abc").
	k8s := workloadArgs{PodNamespace: "kube-system", PodName: "coredns-abc"}
	if got := vethName("0123456789abcdef", k8s); got != "cali"+"3d5d6ab04b5" {
		t.Errorf("k8s veth name: got %s", got)
	}
	if got := vethName("0123456789abcdef", workloadArgs{}); got != "cali0123456789a" {
		t.Errorf("cni veth name: got %s", got)
	}
	if got := identify("node-1", "ab-c", "eth0", workloadArgs{}); got.Name != "node--1-cni-ab--c-eth0" || got.Namespace != "default" {
		t.Errorf("cni endpoint: %+v", got)
	}
	if got := identify("n1", "x", "eth0", k8s); got.Name != "n1-k8s-coredns--abc-eth0" || got.Namespace != "kube-system" || got.Orchestrator != "k8s" {
		t.Errorf("k8s endpoint: %+v", got)
	}
	if got := handleID("net", "ctr"); got != "net.ctr" {
		t.Errorf("handle: %s", got)
	}
}
