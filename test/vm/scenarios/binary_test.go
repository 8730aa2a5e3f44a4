package scenarios

import (
	"strings"
	"testing"

	"github.com/brindle-net/brindle/test/testbed"
)

// TestInfraBrindleRuns is part of the infrastructure smoke test: the brindle binary the
// runner shares into the guest executes inside a host namespace of the test bed.
func TestInfraBrindleRuns(t *testing.T) {
	RequireVM(t)
	bed := testbed.Start(t, testbed.Options{Prefix: nsPrefix, Hosts: []testbed.HostOptions{{Name: "a"}}})
	out := RunBrindle(t, bed.Hosts[0].Netns, nil, "version")
	if !strings.Contains(strings.ToLower(out), "brindle") {
		t.Errorf("brindle version printed %q, want it to name brindle", out)
	}
}
