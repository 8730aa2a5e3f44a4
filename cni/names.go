package cni

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"strings"
)

// vethName is the host-side interface name, exactly as Calico derives it: in Kubernetes mode
// "cali" + sha1("<namespace>.<pod>")[:11], else "cali" + containerID[:11] (not hashed).
// FELIX_INTERFACEPREFIX's first entry replaces "cali", as in Calico.
func vethName(containerID string, w workloadArgs) string {
	prefix := "cali"
	if p := os.Getenv("FELIX_INTERFACEPREFIX"); p != "" {
		prefix, _, _ = strings.Cut(p, ",")
	}
	if w.k8s() {
		sum := sha1.Sum([]byte(w.PodNamespace + "." + w.PodName))
		return prefix + hex.EncodeToString(sum[:])[:11]
	}
	id := containerID
	if len(id) > 11 {
		id = id[:11]
	}
	return prefix + id
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
// namespace, or `<node>-cni-<containerID>-<iface>` in namespace default.
func identify(node, containerID, ifName string, w workloadArgs) wepIdentity {
	if w.k8s() {
		return wepIdentity{
			Name:         escapeSegment(node) + "-k8s-" + escapeSegment(w.PodName) + "-" + escapeSegment(ifName),
			Namespace:    w.PodNamespace,
			Orchestrator: "k8s",
			Pod:          w.PodName,
		}
	}
	return wepIdentity{
		Name:         escapeSegment(node) + "-cni-" + escapeSegment(containerID) + "-" + escapeSegment(ifName),
		Namespace:    "default",
		Orchestrator: "cni",
		Workload:     containerID,
	}
}

// handleID is the IPAM handle of one attachment: `<network name>.<containerID>`.
func handleID(network, containerID string) string { return network + "." + containerID }
