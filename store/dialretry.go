package store

import (
	"context"
	"errors"
	"time"
)

// DialRetry is Dial for a caller that must start while etcd is down (the node agent). With
// a user name and password, clientv3 authenticates while connecting, so Dial fails when
// etcd does not answer; DialRetry then tries again until ctx ends, telling waiting about
// each failure. Refused credentials and configuration errors end it at once: retrying
// cannot fix them.
func DialRetry(ctx context.Context, cfg Config, waiting func(error)) (*Client, error) {
	delay := 500 * time.Millisecond
	for {
		c, err := Dial(cfg)
		if err == nil || cfg.Username == "" || errors.Is(err, ErrCredentialsRefused) {
			// Without credentials Dial does not talk to etcd: its errors are configuration.
			return c, err
		}
		if waiting != nil {
			waiting(err)
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
