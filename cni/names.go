package cni

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"strings"
)

// vethName is the host-side interface name. In Kubernetes mode it is Calico's
// "cali" + sha1("<namespace>.<pod>")[:11]. Otherwise Calico uses "cali" + containerID[:11];
// brindle does the same when that prefix identifies the container (an ID of at most 11
// characters, or one starting with 11 hex digits, as Docker, podman and containerd IDs do),
// and hashes the whole ID otherwise: nerdctl's IDs are "<namespace>-<id>", so "default-" would
// leave 3 characters to tell containers apart, and a clash deletes the other container's veth.
// FELIX_INTERFACEPREFIX's first entry replaces "cali", as in Calico.
func vethName(containerID string, k8s bool, w workloadArgs) string {
	prefix := "cali"
	if p := os.Getenv("FELIX_INTERFACEPREFIX"); p != "" {
		prefix, _, _ = strings.Cut(p, ",")
	}
	if k8s {
		sum := sha1.Sum([]byte(w.PodNamespace + "." + w.PodName))
		return prefix + hex.EncodeToString(sum[:])[:11]
	}
	id := containerID
	if len(id) > 11 {
		if id = id[:11]; !isLowerHex(id) {
			sum := sha1.Sum([]byte(containerID))
			id = hex.EncodeToString(sum[:])[:11]
		}
	}
	return prefix + id
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// escapeSegment doubles dashes so that the segments of a WorkloadEndpoint name stay separable.
func escapeSegment(s string) string { return strings.ReplaceAll(s, "-", "--") }

// wepIdentity is how Calico names and places a workload's endpoint.
type wepIdentity struct {
	Name         string
	Namespace    string
	Orchestrator string // "k8s" or "cni"
	Workload     string // container ID for cni, "" for k8s
	Pod          string
}

// identify returns the WorkloadEndpoint identity: `<node>-k8s-<pod>-<iface>` in the pod's
// namespace in Kubernetes mode, else `<node>-cni-<containerID>-<iface>` in the namespace
// K8S_POD_NAMESPACE names, or default (Calico always uses default there).
func identify(node, containerID, ifName string, k8s bool, w workloadArgs) wepIdentity {
	if k8s {
		return wepIdentity{
			Name:         escapeSegment(node) + "-k8s-" + escapeSegment(w.PodName) + "-" + escapeSegment(ifName),
			Namespace:    w.PodNamespace,
			Orchestrator: "k8s",
			Pod:          w.PodName,
		}
	}
	ns := w.PodNamespace
	if ns == "" {
		ns = "default"
	}
	return wepIdentity{
		Name:         escapeSegment(node) + "-cni-" + escapeSegment(containerID) + "-" + escapeSegment(ifName),
		Namespace:    ns,
		Orchestrator: "cni",
		Workload:     containerID,
	}
}

// handleID is the IPAM handle of one attachment: `<network name>.<containerID>`.
func handleID(network, containerID string) string { return network + "." + containerID }
