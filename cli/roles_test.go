package cli

import (
	"strings"
	"testing"
)

func TestServerRole(t *testing.T) {
	cases := map[string]bool{
		"brindle node run":                             true,
		"brindle node status":                          false,
		"brindle --etcd-endpoints http://x:1 node run": true,
		"brindle --etcd-endpoints=http://x:1 felix":    true,
		"brindle datastore run --data-dir /tmp/x":      true,
		"brindle bgp":                                  true,
		"brindle get ippools":                          false,
		"brindle --log-level debug get nodes":          false,
		"brindle":                                      false,
		"brindle --help":                               false,
		"brindle ipam show":                            false,
		"brindle -l debug node run --name n1":          true,
		"brindle version":                              false,
	}
	for cmd, want := range cases {
		if got := serverRole(strings.Fields(cmd)); got != want {
			t.Errorf("%q: serverRole=%v, want %v", cmd, got, want)
		}
	}
}
