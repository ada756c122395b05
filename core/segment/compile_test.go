package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/promorelay/promorelay/core"
)

func nested(levels int) string {
	f := `{"name":{"conditions":{"$is":"x"}}}`
	for range levels - 1 {
		f = `{"filters":[` + f + `]}`
	}
	return f
}

func manyConditions(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"metadata.k%d":{"conditions":{"$is":"v"}}`, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func manyValues(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf(`"v%d"`, i)
	}
	return `{"name":{"conditions":{"$in":[` + strings.Join(vals, ",") + `]}}}`
}

// compileErrorCases are filters Compile refuses, each with the problems its
// message must list.
var compileErrorCases = []struct {
	name   string
	filter string
	want   []string
}{
	{"unknown field", `{"foo":{"conditions":{"$is":"x"}}}`, []string{"filter.foo: unknown field"}},
	{"unknown address field", `{"address.street":{"conditions":{"$is":"x"}}}`, []string{"filter.address.street: unknown field; address fields"}},
	{"unknown order field", `{"orders.total":{"conditions":{"$is":1}}}`, []string{"filter.orders.total: unknown field; order fields"}},
	{"unknown sku measure", `{"orders.sku.tea.amount":{"conditions":{"$is":1}}}`, []string{"filter.orders.sku.tea.amount: unknown field"}},
	{"sku without id", `{"orders.sku.quantity":{"conditions":{"$is":1}}}`, []string{"filter.orders.sku.quantity: unknown field"}},
	{"unknown product measure", `{"orders.product.p.orders":{"conditions":{"$is":1}}}`, []string{"filter.orders.product.p.orders: unknown field"}},
	{"unknown event measure", `{"events.x.total":{"conditions":{"$is":1}}}`, []string{"filter.events.x.total: unknown field; event fields"}},
	{"event without name", `{"events.count":{"conditions":{"$is":1}}}`, []string{"filter.events.count: unknown field"}},
	{"event window 0", `{"events.x.count_0d":{"conditions":{"$is":1}}}`, []string{"filter.events.x.count_0d: unknown field; count_<D>d takes a window D of 1 to 366 days"}},
	{"event window 367", `{"events.x.count_367d":{"conditions":{"$is":1}}}`, []string{"filter.events.x.count_367d: unknown field; count_<D>d"}},
	{"event window leading zero", `{"events.x.count_07d":{"conditions":{"$is":1}}}`, []string{"filter.events.x.count_07d: unknown field"}},
	{"event window no unit", `{"events.x.count_7":{"conditions":{"$is":1}}}`, []string{"filter.events.x.count_7: unknown field"}},
	{"metadata without key", `{"metadata.":{"conditions":{"$is":1}}}`, []string{"filter.metadata.: unknown field; name a key"}},
	{"traits alone", `{"traits":{"conditions":{"$is":1}}}`, []string{"filter.traits: unknown field; name a key"}},
	{"consents without channel", `{"consents.":{"conditions":{"$is":true}}}`, []string{"filter.consents.: unknown field; name a channel"}},
	{"unknown operator", `{"name":{"conditions":{"$equals":"x"}}}`, []string{"filter.name.conditions.$equals: unknown operator"}},
	{"voucherify's $next_month", `{"birthdate":{"conditions":{"$next_month":[true]}}}`, []string{"filter.birthdate.conditions.$next_month: unknown operator"}},
	{"text op on number", `{"orders.total_count":{"conditions":{"$starts_with":"1"}}}`, []string{"filter.orders.total_count.conditions.$starts_with: not valid for a number field"}},
	{"number op on time", `{"created_at":{"conditions":{"$more_than":[10]}}}`, []string{"filter.created_at.conditions.$more_than: not valid for a time field"}},
	{"is on set", `{"orders.skus":{"conditions":{"$is":"sku_tea"}}}`, []string{"filter.orders.skus.conditions.$is: not valid for a set field"}},
	{"time op on text", `{"name":{"conditions":{"$after":"2024-01-01"}}}`, []string{"filter.name.conditions.$after: not valid for a text field"}},
	{"relative op on number", `{"events.x.count":{"conditions":{"$within_days":[3]}}}`, []string{"filter.events.x.count.conditions.$within_days: not valid for a number field"}},
	{"contains on bool", `{"consents.sms":{"conditions":{"$contains":"x"}}}`, []string{"filter.consents.sms.conditions.$contains: not valid for a true/false field"}},
	{"string for number", `{"filters":[{"name":{"conditions":{"$is":"x"}}},{"orders.total_amount":{"conditions":{"$more_than":"100"}}}]}`,
		[]string{"filter.filters[1].orders.total_amount.conditions.$more_than: expects a number"}},
	{"number for string", `{"email":{"conditions":{"$in":["a@b.c",5]}}}`, []string{"filter.email.conditions.$in: expects a string"}},
	{"not a time", `{"created_at":{"conditions":{"$after":"yesterday"}}}`, []string{"filter.created_at.conditions.$after: expects a time (RFC 3339 or YYYY-MM-DD)"}},
	{"number for time", `{"orders.last_order_date":{"conditions":{"$before":20240101}}}`, []string{"filter.orders.last_order_date.conditions.$before: expects a time"}},
	{"string for bool", `{"consents.email":{"conditions":{"$is":"yes"}}}`, []string{"filter.consents.email.conditions.$is: expects true or false"}},
	{"object value", `{"metadata.x":{"conditions":{"$in":[{"a":1}]}}}`, []string{"filter.metadata.x.conditions.$in: expects a string, number or boolean"}},
	{"null value", `{"metadata.x":{"conditions":{"$is":[null]}}}`, []string{"filter.metadata.x.conditions.$is: expects a string, number or boolean"}},
	{"no value", `{"name":{"conditions":{"$in":[]}}}`, []string{"filter.name.conditions.$in: expects a string"}},
	{"null operand", `{"name":{"conditions":{"$is":null}}}`, []string{"filter.name.conditions.$is: expects a string"}},
	{"two values for more_than", `{"orders.total_count":{"conditions":{"$more_than":[1,2]}}}`, []string{"filter.orders.total_count.conditions.$more_than: expects one value"}},
	{"two values for after", `{"created_at":{"conditions":{"$after":["2024-01-01","2024-02-01"]}}}`, []string{"filter.created_at.conditions.$after: expects one value"}},
	{"zero days", `{"created_at":{"conditions":{"$within_days":[0]}}}`, []string{"filter.created_at.conditions.$within_days: expects one whole number of days from 1 to 36500"}},
	{"fractional days", `{"created_at":{"conditions":{"$older_than_days":[1.5]}}}`, []string{"filter.created_at.conditions.$older_than_days: expects one whole number of days"}},
	{"string days", `{"created_at":{"conditions":{"$older_than_days":["3"]}}}`, []string{"filter.created_at.conditions.$older_than_days: expects one whole number of days"}},
	{"two days", `{"created_at":{"conditions":{"$within_days":[1,2]}}}`, []string{"filter.created_at.conditions.$within_days: expects one whole number of days"}},
	{"too many days", `{"created_at":{"conditions":{"$within_days":[36501]}}}`, []string{"filter.created_at.conditions.$within_days: expects one whole number of days"}},
	{"has_value false", `{"name":{"conditions":{"$has_value":false}}}`, []string{`filter.name.conditions.$has_value: takes no value ("", true or [])`}},
	{"is_unknown with a value", `{"name":{"conditions":{"$is_unknown":["x"]}}}`, []string{`filter.name.conditions.$is_unknown: takes no value`}},
	{"too deep", nested(MaxDepth + 1), []string{"filter" + strings.Repeat(".filters[0]", MaxDepth) + ": nested more than 8 levels deep"}},
	{"empty", `{}`, []string{"filter: has no conditions"}},
	{"only a junction", `{"junction":"or","not":true}`, []string{"filter: has no conditions"}},
	{"no filters", `{"filters":[]}`, []string{"filter: has no conditions"}},
	{"empty nested", `{"name":{"conditions":{"$is":"x"}},"filters":[{"junction":"or"}]}`, []string{"filter.filters[0]: has no conditions"}},
	{"no operators", `{"name":{"conditions":{}}}`, []string{"filter.name.conditions: has no operators"}},
	{"no conditions", `{"name":{}}`, []string{`filter.name: has no "conditions"`}},
	{"conditions not an object", `{"name":{"conditions":["$is","x"]}}`, []string{"filter.name.conditions: must be an object of operators"}},
	{"field not an object", `{"name":"Alice"}`, []string{`filter.name: must be an object {"conditions": {…}}`}},
	{"extra key", `{"name":{"conditions":{"$is":"x"},"junction":"or"}}`, []string{`filter.name.junction: unknown key; a field takes only "conditions"`}},
	{"bad junction", `{"junction":"xor","name":{"conditions":{"$is":"x"}}}`, []string{`filter.junction: must be "and" or "or"`}},
	{"null junction", `{"junction":null,"name":{"conditions":{"$is":"x"}}}`, []string{`filter.junction: must be "and" or "or"`}},
	{"bad not", `{"not":"yes","name":{"conditions":{"$is":"x"}}}`, []string{"filter.not: must be true or false"}},
	{"filters not an array", `{"filters":{"name":{"conditions":{"$is":"x"}}}}`, []string{"filter.filters: must be an array of filters"}},
	{"nested not an object", `{"filters":[["x"]]}`, []string{"filter.filters[0]: must be an object"}},
	{"array", `[]`, []string{"filter: must be an object"}},
	{"null", `null`, []string{"filter: must be an object"}},
	{"malformed", `{"name":`, []string{"filter: malformed JSON"}},
	{"nothing", ``, []string{"filter: malformed JSON"}},
	{"trailing data", `{"name":{"conditions":{"$is":"x"}}} {}`, []string{"filter: malformed JSON"}},
	{"too large", `{"name":{"conditions":{"$is":"` + strings.Repeat("x", MaxBytes) + `"}}}`, []string{"filter: larger than 16384 bytes"}},
	{"too many conditions", manyConditions(MaxConditions + 1), []string{"filter: more than 100 conditions (101)"}},
	{"too many values", manyValues(MaxValues + 1), []string{"filter.name.conditions.$in: more than 100 values"}},
	{"repeated operator", `{"name":{"conditions":{"$is":"a","$is":"b"}}}`, []string{"filter.name.conditions.$is: repeated"}},
	{"repeated field", `{"name":{"conditions":{"$is":"a"}},"name":{"conditions":{"$is":"b"}}}`, []string{"filter.name: repeated"}},
	{"every problem", `{"junction":"or","foo":{"conditions":{"$is":"x"}},"filters":[{"name":{"conditions":{"$bogus":1}}},` +
		`{"not":true,"orders.total_amount":{"conditions":{"$more_than":"100","$less_than":[5]}},"events.Order Completed.count_7d":{"conditions":{"$after":"2024-01-01"}}}]}`,
		[]string{
			"filter.foo: unknown field",
			"filter.filters[0].name.conditions.$bogus: unknown operator",
			"filter.filters[1].orders.total_amount.conditions.$more_than: expects a number",
			"filter.filters[1].events.Order Completed.count_7d.conditions.$after: not valid for a number field",
		}},
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range compileErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(json.RawMessage(tc.filter))
			if err == nil {
				t.Fatalf("Compile accepted %s", tc.filter)
			}
			if f != nil {
				t.Errorf("Compile returned a filter with its error")
			}
			var e *core.Error
			if !errors.As(err, &e) || e.Code != core.CodeInvalid || e.Key != KeyInvalidFilter {
				t.Fatalf("error %#v: want a *core.Error with code invalid and key %s", err, KeyInvalidFilter)
			}
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("errors.Is(err, core.ErrInvalid) is false")
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q\nlacks %q", e.Message, w)
				}
			}
		})
	}
}

func TestCompileErrorListsAtMost20Problems(t *testing.T) {
	parts := make([]string, 25)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"bogus%d":{"conditions":{"$is":"x"}}`, i)
	}
	_, err := Compile(json.RawMessage("{" + strings.Join(parts, ",") + "}"))
	msg := core.ErrorMessage(err)
	if got := strings.Count(msg, "unknown field"); got != maxReported {
		t.Errorf("message lists %d problems, want %d: %s", got, maxReported, msg)
	}
	if !strings.HasSuffix(msg, "; and 5 more") || !strings.Contains(msg, "filter.bogus0: unknown field") {
		t.Errorf("message %q", msg)
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, filter := range []string{
		// Voucherify's examples (segments.json), without $next_month.
		`{"junction":"and","created_at":{"conditions":{"$after":["2021-12-01T00:00:00.000Z"]}}}`,
		`{"junction":"and","address.country":{"conditions":{"$is":"Poland"}},"metadata.club_level":{"conditions":{"$in":["Gold","Silver"]}}}`,
		`{"junction":"OR","name":{"conditions":{"$has_value":""}},"email":{"conditions":{"$is_unknown":[]}},"phone":{"conditions":{"$has_value":true}},"id":{"conditions":{"$is_unknown":null}}}`,
		nested(MaxDepth),
		manyConditions(MaxConditions),
		manyValues(MaxValues),
		`{"events.Order Completed.count_366d":{"conditions":{"$more_than_equal":[1]}},"events.a.b.c.last_at":{"conditions":{"$within_days":[36500]}}}`,
		`{"orders.sku.sku.with.dots.orders":{"conditions":{"$is":[1,2,3]}},"orders.product.p.quantity":{"conditions":{"$less_than_equal":2.5}}}`,
		`{"traits.company.name":{"conditions":{"$starts_with":["Ac","Ex"],"$ends_with":"me","$not_contain":"x"}}}`,
		`{"metadata.x":{"conditions":{"$is":["a",1,true,"2024-01-01"],"$after":"2024-01-01","$more_than":-1e3}}}`,
		`{"consents.email":{"conditions":{"$is":true,"$not_in":[false]}}}`,
		`{"birthdate":{"conditions":{"$before":"2000-01-01","$is_not":"1990-05-02"}}}`,
		`{"orders.skus":{"conditions":{"$contains":"a","$not_contain":["b"],"$in":["c"],"$not_in":["d"],"$has_value":""}}}`,
	} {
		if _, err := Compile(json.RawMessage(filter)); err != nil {
			t.Errorf("Compile(%.80s…): %v", filter, err)
		}
	}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		filter string
		want   []string
	}{
		{`{"name":{"conditions":{"$is":"x"}}}`, nil},
		{`{"events.b.count":{"conditions":{"$more_than":[1]}},"filters":[{"events.Order Completed.count_7d":{"conditions":{"$is":1}}},` +
			`{"events.a.b.first_at":{"conditions":{"$has_value":""}},"events.b.last_at":{"conditions":{"$is_unknown":""}}}]}`,
			[]string{"Order Completed", "a.b", "b"}},
		{`{"events.review_left.count_30d":{"conditions":{"$less_than":[1]}}}`, []string{"review_left"}},
	}
	for _, tc := range tests {
		f := MustCompile(t, tc.filter)
		got := f.Events()
		if !slices.Equal(got, tc.want) {
			t.Errorf("Events() of %s = %q, want %q", tc.filter, got, tc.want)
		}
		if len(got) > 0 {
			got[0] = "mutated"
			if f.Events()[0] == "mutated" {
				t.Errorf("Events() shares its slice")
			}
		}
	}
}

