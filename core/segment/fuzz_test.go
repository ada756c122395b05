package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// odd is a customer whose values are of every type a Go caller could put
// into metadata and traits, including ones JSON never produces.
func odd() Subject {
	var zero time.Time
	return Subject{
		Profile: &customer.Profile{
			Email:     "ODD@x",
			Birthdate: "not a date",
			Address:   &customer.Address{},
			Metadata: map[string]any{
				"nan": math.NaN(), "inf": math.Inf(1), "big": uint64(math.MaxUint64), "u": uint(3), "i8": int8(-1),
				"f32": float32(1.5), "badnum": json.Number("1x"), "hugenum": json.Number("1e999"),
				"zero": zero, "t": now, "nested": []any{nil, []any{"x"}, map[string]any{"a": 1}}, "strs": []string{"a", "b"},
				"a": map[string]any{"b": map[string]any{"c": nil}}, "ints": []int{1, 2},
			},
			Traits: map[string]any{"x": map[string]any{"y": "z"}, "x.y": nil, "": "empty key"},
			Orders: customer.OrderStats{SKUs: map[string]*customer.SKUStats{"nil": nil}, Count: math.MaxInt64, TotalAmount: math.MinInt64},
		},
		Events: map[string]*customer.EventStats{
			"x":   nil,
			"a.b": {Days: map[string]int64{"99999999": 1, "00000101": 2, "20250230": 3, "": 4, customer.DayKey(now): math.MaxInt64}},
		},
	}
}

func FuzzCompile(f *testing.F) {
	for _, tc := range compileErrorCases {
		if len(tc.filter) < 4096 {
			f.Add([]byte(tc.filter))
		}
	}
	for _, tc := range matchCases {
		f.Add([]byte(tc.filter))
	}
	for _, filter := range relativeFilters {
		f.Add([]byte(filter))
	}
	f.Add([]byte(`{"metadata.nested":{"conditions":{"$contains":"x","$within_days":[1]}},"events.a.b.count_2d":{"conditions":{"$is":3}}}`))
	subjects := []Subject{alice(), bare(), nobody(), odd()}
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := Compile(data)
		if err != nil {
			var e *core.Error
			if !errors.As(err, &e) || e.Code != core.CodeInvalid || e.Key != KeyInvalidFilter || e.Message == "" {
				t.Fatalf("Compile error %#v", err)
			}
			return
		}
		if out, err := flt.MarshalJSON(); err != nil || !bytes.Equal(out, data) {
			t.Fatalf("MarshalJSON = %s, %v", out, err)
		}
		evs := flt.Events()
		if !slices.IsSorted(evs) || len(slices.Compact(slices.Clone(evs))) != len(evs) {
			t.Fatalf("Events() = %q", evs)
		}
		r := rand.New(rand.NewPCG(uint64(len(data)), 7))
		for _, s := range append(subjects, randomSubject(r, now), randomSubject(r, now)) {
			flt.Match(s, now)
			next := flt.NextChange(s, now)
			if !next.IsZero() && (!next.After(now) || !flt.TimeRelative()) {
				t.Fatalf("NextChange = %v at %v (time relative: %v)", next, now, flt.TimeRelative())
			}
			if !next.IsZero() && flt.Match(s, next.Add(-time.Nanosecond)) != flt.Match(s, now) {
				t.Fatalf("Match changed before NextChange %v", next)
			}
		}
	})
}
