package cni

import (
	"context"
	"errors"
	"fmt"

	"github.com/brindle-net/brindle/store"
)

// This file is the part of the CNI plugin's endpoint handling that other runtimes' front
// ends (the Docker plugin, package docker) share, so a Docker container's WorkloadEndpoint
// and network profile are the very records a CNI ADD writes. The CNI path itself calls the
// unexported functions directly; nothing here adds a step to it.

// Endpoint names one workload attachment outside CNI.
type Endpoint struct {
	Node, Namespace, Name string
	Orchestrator          string // e.g. "libnetwork"
	Workload              string
	ContainerID           string
	IfName                string // the container-side interface name as the runtime sees it
	HostVeth              string
	MAC                   string
	IPs                   []string // "<addr>/32", "<addr>/128"
	Network               string   // the per-network profile; "" for none
	// ProfileExists: the caller knows the profile is stored (a long-running caller that
	// created or saw it), which saves the read.
	ProfileExists bool
	Labels        map[string]string
}

func (e Endpoint) identity() wepIdentity {
	return wepIdentity{Name: e.Name, Namespace: e.Namespace, Orchestrator: e.Orchestrator, Workload: e.Workload}
}

// WriteEndpoint creates (or replaces, for the same container) the WorkloadEndpoint and
// creates the network's profile if it does not exist yet, as ADD does.
func WriteEndpoint(ctx context.Context, sc *store.Client, e Endpoint) error {
	var profiles []string
	if e.Network != "" {
		profiles = []string{e.Network}
		if !e.ProfileExists && !profileExists(ctx, sc, e.Network) {
			if err := createProfile(ctx, sc, e.Network, false); err != nil {
				return fmt.Errorf("creating Profile %s: %w", e.Network, err)
			}
		}
	}
	w := newWEP(e.identity(), e.Node, e.ContainerID, e.IfName, e.HostVeth, e.MAC, e.IPs, profiles)
	w.Spec.Workload = e.Workload
	w.addLabels(e.Labels)
	if _, err := writeWEP(ctx, sc, w); err != nil {
		return fmt.Errorf("writing WorkloadEndpoint %s/%s: %w", e.Namespace, e.Name, err)
	}
	return nil
}

// DeleteEndpoint removes the endpoint if it still belongs to containerID; missing is success.
func DeleteEndpoint(ctx context.Context, sc *store.Client, namespace, name, containerID string) error {
	return deleteWEP(ctx, sc, wepIdentity{Namespace: namespace, Name: name}, containerID)
}

// AddEndpointLabels merges labels into a stored endpoint (compare-and-swap with retries).
// found is false when there is no such endpoint.
func AddEndpointLabels(ctx context.Context, sc *store.Client, namespace, name string, labels map[string]string) (found bool, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		w, err := getWEP(ctx, sc, wepIdentity{Namespace: namespace, Name: name})
		if err != nil || w == nil {
			return false, err
		}
		w.addLabels(labels)
		r, err := toResource("WorkloadEndpoint", w)
		if err != nil {
			return true, err
		}
		if _, err = sc.Update(ctx, r); err == nil {
			return true, nil
		}
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return true, err
		}
	}
	return true, fmt.Errorf("WorkloadEndpoint %s/%s: still changing concurrently after 5 attempts", namespace, name)
}