func TestTimeRelative(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		{`{"created_at":{"conditions":{"$after":"2024-01-01"}}}`, false},
		{`{"events.x.count":{"conditions":{"$more_than":[1]}},"events.x.last_at":{"conditions":{"$before":"2024-01-01"}}}`, false},
		{`{"orders.last_order_date":{"conditions":{"$older_than_days":[30]}}}`, true},
		{`{"filters":[{"not":true,"traits.seen":{"conditions":{"$within_days":[7]}}}],"name":{"conditions":{"$is":"x"}}}`, true},
		{`{"events.x.count_7d":{"conditions":{"$more_than":[1]}}}`, true},
		{`{"events.x.count_7d":{"conditions":{"$has_value":""}}}`, true},
	}
	for _, tc := range tests {
		if got := MustCompile(t, tc.filter).TimeRelative(); got != tc.want {
			t.Errorf("TimeRelative() of %s = %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestRawAndMarshalJSON(t *testing.T) {
	const filter = `{"junction": "or",  "name": {"conditions": {"$is": "x"}}}`
	raw := json.RawMessage(filter)
	f, err := Compile(raw)
	if err != nil {
		t.Fatal(err)
	}
	raw[2] = 'X' // Compile keeps its own copy
	if got := string(f.Raw()); got != filter {
		t.Errorf("Raw() = %s", got)
	}
	f.Raw()[0] = 'X' // and Raw hands out copies
	out, err := json.Marshal(struct {
		Filter *Filter `json:"filter"`
		None   *Filter `json:"none"`
	}{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"filter":{"junction":"or","name":{"conditions":{"$is":"x"}}},"none":null}`; string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := MustCompile(t, `{"junction":"or","events.Order Completed.count_7d":{"conditions":{"$more_than":[2]}},`+
		`"orders.last_order_date":{"conditions":{"$within_days":[30]}},"traits.plan":{"conditions":{"$in":["pro"]}}}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				s := alice()
				if !f.Match(s, now) || f.NextChange(s, now).IsZero() || len(f.Events()) != 1 {
					t.Error("unexpected result")
					return
				}
			}
		})
	}
	wg.Wait()
}
