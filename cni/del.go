package cni

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"go.uber.org/zap"
)

// cmdDel removes the workload's interface, releases its addresses and deletes its endpoint.
// It is idempotent: a missing netns, interface, handle or endpoint is success. Every step is
// tried even when an earlier one failed, and the first failure is returned so the runtime
// retries the DEL.
func cmdDel(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("DEL"); err != nil {
		return err
	}
	ctx, cancel := newContext()
	defer cancel()
	ph := newPhases()
	defer ph.log(c.log)
	// Connecting overlaps the kernel's deletion of the veth; the addresses are released only
	// once the kernel has announced the veth gone, so a new container given the same address
	// can never find this one's host route still in place.
	sess := startSession(ctx, c, nil)
	defer sess.close()

	var errs []error
	unwiring, err := StartUnwire(args.Netns, args.IfName)
	ph.done("vethGone")
	if err != nil {
		errs = append(errs, wrapErr(ErrDataplane, err, ""))
	}
	sc, err := sess.wait()
	ph.done("connected")
	if err != nil {
		// Without the datastore neither the addresses nor the endpoint can be released; the
		// runtime must retry, so this is an error even though the interface is gone.
		if unwiring != nil {
			_ = unwiring.Wait()
		}
		return err
	}
	var relErr, wepErr error
	var wepDeleted bool
	_ = parallel(
		func() error {
			relErr = sourceFor(c.conf).release(ctx, c.ipamRequest(sc))
			return nil
		},
		func() error {
			var err error
			if wepDeleted, err = deleteOwnWEP(ctx, sc, c.id, args.ContainerID); err != nil {
				wepErr = wrapErr(ErrDatastore, fmt.Errorf("deleting WorkloadEndpoint %s/%s: %w", c.id.Namespace, c.id.Name, err), "")
			}
			return nil
		},
	)
	ph.done("released")
	if unwiring != nil {
		if err := unwiring.Wait(); err != nil {
			errs = append(errs, wrapErr(ErrDataplane, err, ""))
		}
		ph.done("vethFreed")
	}
	for _, err := range []error{relErr, wepErr} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		var ce *types.Error
		if errors.As(errs[0], &ce) && len(errs) > 1 {
			msgs := make([]string, len(errs))
			for i, e := range errs {
				msgs[i] = e.Error()
			}
			return newError(ce.Code, strings.Join(msgs, "; "), ce.Details)
		}
		return errs[0]
	}
	if !wepDeleted && (unwiring == nil || !unwiring.found) {
		// Runtimes send DEL for containers that were never added (nerdctl and containerd
		// before every ADD, any runtime after a failed ADD): not news.
		c.log.Debug("nothing of this container was found; DEL done")
		return nil
	}
	c.log.Info("workload deleted", zap.String("hostVeth", c.veth))
	return nil
}
