package segment

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

// kind is a field's type, which decides the operators and values it takes.
type kind uint8

const (
	kindString kind = iota + 1
	kindNumber      // int64
	kindTime        // time.Time
	kindBool
	kindSet // the SKUs a customer bought
	kindAny // metadata and traits: whatever JSON the value is
)

func (k kind) String() string {
	switch k {
	case kindString:
		return "a text field"
	case kindNumber:
		return "a number field"
	case kindTime:
		return "a time field"
	case kindBool:
		return "a true/false field"
	case kindSet:
		return "a set field"
	}
	return "a field of any type"
}

// field reads one value of a customer: nil when absent, else a string,
// int64, bool, time.Time, skuSet, or (kindAny) the stored JSON value.
type field struct {
	kind kind
	get  func(*env) any
	// fold: strings compare lowercased (emails).
	fold bool
	// event is the event name of events.<name>.<measure> fields; window
	// is D of events.<name>.count_<D>d.
	event  string
	window int
}

// skuSet is the value of orders.skus.
type skuSet map[string]*customer.SKUStats

// parseField resolves a field path; a non-empty problem says why it is not
// a field.
func parseField(name string) (f field, problem string) {
	if k, get, ok := profileField(name); ok {
		return field{kind: k, get: get, fold: name == "email"}, ""
	}
	prefix, rest, _ := strings.Cut(name, ".")
	switch prefix {
	case "address":
		if get, ok := addressField(rest); ok {
			return field{kind: kindString, get: get}, ""
		}
		return f, "unknown field; address fields are address.city, state, country, postal_code, line_1 and line_2"
	case "metadata", "traits":
		if rest == "" {
			return f, fmt.Sprintf("unknown field; name a key: %s.<key>", prefix)
		}
		return field{kind: kindAny, get: mapField(prefix, rest), fold: lastPart(rest) == "email"}, ""
	case "consents":
		if rest == "" {
			return f, "unknown field; name a channel: consents.<channel>"
		}
		return field{kind: kindBool, get: func(e *env) any { return e.p.Consents[rest].Granted }}, ""
	case "orders":
		return orderField(rest)
	case "events":
		return eventField(rest)
	}
	return f, "unknown field"
}

func profileField(name string) (kind, func(*env) any, bool) {
	text := func(get func(p *customer.Profile) string) func(*env) any {
		return func(e *env) any { return present(get(e.p)) }
	}
	switch name {
	case "id":
		return kindString, text(func(p *customer.Profile) string { return p.ID }), true
	case "source_id":
		return kindString, text(func(p *customer.Profile) string { return p.SourceID }), true
	case "name":
		return kindString, text(func(p *customer.Profile) string { return p.Name }), true
	case "email":
		return kindString, text(func(p *customer.Profile) string { return p.Email }), true
	case "phone":
		return kindString, text(func(p *customer.Profile) string { return p.Phone }), true
	case "description":
		return kindString, text(func(p *customer.Profile) string { return p.Description }), true
	case "birthdate":
		// A birthdate that is not a date is treated as absent.
		return kindTime, func(e *env) any {
			if t, ok := parseTime(e.p.Birthdate); ok {
				return t
			}
			return nil
		}, true
	case "created_at":
		return kindTime, func(e *env) any { return presentTime(e.p.CreatedAt) }, true
	}
	return 0, nil, false
}

func addressField(name string) (func(*env) any, bool) {
	var get func(a *customer.Address) string
	switch name {
	case "city":
		get = func(a *customer.Address) string { return a.City }
	case "state":
		get = func(a *customer.Address) string { return a.State }
	case "country":
		get = func(a *customer.Address) string { return a.Country }
	case "postal_code":
		get = func(a *customer.Address) string { return a.PostalCode }
	case "line_1":
		get = func(a *customer.Address) string { return a.Line1 }
	case "line_2":
		get = func(a *customer.Address) string { return a.Line2 }
	default:
		return nil, false
	}
	return func(e *env) any {
		if e.p.Address == nil {
			return nil
		}
		return present(get(e.p.Address))
	}, true
}

func mapField(prefix, key string) func(*env) any {
	if prefix == "metadata" {
		return func(e *env) any { return lookup(e.p.Metadata, key) }
	}
	return func(e *env) any { return lookup(e.p.Traits, key) }
}

// lookup finds key in m: the key itself, else a dotted path walking nested
// objects ("company.name" is m["company"]["name"]), the shortest prefix
// that names an object first. It returns nil when absent.
func lookup(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for i := 0; i < len(key); i++ {
		if key[i] != '.' {
			continue
		}
		if sub, ok := m[key[:i]].(map[string]any); ok {
			return lookup(sub, key[i+1:])
		}
	}
	return nil
}

