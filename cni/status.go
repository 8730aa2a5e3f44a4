package cni

import (
	"errors"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// cmdStatus reports whether the plugin can serve ADDs: the datastore answers and is marked
// ready. Anything else is code 50 (plugin not available) with the reason.
func cmdStatus(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	log := newLogger(conf)
	ctx, cancel := newContext()
	defer cancel()
	sc, err := connect(ctx, conf, log)
	if err != nil {
		return notAvailable(err)
	}
	defer sc.Close()
	return notAvailable(checkReady(ctx, sc))
}

func notAvailable(err error) error {
	if err == nil {
		return nil
	}
	var ce *types.Error
	if errors.As(err, &ce) {
		return newError(types.ErrPluginNotAvailable, ce.Msg, ce.Details)
	}
	return newError(types.ErrPluginNotAvailable, err.Error(), "")
}
