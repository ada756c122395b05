package segment

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

// c builds a one-field filter.
func c(field, conditions string) string {
	return `{"` + field + `":{"conditions":` + conditions + `}}`
}

// matchCases are filters with their result for alice, for a customer with
// only an id (bare) and for one with no profile at all (nobody).
var matchCases = []struct {
	name             string
	filter           string
	alice, bare, nob bool
}{
	// Profile text fields.
	{"id is", c("id", `{"$is":"cust_alice"}`), true, false, false},
	{"source_id in", c("source_id", `{"$in":["x","alice-1"]}`), true, false, false},
	{"name is is case-sensitive", c("name", `{"$is":"alice smith"}`), false, false, false},
	{"name is_not", c("name", `{"$is_not":"Bob"}`), true, true, true},
	{"name is_not same", c("name", `{"$is_not":"Alice Smith"}`), false, true, true},
	{"name not_in", c("name", `{"$not_in":["Bob","Carol"]}`), true, true, true},
	{"name contains", c("name", `{"$contains":["xyz","Smi"]}`), true, false, false},
	{"name not_contain", c("name", `{"$not_contain":"Smi"}`), false, true, true},
	{"name starts_with", c("name", `{"$starts_with":"Ali"}`), true, false, false},
	{"name ends_with", c("name", `{"$ends_with":["ith"]}`), true, false, false},
	{"name starts and ends (AND)", c("name", `{"$starts_with":"Ali","$ends_with":"Bob"}`), false, false, false},
	{"name has_value", c("name", `{"$has_value":""}`), true, false, false},
	{"name is_unknown", c("name", `{"$is_unknown":""}`), false, true, true},
	{"description is_unknown (empty string)", c("description", `{"$is_unknown":true}`), true, true, true},
	{"email is folds case", c("email", `{"$is":"alice@example.COM"}`), true, false, false},
	{"email in folds case", c("email", `{"$in":["ALICE@EXAMPLE.COM"]}`), true, false, false},
	{"email ends_with folds case", c("email", `{"$ends_with":"@EXAMPLE.com"}`), true, false, false},
	{"email is_not folds case", c("email", `{"$is_not":"ALICE@example.com"}`), false, true, true},
	{"phone starts_with", c("phone", `{"$starts_with":"+48"}`), true, false, false},
	{"address.city", c("address.city", `{"$is":"Warsaw"}`), true, false, false},
	{"address.country", c("address.country", `{"$in":["Poland","Germany"]}`), true, false, false},
	{"address.postal_code", c("address.postal_code", `{"$starts_with":"00-"}`), true, false, false},
	{"address.line_1", c("address.line_1", `{"$contains":"ł"}`), true, false, false},
	{"address.line_2 unknown", c("address.line_2", `{"$is_unknown":""}`), true, true, true},
	{"address.state is_not", c("address.state", `{"$is_not":"Mazowieckie"}`), true, true, true},

	// Profile times.
	{"created_at after", c("created_at", `{"$after":"2023-12-31T23:59:59Z"}`), true, false, false},
	{"created_at after date", c("created_at", `{"$after":"2024-01-01"}`), true, false, false},
	{"created_at before", c("created_at", `{"$before":"2024-01-01T09:30:00Z"}`), false, false, false},
	{"created_at is day", c("created_at", `{"$is":"2024-01-01"}`), true, false, false},
	{"created_at is instant", c("created_at", `{"$is":"2024-01-01T10:30:00+01:00"}`), true, false, false},
	{"created_at is other instant", c("created_at", `{"$is":"2024-01-01T10:30:00Z"}`), false, false, false},
	{"created_at is_not", c("created_at", `{"$is_not":"2024-01-02"}`), true, true, true},
	{"created_at has_value", c("created_at", `{"$has_value":""}`), true, false, false},
	{"created_at within_days", c("created_at", `{"$within_days":[30]}`), false, false, false},
	{"created_at older_than_days", c("created_at", `{"$older_than_days":[30]}`), true, false, false},
	{"birthdate is", c("birthdate", `{"$is":"1990-05-01"}`), true, false, false},
	{"birthdate before", c("birthdate", `{"$before":"2000-01-01"}`), true, false, false},
	{"birthdate after the day", c("birthdate", `{"$after":"1990-05-01"}`), false, false, false},
	{"birthdate in", c("birthdate", `{"$in":["1990-05-02","1990-05-01"]}`), true, false, false},
	{"birthdate older than 18 years", c("birthdate", `{"$older_than_days":[6575]}`), true, false, false},

	// Metadata and traits.
	{"metadata is", c("metadata.club_level", `{"$is":"Gold"}`), true, false, false},
	{"metadata in", c("metadata.club_level", `{"$in":["Gold","Silver"]}`), true, false, false},
	{"metadata is case-sensitive", c("metadata.club_level", `{"$is":"gold"}`), false, false, false},
	{"metadata number is", c("metadata.age", `{"$is":34}`), true, false, false},
	{"metadata number is float", c("metadata.age", `{"$is":34.0}`), true, false, false},
	{"metadata number is string", c("metadata.age", `{"$is":"34"}`), false, false, false},
	{"metadata number more_than", c("metadata.age", `{"$more_than":18,"$less_than_equal":[34]}`), true, false, false},
	{"metadata json.Number less_than", c("metadata.score", `{"$less_than":7.6,"$more_than_equal":7.5}`), true, false, false},
	{"metadata int64", c("metadata.count", `{"$is":12,"$more_than":11.5}`), true, false, false},
	{"metadata text not a number", c("metadata.club_level", `{"$more_than":1}`), false, false, false},
	{"metadata bool", c("metadata.vip", `{"$is":true}`), true, false, false},
	{"metadata bool is_not", c("metadata.vip", `{"$is_not":false}`), true, true, true},
	{"metadata bool is string", c("metadata.vip", `{"$is":"true"}`), false, false, false},
	{"metadata array contains", c("metadata.tags", `{"$contains":"tea"}`), true, false, false},
	{"metadata array contains number", c("metadata.tags", `{"$contains":7}`), true, false, false},
	{"metadata array contains is membership", c("metadata.tags", `{"$contains":"te"}`), false, false, false},
	{"metadata array is element", c("metadata.tags", `{"$is":"coffee"}`), true, false, false},
	{"metadata array not_in", c("metadata.tags", `{"$not_in":["milk","tea"]}`), false, true, true},
	{"metadata array not_contain", c("metadata.tags", `{"$not_contain":"milk"}`), true, true, true},
	{"metadata array starts_with", c("metadata.tags", `{"$starts_with":"cof"}`), true, false, false},
	{"metadata array more_than", c("metadata.tags", `{"$more_than":6}`), true, false, false},
	{"metadata time after", c("metadata.signup", `{"$after":"2024-01-01","$before":"2024-02-01T00:00:00Z"}`), true, false, false},
	{"metadata time is day", c("metadata.signup", `{"$is":"2024-01-10"}`), true, false, false},
	{"metadata text after", c("metadata.club_level", `{"$after":"2024-01-01"}`), false, false, false},
	{"metadata null is unknown", c("metadata.nothing", `{"$is_unknown":""}`), true, true, true},
	{"metadata null is_not", c("metadata.nothing", `{"$is_not":"x"}`), true, true, true},
	{"metadata absent", c("metadata.absent", `{"$has_value":""}`), false, false, false},
	{"metadata absent comparison", c("metadata.absent", `{"$less_than":[1]}`), false, false, false},
	{"traits string", c("traits.plan", `{"$is":"pro"}`), true, false, false},
	{"traits contains substring", c("traits.plan", `{"$contains":"r"}`), true, false, false},
	{"traits nested", c("traits.company.name", `{"$is":"Acme"}`), true, false, false},
	{"traits nested number", c("traits.company.size", `{"$more_than_equal":50}`), true, false, false},
	{"traits nested twice", c("traits.company.address.city", `{"$is":"Berlin"}`), true, false, false},
	{"traits dotted key", c("traits.a.b", `{"$is":"dotted key"}`), true, false, false},
	{"traits object has value", c("traits.company", `{"$has_value":"","$is_not":"Acme"}`), true, false, false},
	{"traits nested absent", c("traits.company.zip", `{"$is_unknown":""}`), true, true, true},
	{"traits through a scalar", c("traits.plan.name", `{"$is_unknown":""}`), true, true, true},
	{"traits email folds case", c("traits.email", `{"$is":"alice@work.com"}`), true, false, false},
	{"traits time within_days", c("traits.last_login", `{"$within_days":[7]}`), true, false, false},
	{"traits time older_than_days", c("traits.last_login", `{"$older_than_days":[7]}`), false, false, false},
	{"traits date", c("traits.born", `{"$before":"1990-05-02","$after":"1990-04-30T23:59:59Z"}`), true, false, false},
	{"traits times array within", c("traits.logins", `{"$within_days":[7]}`), true, false, false},
	{"traits times array older", c("traits.logins", `{"$older_than_days":[30]}`), true, false, false},
	{"traits text within_days", c("traits.plan", `{"$within_days":[7]}`), false, false, false},

	// Consents.
	{"consent granted", c("consents.email", `{"$is":true}`), true, false, false},
	{"consent denied", c("consents.sms", `{"$is":false}`), true, true, true},
	{"consent absent is not granted", c("consents.push", `{"$is":false,"$has_value":""}`), true, true, true},
	{"consent in", c("consents.email", `{"$in":[true]}`), true, false, false},
	{"consent is_not", c("consents.email", `{"$is_not":true}`), false, true, true},

	// Order aggregates.
	{"total_count", c("orders.total_count", `{"$is":3}`), true, false, false},
	{"total_count zero", c("orders.total_count", `{"$is":0}`), false, true, true},
	{"total_count less_than", c("orders.total_count", `{"$less_than":1}`), false, true, true},
	{"total_count has_value", c("orders.total_count", `{"$has_value":""}`), true, true, true},
	{"total_amount more_than", c("orders.total_amount", `{"$more_than":[29999]}`), true, false, false},
	{"total_amount more_than_equal", c("orders.total_amount", `{"$more_than_equal":[30000]}`), true, false, false},
	{"total_amount more_than float", c("orders.total_amount", `{"$more_than":[29999.5]}`), true, false, false},
	{"average_amount", c("orders.average_amount", `{"$is":10000}`), true, false, false},
	{"largest_amount", c("orders.largest_amount", `{"$in":[1,15000]}`), true, false, false},
	{"last_order_amount", c("orders.last_order_amount", `{"$less_than_equal":5000}`), true, true, true},
	{"refunded_amount", c("orders.refunded_amount", `{"$is_not":0}`), true, false, false},
	{"refund_count", c("orders.refund_count", `{"$not_in":[0]}`), true, false, false},
	{"first_order_date before", c("orders.first_order_date", `{"$before":"`+daysAgo(99).Format(time.RFC3339)+`"}`), true, false, false},
	{"last_order_date within", c("orders.last_order_date", `{"$within_days":[11]}`), true, false, false},
	{"last_order_date not within", c("orders.last_order_date", `{"$within_days":[10]}`), false, false, false},
	{"last_order_date older (exactly 10 days)", c("orders.last_order_date", `{"$older_than_days":[10]}`), true, false, false},
	{"never ordered", c("orders.last_order_date", `{"$is_unknown":""}`), false, true, true},
	{"no order for 30 days or never", `{"junction":"or","orders.last_order_date":{"conditions":{"$older_than_days":[30],"$is_unknown":""}}}`, false, false, false},
	{"no order for 30 days or never, split", `{"junction":"or","filters":[` + c("orders.last_order_date", `{"$older_than_days":[30]}`) + "," + c("orders.last_order_date", `{"$is_unknown":""}`) + `]}`, false, true, true},
	{"skus contains", c("orders.skus", `{"$contains":"sku_tea"}`), true, false, false},
	{"skus contains dotted", c("orders.skus", `{"$contains":["sku.mug"]}`), true, false, false},
	{"skus contains any", c("orders.skus", `{"$contains":["x","sku_tea"]}`), true, false, false},
	{"skus in", c("orders.skus", `{"$in":["x","y"]}`), false, false, false},
	{"skus not_contain", c("orders.skus", `{"$not_contain":"sku_coffee"}`), true, true, true},
	{"skus not_in", c("orders.skus", `{"$not_in":["sku_coffee","sku_tea"]}`), false, true, true},
	{"skus is_unknown", c("orders.skus", `{"$is_unknown":""}`), false, true, true},
	{"sku quantity", c("orders.sku.sku_tea.quantity", `{"$more_than_equal":5}`), true, false, false},
	{"sku orders", c("orders.sku.sku_tea.orders", `{"$is":2}`), true, false, false},
	{"sku with dots", c("orders.sku.sku.mug.quantity", `{"$is":1}`), true, false, false},
	{"sku never bought", c("orders.sku.sku_coffee.quantity", `{"$is":0}`), true, true, true},
	{"product quantity", c("orders.product.prod_tea.quantity", `{"$more_than":4}`), true, false, false},
	{"product never bought", c("orders.product.prod_x.quantity", `{"$less_than":1}`), true, true, true},

	// Events.
	{"event count", c("events.Order Completed.count", `{"$is":10}`), true, false, false},
	{"event count never", c("events.Order Completed.count", `{"$is":0}`), false, true, true},
	{"event count_1d is today", c("events.Order Completed.count_1d", `{"$is":2}`), true, false, false},
	{"event count_6d", c("events.Order Completed.count_6d", `{"$is":2}`), true, false, false},
	{"event count_7d", c("events.Order Completed.count_7d", `{"$is":3}`), true, false, false},
	{"event count_30d", c("events.Order Completed.count_30d", `{"$is":3}`), true, false, false},
	{"event count_31d", c("events.Order Completed.count_31d", `{"$is":7}`), true, false, false},
	{"event count_366d", c("events.Order Completed.count_366d", `{"$is":7}`), true, false, false},
	{"event count_7d absent", c("events.Order Completed.count_7d", `{"$less_than":1}`), false, true, true},
	{"event first_at", c("events.Order Completed.first_at", `{"$older_than_days":[199],"$before":"`+daysAgo(199).Format(time.RFC3339)+`"}`), true, false, false},
	{"event last_at", c("events.Order Completed.last_at", `{"$within_days":[2]}`), true, false, false},
	{"event last_at unknown", c("events.Order Completed.last_at", `{"$is_unknown":""}`), false, true, true},
	{"event with dots", c("events.a.b.count", `{"$is":1}`), true, false, false},
	{"event with dots window", c("events.a.b.count_3d", `{"$is":1}`), true, false, false},
	{"event other", c("events.b.count", `{"$is":0}`), true, true, true},

	// Logic.
	{"and", `{"junction":"and","name":{"conditions":{"$is":"Alice Smith"}},"orders.total_count":{"conditions":{"$is":4}}}`, false, false, false},
	{"and default", `{"name":{"conditions":{"$is":"Alice Smith"}},"orders.total_count":{"conditions":{"$is":3}}}`, true, false, false},
	{"or", `{"junction":"or","name":{"conditions":{"$is":"Bob"}},"orders.total_count":{"conditions":{"$is":3}}}`, true, false, false},
	{"or none", `{"junction":"or","name":{"conditions":{"$is":"Bob"}},"orders.total_count":{"conditions":{"$is":4}}}`, false, false, false},
	{"or with missing data", `{"junction":"or","name":{"conditions":{"$is":"Bob"}},"orders.total_count":{"conditions":{"$is":0}}}`, false, true, true},
	{"operators of one field AND under or", `{"junction":"or","orders.total_count":{"conditions":{"$more_than":1,"$less_than":3}},"name":{"conditions":{"$is":"Bob"}}}`, false, false, false},
	{"not", `{"not":true,"name":{"conditions":{"$is":"Alice Smith"}}}`, false, true, true},
	{"not false", `{"not":false,"name":{"conditions":{"$is":"Alice Smith"}}}`, true, false, false},
	{"not or", `{"not":true,"junction":"or","name":{"conditions":{"$is":"Bob"}},"orders.total_count":{"conditions":{"$is":3}}}`, false, true, true},
	{"nested and in or", `{"junction":"or","name":{"conditions":{"$is":"Bob"}},"filters":[{"address.city":{"conditions":{"$is":"Warsaw"}},"consents.email":{"conditions":{"$is":true}}}]}`, true, false, false},
	{"nested or in and", `{"orders.total_count":{"conditions":{"$more_than":0}},"filters":[{"junction":"or","traits.plan":{"conditions":{"$is":"free"}},"metadata.vip":{"conditions":{"$is":true}}}]}`, true, false, false},
	{"nested not", `{"filters":[{"not":true,"orders.total_count":{"conditions":{"$is":0}}},{"not":true,"name":{"conditions":{"$is":"Bob"}}}]}`, true, false, false},
	{"nested or of nots", `{"junction":"or","filters":[{"not":true,"orders.total_count":{"conditions":{"$is":0}}},{"not":true,"name":{"conditions":{"$is_unknown":""}}}]}`, true, false, false},
	{"double negation", `{"not":true,"filters":[{"not":true,"name":{"conditions":{"$is":"Alice Smith"}}}]}`, true, false, false},
	{"deep nesting", nested(MaxDepth), false, false, false},
	{"deep nesting not", `{"not":true,"filters":[{"filters":[{"filters":[{"not":true,"junction":"or","orders.skus":{"conditions":{"$contains":"sku_tea"}},"filters":[{"events.a.b.count":{"conditions":{"$more_than":5}}}]}]}]}]}`, true, false, false},
	{"recently active big spenders", `{"orders.total_amount":{"conditions":{"$more_than_equal":[20000]}},"filters":[{"junction":"or","events.Order Completed.count_7d":{"conditions":{"$more_than_equal":[3]}},"traits.last_login":{"conditions":{"$within_days":[3]}}}],"consents.email":{"conditions":{"$is":true}}}`, true, false, false},
}

func TestMatch(t *testing.T) {
	subjects := []struct {
		name string
		s    Subject
		want func(i int) bool
	}{
		{"alice", alice(), func(i int) bool { return matchCases[i].alice }},
		{"bare", bare(), func(i int) bool { return matchCases[i].bare }},
		{"nobody", nobody(), func(i int) bool { return matchCases[i].nob }},
	}
	for i, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			f := MustCompile(t, tc.filter)
			for _, sub := range subjects {
				if got := f.Match(sub.s, now); got != sub.want(i) {
					t.Errorf("Match(%s) = %v, want %v\nfilter %s", sub.name, got, sub.want(i), tc.filter)
				}
			}
		})
	}
}

// TestMatchNegativeIsNegation checks that each negative operator is the
// exact negation of its positive twin, on every value the fixtures hold.
func TestMatchNegativeIsNegation(t *testing.T) {
	pairs := [][2]string{{"$is", "$is_not"}, {"$in", "$not_in"}, {"$contains", "$not_contain"}}
	fields := []struct{ field, value string }{
		{"name", `"Alice Smith"`}, {"email", `"x"`}, {"metadata.tags", `"tea"`}, {"metadata.age", `34`},
		{"metadata.nothing", `"x"`}, {"traits.plan", `"pro"`}, {"orders.skus", `"sku_tea"`}, {"address.city", `"Berlin"`},
	}
	for _, p := range pairs {
		for _, fv := range fields {
			pos, err := Compile(json.RawMessage(c(fv.field, `{"`+p[0]+`":[`+fv.value+`]}`)))
			if err != nil {
				continue // the operator does not apply to the field
			}
			neg := MustCompile(t, c(fv.field, `{"`+p[1]+`":[`+fv.value+`]}`))
			for _, s := range []Subject{alice(), bare(), nobody()} {
				if pos.Match(s, now) == neg.Match(s, now) {
					t.Errorf("%s and %s agree on %s", p[0], p[1], fv.field)
				}
			}
		}
	}
}

