package datastore

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EnableAuth turns on etcd's authentication the way docs/security.md tells an operator to:
// a root user (password rootPassword) with the root role, and user with a role of the
// same name that may read and write the /calico/ prefix and nothing else. ec must be
// allowed to do all of that (a client of a datastore without auth yet). Tests use it to
// put username and password authentication in front of a real member.
func EnableAuth(ctx context.Context, ec *clientv3.Client, rootPassword, user, password string) error {
	steps := []struct {
		what string
		do   func() error
	}{
		{"adding role root", func() error { _, err := ec.RoleAdd(ctx, "root"); return err }},
		{"adding user root", func() error { _, err := ec.UserAdd(ctx, "root", rootPassword); return err }},
		{"granting root the root role", func() error { _, err := ec.UserGrantRole(ctx, "root", "root"); return err }},
		{"adding role " + user, func() error { _, err := ec.RoleAdd(ctx, user); return err }},
		{"granting " + user + " readwrite on /calico/", func() error {
			_, err := ec.RoleGrantPermission(ctx, user, "/calico/", clientv3.GetPrefixRangeEnd("/calico/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		}},
		{"adding user " + user, func() error { _, err := ec.UserAdd(ctx, user, password); return err }},
		{"granting " + user + " its role", func() error { _, err := ec.UserGrantRole(ctx, user, user); return err }},
		{"enabling authentication", func() error { _, err := ec.AuthEnable(ctx); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}
