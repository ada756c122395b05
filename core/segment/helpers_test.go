package segment

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

// now is the injected clock of every test: a Saturday noon, UTC.
var now = time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

func ptr[T any](v T) *T { return &v }

// MustCompile compiles filter or fails the test.
func MustCompile(tb testing.TB, filter string) *Filter {
	tb.Helper()
	f, err := Compile(json.RawMessage(filter))
	if err != nil {
		tb.Fatalf("Compile(%s): %v", filter, err)
	}
	return f
}

// alice is a customer with some of every kind of data.
func alice() Subject {
	return Subject{
		Profile: &customer.Profile{
			ID:        "cust_alice",
			SourceID:  "alice-1",
			Name:      "Alice Smith",
			Email:     "Alice@Example.com",
			Phone:     "+48600100200",
			Birthdate: "1990-05-01",
			Address:   &customer.Address{City: "Warsaw", Country: "Poland", PostalCode: "00-001", Line1: "Marszałkowska 1"},
			Metadata: map[string]any{
				"club_level": "Gold",
				"age":        float64(34),
				"vip":        true,
				"tags":       []any{"coffee", "tea", float64(7)},
				"score":      json.Number("7.5"),
				"signup":     "2024-01-10T08:00:00Z",
				"nothing":    nil,
				"count":      int64(12),
			},
			Traits: map[string]any{
				"plan":       "pro",
				"company":    map[string]any{"name": "Acme", "size": float64(50), "address": map[string]any{"city": "Berlin"}},
				"email":      "ALICE@Work.com",
				"last_login": daysAgo(5).Format(time.RFC3339),
				"logins":     []any{daysAgo(40).Format(time.RFC3339), daysAgo(3).Format(time.RFC3339)},
				"born":       "1990-05-01",
				"a.b":        "dotted key",
			},
			Consents: map[string]customer.Consent{
				"email": {Granted: true, At: daysAgo(300)},
				"sms":   {Granted: false, At: daysAgo(200)},
			},
			Orders: customer.OrderStats{
				Count: 3, TotalAmount: 30000, LargestAmount: 15000, LastAmount: 5000,
				RefundedAmount: 1000, RefundCount: 1,
				FirstAt: ptr(daysAgo(100)), LastAt: ptr(daysAgo(10)),
				SKUs: map[string]*customer.SKUStats{
					"sku_tea":  {Quantity: 5, Orders: 2},
					"sku.mug":  {Quantity: 1, Orders: 1},
					"sku_cups": {Quantity: 12, Orders: 1},
				},
				Products: map[string]int64{"prod_tea": 5},
			},
			CreatedAt: time.Date(2024, 1, 1, 9, 30, 0, 0, time.UTC),
			Object:    "customer",
		},
		Events: map[string]*customer.EventStats{
			"Order Completed": {
				Name: "Order Completed", Total: 10, First: daysAgo(200), Last: daysAgo(1),
				Days: map[string]int64{
					customer.DayKey(now):          2,
					customer.DayKey(daysAgo(6)):   1,
					customer.DayKey(daysAgo(30)):  4,
					customer.DayKey(daysAgo(400)): 3, // outside every window
					"garbage":                     100,
					customer.DayKey(now) + "x":    100,
					customer.DayKey(daysAgo(7)):   0,
				},
			},
			"a.b": {Name: "a.b", Total: 1, First: daysAgo(2), Last: daysAgo(2),
				Days: map[string]int64{customer.DayKey(daysAgo(2)): 1}},
		},
	}
}

// nobody is a customer with no data at all.
func nobody() Subject { return Subject{} }

// bare is a customer with only an id.
func bare() Subject {
	return Subject{Profile: &customer.Profile{ID: "cust_bare", Object: "customer"}}
}