func orderField(name string) (field, string) {
	num := func(get func(o *customer.OrderStats) int64) (field, string) {
		return field{kind: kindNumber, get: func(e *env) any { return get(&e.p.Orders) }}, ""
	}
	switch name {
	case "total_count":
		return num(func(o *customer.OrderStats) int64 { return o.Count })
	case "total_amount":
		return num(func(o *customer.OrderStats) int64 { return o.TotalAmount })
	case "average_amount":
		return num(func(o *customer.OrderStats) int64 { return o.Average() })
	case "largest_amount":
		return num(func(o *customer.OrderStats) int64 { return o.LargestAmount })
	case "last_order_amount":
		return num(func(o *customer.OrderStats) int64 { return o.LastAmount })
	case "refunded_amount":
		return num(func(o *customer.OrderStats) int64 { return o.RefundedAmount })
	case "refund_count":
		return num(func(o *customer.OrderStats) int64 { return o.RefundCount })
	case "first_order_date":
		return field{kind: kindTime, get: func(e *env) any { return presentTimePtr(e.p.Orders.FirstAt) }}, ""
	case "last_order_date":
		return field{kind: kindTime, get: func(e *env) any { return presentTimePtr(e.p.Orders.LastAt) }}, ""
	case "skus":
		return field{kind: kindSet, get: func(e *env) any {
			if len(e.p.Orders.SKUs) == 0 {
				return nil
			}
			return skuSet(e.p.Orders.SKUs)
		}}, ""
	}
	id, measure, ok := splitMeasure(name, "sku.")
	switch {
	case ok && measure == "quantity":
		return num(func(o *customer.OrderStats) int64 {
			if s := o.SKUs[id]; s != nil {
				return s.Quantity
			}
			return 0
		})
	case ok && measure == "orders":
		return num(func(o *customer.OrderStats) int64 {
			if s := o.SKUs[id]; s != nil {
				return s.Orders
			}
			return 0
		})
	}
	if id, measure, ok := splitMeasure(name, "product."); ok && measure == "quantity" {
		return num(func(o *customer.OrderStats) int64 { return o.Products[id] })
	}
	return field{}, "unknown field; order fields are orders.total_count, total_amount, average_amount, largest_amount, " +
		"last_order_amount, refunded_amount, refund_count, first_order_date, last_order_date, skus, " +
		"sku.<sku>.quantity, sku.<sku>.orders and product.<id>.quantity"
}

// splitMeasure splits "<prefix><id>.<measure>" at the last dot, so the id
// may contain dots; ok is false when the id or the measure is empty.
func splitMeasure(name, prefix string) (id, measure string, ok bool) {
	rest, found := strings.CutPrefix(name, prefix)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

func eventField(name string) (field, string) {
	ev, measure, ok := splitMeasure(name, "")
	if !ok {
		return field{}, "unknown field; event fields are events.<name>.count, count_<D>d, first_at and last_at"
	}
	f := field{event: ev}
	switch measure {
	case "count":
		f.kind = kindNumber
		f.get = func(e *env) any {
			if s := e.events[ev]; s != nil {
				return s.Total
			}
			return int64(0)
		}
		return f, ""
	case "first_at":
		f.kind = kindTime
		f.get = func(e *env) any {
			if s := e.events[ev]; s != nil {
				return presentTime(s.First)
			}
			return nil
		}
		return f, ""
	case "last_at":
		f.kind = kindTime
		f.get = func(e *env) any {
			if s := e.events[ev]; s != nil {
				return presentTime(s.Last)
			}
			return nil
		}
		return f, ""
	}
	digits, ok := strings.CutPrefix(measure, "count_")
	digits, ok2 := strings.CutSuffix(digits, "d")
	if !ok || !ok2 {
		return field{}, "unknown field; event fields are events.<name>.count, count_<D>d, first_at and last_at"
	}
	d, err := strconv.Atoi(digits)
	if err != nil || strconv.Itoa(d) != digits || d < 1 || d > customer.EventDays {
		return field{}, fmt.Sprintf("unknown field; count_<D>d takes a window D of 1 to %d days", customer.EventDays)
	}
	f.kind, f.window = kindNumber, d
	f.get = func(e *env) any { return windowCount(e.events[ev], d, e.now) }
	return f, ""
}

// windowStart is the first UTC day of a window of days days ending today.
func windowStart(now time.Time, days int) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d-(days-1), 0, 0, 0, 0, time.UTC)
}

// windowCount sums the day buckets from windowStart on (later buckets, from
// a clock running ahead, count too). It agrees with
// customer.EventStats.CountSince for well-formed day keys and ignores
// malformed ones.
func windowCount(s *customer.EventStats, days int, now time.Time) int64 {
	if s == nil {
		return 0
	}
	from := windowStart(now, days)
	var n int64
	for k, c := range s.Days {
		if d, ok := parseDay(k); ok && !d.Before(from) {
			n += c
		}
	}
	return n
}

// windowChanges reports when each non-empty bucket in the window leaves it:
// at the UTC midnight days days after the bucket's day.
func windowChanges(s *customer.EventStats, days int, now time.Time, at func(time.Time)) {
	if s == nil {
		return
	}
	from := windowStart(now, days)
	for k, c := range s.Days {
		if d, ok := parseDay(k); ok && c != 0 && !d.Before(from) {
			at(d.AddDate(0, 0, days))
		}
	}
}

// parseDay reads a customer.DayKey ("20060102").
func parseDay(k string) (time.Time, bool) {
	if len(k) != 8 {
		return time.Time{}, false
	}
	n := 0
	for i := 0; i < 8; i++ {
		c := k[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + int(c-'0')
	}
	y, m, d := n/10000, n/100%100, n%100
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

func present(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func presentTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func presentTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return presentTime(*t)
}

func lastPart(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }
