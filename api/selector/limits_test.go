package selector

import (
	"strings"
	"testing"
)

// A hostile selector is refused with a short message: over MaxLength, or nested deeper than
// maxDepth (the parser recurses; Go cannot recover from a stack overflow).
func TestHostileSelectorsRefusedBriefly(t *testing.T) {
	for name, in := range map[string]string{
		"1 MB":             `a == "` + strings.Repeat("x", 1<<20) + `"`,
		"100k parentheses": strings.Repeat("(", 100000) + "all()" + strings.Repeat(")", 100000),
		"100k negations":   strings.Repeat("!", 100000) + "has(a)",
		"long, bad at end": strings.Repeat(`a == "b" && `, 3000) + "&&",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if msg := err.Error(); len(msg) > 300 {
			t.Errorf("%s: %d-byte error: %.300s", name, len(msg), msg)
		}
	}
	// Just under the limit and at the depth limit still parse.
	if _, err := Parse(`a in {"` + strings.Repeat("x", MaxLength-20) + `"}`); err != nil {
		t.Errorf("a selector under MaxLength: %v", err)
	}
	if _, err := Parse(strings.Repeat("(", maxDepth-1) + "all()" + strings.Repeat(")", maxDepth-1)); err != nil {
		t.Errorf("nesting within maxDepth: %v", err)
	}
}
