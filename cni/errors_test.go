package cni

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// A datastore that did not answer is code 11 "Try again later" whatever step failed (the
// runtime retries); anything else keeps the step's own code.
func TestWrapErrRetriable(t *testing.T) {
	for _, c := range []struct {
		code uint
		err  error
		want uint
	}{
		{ErrDatastore, rpctypes.ErrLeaderChanged, types.ErrTryAgainLater},
		{ErrIPAM, fmt.Errorf("assigning addresses: %w", context.DeadlineExceeded), types.ErrTryAgainLater},
		{ErrDatastore, fmt.Errorf("reading: %w", rpctypes.ErrNoLeader), types.ErrTryAgainLater},
		{ErrIPAM, errors.New("no free address in pool default-ipv4-ippool"), ErrIPAM},
		{ErrDatastore, context.Canceled, ErrDatastore},
		{ErrDataplane, newError(ErrCheck, "already a CNI error", ""), ErrCheck},
	} {
		var ce *types.Error
		err := wrapErr(c.code, c.err, "")
		if !errors.As(err, &ce) || ce.Code != c.want {
			t.Errorf("wrapErr(%d, %v) = %v, want code %d", c.code, c.err, err, c.want)
		}
		if got := unanswered(err); got != (c.want == types.ErrTryAgainLater) {
			t.Errorf("unanswered(%v) = %v", err, got)
		}
	}
}