// TestMatchRelativeBoundaries pins where $within_days and
// $older_than_days flip: at exactly t+N days, the time is no longer within
// the last N days and is older than N days.
func TestMatchRelativeBoundaries(t *testing.T) {
	last := daysAgo(10)
	s := Subject{Profile: &customer.Profile{Orders: customer.OrderStats{LastAt: &last}}}
	within := MustCompile(t, c("orders.last_order_date", `{"$within_days":[30]}`))
	older := MustCompile(t, c("orders.last_order_date", `{"$older_than_days":[30]}`))
	flip := last.Add(30 * 24 * time.Hour)
	for _, tc := range []struct {
		at                time.Time
		within, olderThan bool
	}{
		{now, true, false},
		{flip.Add(-time.Nanosecond), true, false},
		{flip, false, true},
		{flip.Add(time.Hour), false, true},
		{last.Add(-time.Hour), true, false}, // a time in the future is within
	} {
		if got := within.Match(s, tc.at); got != tc.within {
			t.Errorf("$within_days at %v = %v", tc.at, got)
		}
		if got := older.Match(s, tc.at); got != tc.olderThan {
			t.Errorf("$older_than_days at %v = %v", tc.at, got)
		}
	}
}

// TestMatchWindowByUTCDay checks that count_<D>d counts today and the D-1
// UTC days before, whatever the time of day and zone of now.
func TestMatchWindowByUTCDay(t *testing.T) {
	s := Subject{Events: map[string]*customer.EventStats{"x": {Days: map[string]int64{
		"20250309": 1, // today-6
		"20250308": 10,
	}}}}
	f := MustCompile(t, c("events.x.count_7d", `{"$is":1}`))
	warsaw := time.FixedZone("CET", 3600)
	for _, at := range []time.Time{
		time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 3, 15, 23, 59, 59, 0, time.UTC),
		time.Date(2025, 3, 16, 0, 30, 0, 0, warsaw), // 15 March 23:30 UTC
	} {
		if !f.Match(s, at) {
			t.Errorf("count_7d at %v: want 1", at)
		}
	}
	if f.Match(s, time.Date(2025, 3, 16, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("count_7d on 16 March still counts 9 March")
	}
}
