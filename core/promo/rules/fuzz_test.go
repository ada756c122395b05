package rules

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/promorelay/promorelay/core"
)

// FuzzParse: Parse never panics, refuses only with an invalid *core.Error,
// and what it accepts re-marshals and re-parses to an equal rule that
// evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, file := range fixtures(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"name":"x","rules":{"logic":"1"}}`,
		oneCond(`{"name":"customer.segment","conditions":{"$in":["a","b"]}}`),
		oneCond(`{"name":"publication.redeemable_by_linked_customer","conditions":{}}`),
		oneCond(`{"name":"order.metadata","property":"d","conditions":{"$is_days_ago":[2],"$after":["2024-01-01"]}}`),
		oneCond(`{"name":"order.items.cheapest","conditions":{"$in":[{"object":"sku","source_id":"s"}]},"rules":{"1":{"name":"order.items.aggregated_amount","conditions":{"$more_than":[1e3]}},"logic":"not 1"}}`),
		oneCond(`{"name":"product.id","conditions":{"$not_in":["p"]},"rules":{"1":{"name":"product.metadata","property":"x","conditions":{"$count_less":[3]}}}}`),
		`{"name":"x","rules":{"1":{"name":"order.amount","conditions":{"$is":[12345678901234567890]}},"logic":"((1))"}}`,
		`{"name":"x","applicable_to":{"included":[{"object":"product","id":"p","price":1.5,"price_formula":"a*2"}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if core.ErrorCode(err) != core.CodeInvalid || core.ErrorKey(err) != InvalidKey {
				t.Fatalf("error %v is not an invalid-rule error", err)
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("re-parsed rule differs\nfirst  %#v\nsecond %#v\njson %s", r, again, out)
		}
		r.Evaluate(shop())
		r.Evaluate(Context{Now: now})
		CountersNeeded([]Rule{r})
	})
}
