package cluster

import (
	"context"
	"fmt"
	"net"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/brindle-net/brindle/store"
)

// Store opens a store client on the cluster's datastore from the calling process. The
// datastore listens only inside the router namespace, so every connection is dialled from a
// thread switched into that namespace (the socket keeps its namespace afterwards). Benchmarks
// use it to write records straight into etcd and to time writes precisely. Close the client.
func (c *Cluster) Store() (*store.Client, error) {
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		var conn net.Conn
		err := c.Bed.Router.Do(func() error {
			var err error
			conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			return err
		})
		return conn, err
	}
	ec, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{c.Endpoints},
		DialTimeout: 5 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithContextDialer(dial)},
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %s: %w", c.Endpoints, err)
	}
	return store.NewFromEtcd(ec, zap.NewNop()), nil
}
