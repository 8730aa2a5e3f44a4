package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// requireLeader sends every KV request with etcd's require-leader flag and retries, on
// another member, a request a member refused for having no leader.
//
// Without the flag a member cut off from its peers takes a linearizable read or a write and
// holds it until its request timeout (5 s plus two election timeouts) before failing it,
// and the client's round-robin keeps sending every third request there: during a partition
// CNI ADDs took seconds each. With the flag that member answers "no leader" at once, before
// it touches the request, so a retry is safe even for a compare-and-swap transaction (etcd
// server's unary interceptor, etcdserver/api/v3rpc/interceptor.go). The same answer comes
// from every member during an election; retries go on until the request's context ends or
// noLeaderBudget has passed, which covers one (about a second with etcd's defaults).
func requireLeader() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any,
		cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !strings.HasPrefix(method, "/etcdserverpb.KV/") {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		ctx = clientv3.WithRequireLeader(ctx)
		deadline := time.Now().Add(noLeaderBudget)
		for {
			err := invoker(ctx, method, req, reply, cc, opts...)
			if !isNoLeader(err) || time.Now().After(deadline) {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(noLeaderRetry):
			}
		}
	})
}

const (
	noLeaderBudget = 3 * time.Second
	noLeaderRetry  = 50 * time.Millisecond
)

func isNoLeader(err error) bool {
	if err == nil {
		return false
	}
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.Unavailable && s.Message() == rpctypes.ErrNoLeader.Error()
}

// IsUnavailable reports whether err means etcd could not be reached or could not serve the
// request for now (no leader, leader changed, timed out, connection lost, deadline passed):
// the caller may try again later, nothing about the request itself was wrong. A caller's
// own cancellation is not unavailability.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code() == codes.Unavailable || ee.Code() == codes.DeadlineExceeded
	}
	if s, ok := status.FromError(err); ok {
		return s.Code() == codes.Unavailable || s.Code() == codes.DeadlineExceeded
	}
	return false
}
