package store

import (
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// ErrCredentialsRefused marks an error as etcd refusing the client's user name and
// password (or asking for some): retrying will not help.
var ErrCredentialsRefused = errors.New("etcd refused the credentials")

type refused struct{ error }

func (r refused) Unwrap() []error { return []error{r.error, ErrCredentialsRefused} }

// credentialsRefused turns etcd's answers to missing or wrong credentials into an error
// that says which setting to fix; nil for any other error. Without it Ping would report
// "did not answer", which sends the operator looking at the network.
func credentialsRefused(err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrAuthFailed):
		return refused{fmt.Errorf("user name or password refused (ETCD_USERNAME/ETCD_PASSWORD, etcdUsername/etcdPassword): %w", err)}
	case errors.Is(err, rpctypes.ErrUserEmpty), errors.Is(err, rpctypes.ErrInvalidAuthToken):
		return refused{fmt.Errorf("authentication is enabled and no credentials were accepted: set ETCD_USERNAME and ETCD_PASSWORD, or a client certificate whose common name is an etcd user: %w", err)}
	case errors.Is(err, rpctypes.ErrPermissionDenied):
		return fmt.Errorf("the etcd user (ETCD_USERNAME, or the client certificate's common name) may not read /calico/ (grant its role readwrite on the /calico/ prefix): %w", err)
	}
	return nil
}

// CredentialsRefused reports whether err is etcd asking for credentials it was not given,
// refusing them, or denying their user access: retrying the same request cannot succeed.
func CredentialsRefused(err error) bool { return credentialsRefused(err) != nil }
