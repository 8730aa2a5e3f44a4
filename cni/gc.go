package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"go.uber.org/zap"
)

// cmdGC releases the addresses (and endpoint records) of this network's attachments on this
// node that the runtime no longer lists in cni.dev/valid-attachments.
func cmdGC(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("GC"); err != nil {
		return err
	}
	ctx, cancel := newContext()
	defer cancel()
	if !c.conf.ownIPAM() {
		// The delegate keeps its own records; old plugins (Debian's 1.1.1) do not know GC.
		if err := invoke.DelegateGC(ctx, c.conf.IPAM.Type, args.StdinData, nil); err != nil {
			c.log.Warn("delegated IPAM plugin did not garbage-collect", zap.String("plugin", c.conf.IPAM.Type), zap.Error(err))
		}
		return nil
	}
	sc, err := connect(ctx, c.conf, c.log)
	if err != nil {
		return err
	}
	defer sc.Close()

	valid := map[string]bool{}
	for _, a := range c.conf.ValidAttachments {
		valid[a.ContainerID] = true
	}
	handles, err := nodeHandles(ctx, sc, c.node, c.conf.Name+".")
	if err != nil {
		return wrapErr(ErrDatastore, fmt.Errorf("listing this node's IPAM handles: %w", err), "")
	}
	alloc := ipam.New(sc, ipam.Options{Logger: c.log})
	var stale []string
	for _, h := range handles {
		cid := strings.TrimPrefix(h, c.conf.Name+".")
		if valid[cid] {
			continue
		}
		if err := alloc.ReleaseByHandle(ctx, h); err != nil {
			return wrapErr(ErrIPAM, fmt.Errorf("releasing stale handle %s: %w", h, err), "")
		}
		stale = append(stale, cid)
		c.log.Info("released addresses of an attachment the runtime no longer has", zap.String("handle", h))
	}
	return deleteStaleWEPs(ctx, sc, c.node, stale)
}

// blockAttrs is the part of an allocation block GC reads: who each allocation belongs to.
type blockAttrs struct {
	Attributes []struct {
		HandleID  *string           `json:"handle_id"`
		Secondary map[string]string `json:"secondary"`
	} `json:"attributes"`
}

// nodeHandles lists the handles with the given prefix whose allocations were made for node
// (attribute "node"), in any block: borrowed addresses live in other hosts' blocks.
func nodeHandles(ctx context.Context, sc *store.Client, node, prefix string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, fam := range []string{"ipv4", "ipv6"} {
		kvs, _, err := sc.ListKV(ctx, store.BlockPrefix(fam))
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			var b blockAttrs
			if err := json.Unmarshal(kv.Value, &b); err != nil {
				continue
			}
			for _, a := range b.Attributes {
				if a.HandleID == nil || !strings.HasPrefix(*a.HandleID, prefix) || a.Secondary["node"] != node || seen[*a.HandleID] {
					continue
				}
				seen[*a.HandleID] = true
				out = append(out, *a.HandleID)
			}
		}
	}
	return out, nil
}

// deleteStaleWEPs removes this node's endpoint records of the released containers.
func deleteStaleWEPs(ctx context.Context, sc *store.Client, node string, containerIDs []string) error {
	if len(containerIDs) == 0 {
		return nil
	}
	gone := map[string]bool{}
	for _, id := range containerIDs {
		gone[id] = true
	}
	list, _, err := sc.List(ctx, "WorkloadEndpoint", "")
	if err != nil {
		return wrapErr(ErrDatastore, fmt.Errorf("listing WorkloadEndpoints: %w", err), "")
	}
	for _, r := range list {
		var w wepDoc
		if fromResource(r, &w) != nil || w.Spec.Node != node || !gone[w.Spec.ContainerID] {
			continue
		}
		id := wepIdentity{Name: w.Metadata.Name, Namespace: w.Metadata.Namespace}
		if err := deleteWEP(ctx, sc, id, w.Spec.ContainerID); err != nil {
			return wrapErr(ErrDatastore, fmt.Errorf("deleting stale WorkloadEndpoint %s/%s: %w", id.Namespace, id.Name, err), "")
		}
	}
	return nil
}
