package cni

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The name check is written out for start-up speed; it must accept exactly what the
// DNS-subdomain regexp it replaced accepts.
var k8sNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

func TestIsK8sNameMatchesRegexp(t *testing.T) {
	cases := []string{"", "a", "-", ".", "a-", "-a", "a.b", "a..b", "A", "a_b", "kube-system", "coredns-abc",
		strings.Repeat("a", 253), strings.Repeat("a", 254), "a" + strings.Repeat("-", 251) + "b", "é", "a\x00b"}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "az09-._A/"
	for i := 0; i < 20000; i++ {
		n := r.IntN(8)
		if r.IntN(50) == 0 {
			n = 250 + r.IntN(6)
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := isK8sName(s), k8sNameRE.MatchString(s); got != want {
			t.Errorf("isK8sName(%q) = %v, regexp says %v", s, got, want)
		}
	}
}
