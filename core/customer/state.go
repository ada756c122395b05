package customer

import "time"

// Consent is one marketing consent and when it was last stated.
type Consent struct {
	Granted bool      `json:"granted"`
	At      time.Time `json:"at"`
}

// OrderStats are a customer's order aggregates. Amounts are in minor units.
type OrderStats struct {
	Count          int64                `json:"total_count"`
	TotalAmount    int64                `json:"total_amount"`
	LargestAmount  int64                `json:"largest_amount"`
	LastAmount     int64                `json:"last_order_amount"`
	RefundedAmount int64                `json:"refunded_amount"`
	RefundCount    int64                `json:"refund_count"`
	FirstAt        *time.Time           `json:"first_order_date,omitempty"`
	LastAt         *time.Time           `json:"last_order_date,omitempty"`
	SKUs           map[string]*SKUStats `json:"skus,omitempty"`
	Products       map[string]int64     `json:"products,omitempty"` // product id → quantity bought
}

// Average is the average order amount (0 without orders).
func (o OrderStats) Average() int64 {
	if o.Count == 0 {
		return 0
	}
	return o.TotalAmount / o.Count
}

// SKUStats is how much of one SKU a customer bought, in how many orders.
type SKUStats struct {
	Quantity int64 `json:"quantity"`
	Orders   int64 `json:"orders"`
}

// EventStats count one event name for one customer: in total and per UTC
// day for the last EventDays days, so "did X at least N times in the last
// D days" is a sum over at most D buckets.
type EventStats struct {
	Name  string           `json:"name"`
	Total int64            `json:"total"`
	First time.Time        `json:"first"`
	Last  time.Time        `json:"last"`
	Days  map[string]int64 `json:"days,omitempty"` // "20060102" → count
}

// EventDays is how many days of per-day event counts are kept: the longest
// window a segment rule may ask about.
const EventDays = 366

// DayKey is the bucket of t in EventStats.Days.
func DayKey(t time.Time) string { return t.UTC().Format("20060102") }

// CountSince sums the days from since (inclusive, by UTC day) on.
func (e *EventStats) CountSince(since time.Time) int64 {
	if e == nil {
		return 0
	}
	from := DayKey(since)
	var n int64
	for d, c := range e.Days {
		if d >= from {
			n += c
		}
	}
	return n
}
