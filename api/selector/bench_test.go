package selector

import "testing"

// BenchmarkEvaluate prints the cost of matching one policy-sized selector against one
// endpoint's labels: go test -bench . -benchmem ./api/selector
func BenchmarkEvaluate(b *testing.B) {
	s := MustParse(`(app in {"api", "db", "web", "worker"} || env starts with "prod") && !has(quarantine) && tier != "test" && global()`)
	labels := map[string]string{"app": "web", "env": "prod-eu", "tier": "frontend", "version": "v2"}
	b.ReportAllocs()
	for b.Loop() {
		s.Evaluate(labels)
	}
}

func BenchmarkParse(b *testing.B) {
	const in = `(app in {"api", "db", "web", "worker"} || env starts with "prod") && !has(quarantine) && tier != "test" && global()`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
