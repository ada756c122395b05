package rules

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "complex_rule.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluate runs the fixture's rule through its longest path: every
// condition is evaluated, the nested ones per item.
func BenchmarkEvaluate(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "complex_rule.json"))
	if err != nil {
		b.Fatal(err)
	}
	r, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	ctx := fixtureCtx("Porto", 0)
	for b.Loop() {
		if f := r.Evaluate(ctx); f == nil {
			b.Fatal("passed")
		}
	}
}
