package cni

import (
	"context"
	"errors"
	"fmt"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// wepDoc is a WorkloadEndpoint in Calico's stored JSON shape.
type wepDoc struct {
	Metadata objMeta `json:"metadata"`
	Spec     wepSpec `json:"spec"`
}

type wepSpec struct {
	Orchestrator  string   `json:"orchestrator,omitempty"`
	Workload      string   `json:"workload,omitempty"`
	Node          string   `json:"node,omitempty"`
	ContainerID   string   `json:"containerID,omitempty"`
	Pod           string   `json:"pod,omitempty"`
	Endpoint      string   `json:"endpoint,omitempty"`
	IPNetworks    []string `json:"ipNetworks,omitempty"`
	Profiles      []string `json:"profiles,omitempty"`
	InterfaceName string   `json:"interfaceName,omitempty"`
	MAC           string   `json:"mac,omitempty"`
}

const (
	labelNamespace    = "projectcalico.org/namespace"
	labelOrchestrator = "projectcalico.org/orchestrator"
)

// newWEP builds the endpoint record Calico writes for a workload (calico-cni-observed.md).
func newWEP(id wepIdentity, node, containerID, ifName, hostVeth, mac string, ips, profiles []string) *wepDoc {
	return &wepDoc{
		Metadata: objMeta{
			Name:      id.Name,
			Namespace: id.Namespace,
			Labels:    map[string]string{labelNamespace: id.Namespace, labelOrchestrator: id.Orchestrator},
		},
		Spec: wepSpec{
			Orchestrator:  id.Orchestrator,
			Node:          node,
			ContainerID:   containerID,
			Pod:           id.Pod,
			Endpoint:      ifName,
			IPNetworks:    ips,
			Profiles:      profiles,
			InterfaceName: hostVeth,
			MAC:           mac,
		},
	}
}

// addLabels adds the workload's own labels; Calico's two stay as newWEP set them.
func (w *wepDoc) addLabels(l map[string]string) {
	for k, v := range l {
		if k != labelNamespace && k != labelOrchestrator {
			w.Metadata.Labels[k] = v
		}
	}
}

// mergedLabels is base overlaid with over.
func mergedLabels(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// writeWEP creates the endpoint, or replaces one left by an earlier attempt for the same
// workload (a repeated ADD, or a pod recreated under the same name), with CAS retries.
// created says whether the caller now owns a new record (for undo).
func writeWEP(ctx context.Context, sc *store.Client, w *wepDoc) (created bool, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		r, err := toResource("WorkloadEndpoint", w)
		if err != nil {
			return false, err
		}
		if _, err = sc.Create(ctx, r); err == nil {
			return true, nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return false, err
		}
		var cur wepDoc
		found, err := getDoc(ctx, sc, "WorkloadEndpoint", w.Metadata.Namespace, w.Metadata.Name, &cur)
		if errors.Is(err, store.ErrUndecodable) {
			// Our own endpoint's key holds garbage: replace it rather than fail every ADD.
			if err := dropBrokenWEP(ctx, sc, w.Metadata.Namespace, w.Metadata.Name, err); err != nil {
				return false, err
			}
			continue
		}
		if err != nil {
			return false, err
		}
		if !found {
			continue
		}
		upd := *w
		if cur.Spec.ContainerID == w.Spec.ContainerID {
			// A repeated ADD of the same container keeps labels set since (brindle label).
			upd.Metadata.Labels = mergedLabels(cur.Metadata.Labels, w.Metadata.Labels)
		}
		upd.Metadata.ResourceVersion = cur.Metadata.ResourceVersion
		upd.Metadata.UID, upd.Metadata.CreationTimestamp = cur.Metadata.UID, cur.Metadata.CreationTimestamp
		r, err = toResource("WorkloadEndpoint", &upd)
		if err != nil {
			return false, err
		}
		if _, err = sc.Update(ctx, r); err == nil {
			return false, nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	return false, fmt.Errorf("WorkloadEndpoint %s/%s: still changing concurrently after 5 attempts", w.Metadata.Namespace, w.Metadata.Name)
}

// getWEP reads an endpoint; nil when absent.
func getWEP(ctx context.Context, sc *store.Client, id wepIdentity) (*wepDoc, error) {
	var w wepDoc
	found, err := getDoc(ctx, sc, "WorkloadEndpoint", id.Namespace, id.Name, &w)
	if err != nil || !found {
		return nil, err
	}
	return &w, nil
}

// deleteWEP removes the endpoint only if it still belongs to containerID: after a pod is
// recreated under the same name, a late DEL of the old container must leave the new record.
// Missing is success.
func deleteWEP(ctx context.Context, sc *store.Client, id wepIdentity, containerID string) error {
	_, err := deleteOwnWEP(ctx, sc, id, containerID)
	return err
}

// deleteOwnWEP is deleteWEP that also says whether this call deleted a record (DEL logs
// quietly when nothing of the container was found).
func deleteOwnWEP(ctx context.Context, sc *store.Client, id wepIdentity, containerID string) (deleted bool, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		w, err := getWEP(ctx, sc, id)
		if errors.Is(err, store.ErrUndecodable) {
			// Garbage at our endpoint's key: nothing in it can be ours to keep.
			return true, dropBrokenWEP(ctx, sc, id.Namespace, id.Name, err)
		}
		if err != nil {
			return false, err
		}
		if w == nil || (w.Spec.ContainerID != "" && w.Spec.ContainerID != containerID) {
			return false, nil
		}
		_, err = sc.Delete(ctx, "WorkloadEndpoint", id.Namespace, id.Name, w.Metadata.ResourceVersion)
		if err == nil {
			return true, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return false, err
		}
	}
	return false, fmt.Errorf("WorkloadEndpoint %s/%s: still changing concurrently after 5 attempts", id.Namespace, id.Name)
}

// profileDoc is the per-network Profile Calico creates when the conf has no policy block.
type profileDoc struct {
	Metadata objMeta     `json:"metadata"`
	Spec     profileSpec `json:"spec"`
}

type profileSpec struct {
	Ingress       []ruleDoc         `json:"ingress"`
	Egress        []ruleDoc         `json:"egress"`
	LabelsToApply map[string]string `json:"labelsToApply"`
}

type ruleDoc struct {
	Action      string         `json:"action"`
	Source      map[string]any `json:"source"`
	Destination map[string]any `json:"destination"`
}

// profileExists reports whether Profile <network> is stored. Only existence matters, so the
// stored value is not decoded; on a read error it says no, and createProfile settles it.
func profileExists(ctx context.Context, sc *store.Client, network string) bool {
	if network == store.DefaultAllowProfile {
		return true // built in, never stored
	}
	k, ok := api.LookupKind("Profile")
	if !ok {
		return false
	}
	_, err := sc.GetKV(ctx, store.ResourceKey(k, "", network))
	return err == nil
}

// createProfile creates Profile <network> unless it exists: ingress only from members of
// the network (k8s: from anywhere), egress anywhere, and the network label on every member.
// Like Calico it is never deleted by the plugin, and an existing one is left as it is.
func createProfile(ctx context.Context, sc *store.Client, network string, k8s bool) error {
	src := map[string]any{"selector": "has(" + network + ")"}
	if k8s {
		src = map[string]any{}
	}
	p := &profileDoc{
		Metadata: objMeta{Name: network},
		Spec: profileSpec{
			Ingress:       []ruleDoc{{Action: "Allow", Source: src, Destination: map[string]any{}}},
			Egress:        []ruleDoc{{Action: "Allow", Source: map[string]any{}, Destination: map[string]any{}}},
			LabelsToApply: map[string]string{network: ""},
		},
	}
	r, err := toResource("Profile", p)
	if err != nil {
		return err
	}
	if _, err := sc.Create(ctx, r); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
		return err
	}
	return nil
}

// dropBrokenWEP reports and deletes an endpoint record that does not decode, at the key this
// container's endpoint owns: one etcdctl accident must not fail its ADD or DEL forever.
func dropBrokenWEP(ctx context.Context, sc *store.Client, namespace, name string, cause error) error {
	k, _ := api.LookupKind("WorkloadEndpoint")
	sc.ReportBroken(store.ResourceKey(k, namespace, name), 0, cause)
	if _, err := sc.Delete(ctx, "WorkloadEndpoint", namespace, name, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}
