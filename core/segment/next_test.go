package segment

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func lastOrder(t time.Time) Subject {
	return Subject{Profile: &customer.Profile{Orders: customer.OrderStats{Count: 1, LastAt: &t}}}
}

func events(name string, days map[string]int64) Subject {
	return Subject{Events: map[string]*customer.EventStats{name: {Name: name, Days: days}}}
}

func TestNextChange(t *testing.T) {
	today := midnight(now)
	tests := []struct {
		name    string
		filter  string
		s       Subject
		want    time.Time
		flips   bool // Match at want differs from Match at now
		comment string
	}{
		{name: "older_than_days: last order 10 days ago",
			filter: c("orders.last_order_date", `{"$older_than_days":[30]}`), s: lastOrder(daysAgo(10)),
			want: daysAgo(10).Add(30 * 24 * time.Hour), flips: true},
		{name: "within_days: last order 10 days ago",
			filter: c("orders.last_order_date", `{"$within_days":[30]}`), s: lastOrder(daysAgo(10)),
			want: daysAgo(10).Add(30 * 24 * time.Hour), flips: true},
		{name: "older_than_days: already older",
			filter: c("orders.last_order_date", `{"$older_than_days":[30]}`), s: lastOrder(daysAgo(40))},
		{name: "within_days: future time",
			filter: c("orders.last_order_date", `{"$within_days":[1]}`), s: lastOrder(now.Add(time.Hour)),
			want: now.Add(25 * time.Hour), flips: true},
		{name: "older_than_days: never ordered", filter: c("orders.last_order_date", `{"$older_than_days":[30]}`), s: bare()},
		{name: "older_than_days or never: never ordered",
			filter: c("orders.last_order_date", `{"$older_than_days":[30],"$is_unknown":""}`), s: nobody()},
		{name: "count_7d: buckets on day-6 and today",
			filter: c("events.x.count_7d", `{"$more_than_equal":[2]}`),
			s:      events("x", map[string]int64{customer.DayKey(daysAgo(6)): 1, customer.DayKey(now): 1}),
			want:   today.Add(24 * time.Hour), flips: true,
			comment: "day-6 leaves the window at the next UTC midnight"},
		{name: "count_7d: bucket today only",
			filter: c("events.x.count_7d", `{"$more_than_equal":[1]}`),
			s:      events("x", map[string]int64{customer.DayKey(now): 3}),
			want:   today.Add(7 * 24 * time.Hour), flips: true},
		{name: "count_7d: empty buckets and buckets out of the window",
			filter: c("events.x.count_7d", `{"$is":0}`),
			s:      events("x", map[string]int64{customer.DayKey(now): 0, customer.DayKey(daysAgo(7)): 5, "bad": 1})},
		{name: "count_7d: no such event", filter: c("events.x.count_7d", `{"$is":0}`), s: alice()},
		{name: "count_1d: today",
			filter: c("events.x.count_1d", `{"$is":1}`), s: events("x", map[string]int64{customer.DayKey(now): 1}),
			want: today.Add(24 * time.Hour), flips: true},
		{name: "count_366d: oldest bucket",
			filter: c("events.x.count_366d", `{"$more_than":[0]}`),
			s:      events("x", map[string]int64{customer.DayKey(daysAgo(365)): 1, customer.DayKey(daysAgo(366)): 1}),
			want:   today.Add(24 * time.Hour), flips: true},
		{name: "traits time within_days",
			filter: c("traits.last_login", `{"$within_days":[7]}`), s: alice(),
			want: daysAgo(5).Add(7 * 24 * time.Hour), flips: true},
		{name: "traits array: earliest future change",
			filter: c("traits.logins", `{"$older_than_days":[30]}`), s: alice(),
			want: daysAgo(3).Add(30 * 24 * time.Hour), comment: "40 days ago is already older; 3 days ago flips later"},
		{name: "absolute after never changes",
			filter: c("created_at", `{"$after":"2030-01-01"}`), s: alice()},
		{name: "not relative at all", filter: c("orders.total_count", `{"$more_than":[1]}`), s: alice()},
		{name: "earliest of several, under not and or",
			filter: `{"junction":"or","orders.last_order_date":{"conditions":{"$older_than_days":[30]}},"filters":[{"not":true,` +
				`"events.Order Completed.count_7d":{"conditions":{"$more_than":[100]}},"events.Order Completed.last_at":{"conditions":{"$within_days":[3]}}}]}`,
			s: alice(), want: today.Add(24 * time.Hour),
			comment: "day-6 of Order Completed leaves at midnight, before last_at+3d (in 2 days) and last order+30d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := MustCompile(t, tc.filter)
			got := f.NextChange(tc.s, now)
			if !got.Equal(tc.want) {
				t.Fatalf("NextChange = %v, want %v (%s)", got, tc.want, tc.comment)
			}
			if got.IsZero() {
				return
			}
			before := f.Match(tc.s, now)
			if f.Match(tc.s, got.Add(-time.Nanosecond)) != before {
				t.Errorf("Match changed before NextChange")
			}
			if tc.flips && f.Match(tc.s, got) == before {
				t.Errorf("Match did not change at NextChange")
			}
		})
	}
}

