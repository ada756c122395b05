package embedded_test

import (
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/storetest"
	"github.com/promorelay/promorelay/infra/embedded"
)

func TestEmbeddedConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock core.Clock) core.Store {
		s, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Clock: clock, SweepEvery: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
