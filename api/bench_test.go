package api

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeYAML measures decoding a 100-document YAML stream (calicoctl apply -f).
func BenchmarkDecodeYAML(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-%d\nspec:\n  cidr: 10.%d.0.0/16\n  ipipMode: CrossSubnet\n  natOutgoing: true\n", i, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rs, err := DecodeDocuments(data)
		if err != nil || len(rs) != 100 {
			b.Fatal(err, len(rs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/doc")
}

// BenchmarkDecodeStoredJSON measures decoding one stored policy value, as a watch does.
func BenchmarkDecodeStoredJSON(b *testing.B) {
	var v string
	for _, c := range yamlCases {
		if c.kind == "GlobalNetworkPolicy" {
			v = c.want
		}
	}
	data := []byte(v)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDocuments(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidatePolicy measures Default+Validate of a policy with selectors and rules.
func BenchmarkValidatePolicy(b *testing.B) {
	rs, err := DecodeDocuments([]byte(yamlCases[5].yaml))
	if err != nil {
		b.Fatal(err)
	}
	p := rs[0].(*GlobalNetworkPolicy)
	b.ReportAllocs()
	for b.Loop() {
		p.Default()
		if err := p.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