// randomSubject builds a customer with random times and event buckets
// around now.
func randomSubject(r *rand.Rand, now time.Time) Subject {
	at := func() time.Time {
		return now.Add(time.Duration(r.Int64N(int64(500*24*time.Hour))) - 450*24*time.Hour).Truncate(time.Second)
	}
	p := &customer.Profile{ID: "cust_r", Traits: map[string]any{}, Metadata: map[string]any{}}
	if r.IntN(4) > 0 {
		p.CreatedAt = at()
	}
	if r.IntN(4) > 0 {
		first, last := at(), at()
		if last.Before(first) {
			first, last = last, first
		}
		p.Orders = customer.OrderStats{Count: r.Int64N(5) + 1, TotalAmount: r.Int64N(50000), FirstAt: &first, LastAt: &last,
			SKUs: map[string]*customer.SKUStats{"sku_tea": {Quantity: r.Int64N(3), Orders: 1}}}
	}
	if r.IntN(2) == 0 {
		p.Traits["seen"] = at().Format(time.RFC3339)
	}
	if r.IntN(3) == 0 {
		p.Traits["seen"] = []any{at().Format(time.RFC3339Nano), at().Format(time.DateOnly), "not a time"}
	}
	if r.IntN(3) == 0 {
		p.Metadata["since"] = at()
	}
	evs := map[string]*customer.EventStats{}
	for _, name := range []string{"visit", "Order Completed"} {
		if r.IntN(4) == 0 {
			continue
		}
		e := &customer.EventStats{Name: name, First: at(), Last: at(), Days: map[string]int64{}}
		for range r.IntN(12) {
			d := now.Add(-time.Duration(r.IntN(380)) * 24 * time.Hour)
			if r.IntN(20) == 0 {
				d = now.Add(24 * time.Hour) // a clock running ahead
			}
			e.Days[customer.DayKey(d)] += r.Int64N(3)
			e.Total += e.Days[customer.DayKey(d)]
		}
		evs[name] = e
	}
	return Subject{Profile: p, Events: evs}
}

var relativeFilters = []string{
	c("orders.last_order_date", `{"$older_than_days":[30]}`),
	c("orders.last_order_date", `{"$within_days":[7]}`),
	`{"junction":"or","orders.last_order_date":{"conditions":{"$older_than_days":[30]}},"filters":[{"orders.last_order_date":{"conditions":{"$is_unknown":""}}}]}`,
	c("created_at", `{"$within_days":[90],"$before":"2025-01-01"}`),
	c("orders.first_order_date", `{"$older_than_days":[365]}`),
	c("traits.seen", `{"$within_days":[14]}`),
	c("traits.seen", `{"$older_than_days":[3]}`),
	c("metadata.since", `{"$older_than_days":[100]}`),
	c("events.visit.count_7d", `{"$more_than_equal":[2]}`),
	c("events.visit.count_1d", `{"$is":0}`),
	c("events.Order Completed.count_30d", `{"$less_than":[3]}`),
	c("events.Order Completed.count_366d", `{"$more_than":[4]}`),
	c("events.visit.last_at", `{"$within_days":[1]}`),
	`{"not":true,"events.visit.count_14d":{"conditions":{"$more_than":[1]}},"events.Order Completed.first_at":{"conditions":{"$older_than_days":[60]}}}`,
	`{"junction":"or","filters":[{"events.visit.count_3d":{"conditions":{"$in":[1,2,3]}}},{"not":true,"traits.seen":{"conditions":{"$within_days":[2]}}}],` +
		`"orders.total_amount":{"conditions":{"$more_than":[40000]}}}`,
}

// TestNextChangeProperty checks on random customers that Match does not
// change between now and NextChange, nor ever when NextChange is zero.
func TestNextChangeProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i, filter := range relativeFilters {
		f := MustCompile(t, filter)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			for range 300 {
				at := now.Add(time.Duration(r.Int64N(int64(48 * time.Hour))))
				s := randomSubject(r, at)
				checkNextChange(t, f, s, at, r)
			}
		})
	}
}

// checkNextChange checks the NextChange contract at one instant, and at
// every change instant after it, five steps on.
func checkNextChange(t *testing.T, f *Filter, s Subject, at time.Time, r *rand.Rand) {
	t.Helper()
	for range 5 {
		want := f.Match(s, at)
		next := f.NextChange(s, at)
		if next.IsZero() {
			for _, later := range []time.Duration{time.Nanosecond, time.Hour, 24 * time.Hour, 400 * 24 * time.Hour, 100 * 365 * 24 * time.Hour} {
				if f.Match(s, at.Add(later)) != want {
					t.Fatalf("%s: NextChange zero at %v but Match changes by %v later", f.Raw(), at, later)
				}
			}
			return
		}
		if !next.After(at) {
			t.Fatalf("%s: NextChange %v not after %v", f.Raw(), next, at)
		}
		probes := []time.Time{next.Add(-time.Nanosecond)}
		for range 3 {
			probes = append(probes, at.Add(time.Duration(r.Int64N(int64(next.Sub(at))))))
		}
		for _, p := range probes {
			if f.Match(s, p) != want {
				t.Fatalf("%s: Match changed at %v, before NextChange %v (from %v)", f.Raw(), p, next, at)
			}
		}
		at = next
	}
}
