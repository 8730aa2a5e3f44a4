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
	var errs []error
	if err := Unwire(args.Netns, args.IfName, c.veth); err != nil {
		errs = append(errs, wrapErr(ErrDataplane, err, ""))
	}

	ctx, cancel := newContext()
	defer cancel()
	sc, err := connect(ctx, c.conf, c.log)
	if err != nil {
		// Without the datastore neither the addresses nor the endpoint can be released; the
		// runtime must retry, so this is an error even though the interface is gone.
		return err
	}
	defer sc.Close()

	if err := sourceFor(c.conf).release(ctx, c.ipamRequest(sc)); err != nil {
		errs = append(errs, err)
	}
	if err := deleteWEP(ctx, sc, c.id, args.ContainerID); err != nil {
		errs = append(errs, wrapErr(ErrDatastore, fmt.Errorf("deleting WorkloadEndpoint %s/%s: %w", c.id.Namespace, c.id.Name, err), ""))
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
	c.log.Info("workload deleted", zap.String("hostVeth", c.veth))
	return nil
}
