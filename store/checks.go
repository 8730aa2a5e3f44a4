package store

import (
	"context"

	"github.com/brindle-net/brindle/api"
)

// crossCheck runs validation that needs other stored resources (pool overlap, immutable
// fields). old is the stored object on update, nil on create.
func (c *Client) crossCheck(ctx context.Context, k *api.KindInfo, r, old api.Resource) error {
	return nil
}
