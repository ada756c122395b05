// Package segment compiles the filters of auto-updating customer segments
// and evaluates them against one customer.
//
// A filter keeps Voucherify's segment filter shape,
//
//	{"junction": "and", "address.country": {"conditions": {"$is": "Poland"}}}
//
// extended with nesting ("filters": [node, …]) and negation ("not": true).
// Compile checks every field name, operator and value once, so evaluation
// never fails; the compiled Filter also says which event counters it reads
// (Events), whether time alone can change its result (TimeRelative) and,
// for one customer, when that may next happen (NextChange), so a sweep
// re-evaluates customers only when their membership can change.
//
// Semantics of absent data, the same for every field:
//   - an absent value (empty profile string, zero time, unset metadata or
//     trait, JSON null, a customer without SKUs) satisfies $is_unknown;
//   - the positive operators ($is, $in, $contains, $starts_with,
//     $ends_with, the comparisons, $after, $before, $within_days,
//     $older_than_days) never hold for it;
//   - the negative operators ($is_not, $not_in, $not_contain) are the exact
//     negation of their positive twin, so they hold for it: "email is not
//     x@y" is true for a customer without an email, as in Voucherify's
//     validation rules.
//
// Aggregates are never absent: order amounts and counts, SKU and product
// quantities and event counts are 0 without data, and consents.<channel>
// is false unless granted. $older_than_days does not hold for a customer
// who never ordered; "no order for 30 days, or never" is
//
//	{"junction": "or", "filters": [
//	  {"orders.last_order_date": {"conditions": {"$older_than_days": [30]}}},
//	  {"orders.last_order_date": {"conditions": {"$is_unknown": ""}}}]}
//
// Operators with several values hold when one value does ($in ["a","b"]:
// a or b; $contains on orders.skus: bought one of them); their negative
// twins when none does. Strings compare exactly, except emails (the
// profile email and metadata or traits keys named "email"), which compare
// lowercased. Numbers compare exactly (as int64 when both sides are
// integers); a string is never a number. On metadata and traits the value
// decides: $contains is a substring test on a string and membership on an
// array, and an array satisfies the other operators when one element does;
// strings in RFC 3339 or YYYY-MM-DD are times for $after, $before,
// $within_days and $older_than_days. A YYYY-MM-DD operand is midnight UTC
// for $after and $before and the whole UTC day for $is and $in.
//
// $within_days [N] holds for a time t while now < t+N×24h (a time in the
// future is within); $older_than_days [N] from t+N×24h on.
package segment

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

// Limits of a filter.
const (
	MaxBytes      = 16 << 10 // the filter's JSON
	MaxDepth      = 8        // nesting levels; the root node is level 1
	MaxConditions = 100      // operators in the whole filter
	MaxValues     = 100      // values of one operator
	// MaxDays bounds $within_days and $older_than_days.
	MaxDays = 36500
)

// Subject is the customer a filter is evaluated against: the profile and
// the event counters of the names the filter reads (Filter.Events). A nil
// Profile is a customer with no data; an event missing from Events was
// never tracked (zero counts, no first or last time).
type Subject struct {
	Profile *customer.Profile
	Events  map[string]*customer.EventStats
}

// Filter is a compiled segment filter. It is immutable and safe for
// concurrent use.
type Filter struct {
	raw      json.RawMessage
	root     *node
	terms    []*term // every field term of the tree, for NextChange
	events   []string
	relative bool
}

// Match reports whether the customer is in the segment at now.
func (f *Filter) Match(s Subject, now time.Time) bool {
	return f.root.match(newEnv(s, now))
}

// Events returns the event names the filter reads, sorted and unique, so
// the caller loads only those counters into Subject.Events.
func (f *Filter) Events() []string { return slices.Clone(f.events) }

// TimeRelative reports whether time passing alone can change Match: the
// filter uses $within_days, $older_than_days or an events.<name>.count_<D>d
// window.
func (f *Filter) TimeRelative() bool { return f.relative }

// NextChange returns the earliest instant after now at which Match may
// change for s with no new data, or the zero time when it never will. It
// may be early (a change of one condition that does not change the whole
// filter counts) but never late: Match is the same at every instant from
// now until just before the returned one.
//
//   - $within_days [N] and $older_than_days [N] on a time t flip at t+N×24h;
//   - events.<name>.count_<D>d drops when the oldest non-empty UTC day
//     bucket in the window leaves it: at the UTC midnight D days after that
//     bucket's day;
//   - absolute $after and $before compare two fixed instants and never
//     change with time.
func (f *Filter) NextChange(s Subject, now time.Time) time.Time {
	if !f.relative {
		return time.Time{}
	}
	e := newEnv(s, now)
	var next time.Time
	for _, t := range f.terms {
		t.changes(e, func(at time.Time) {
			if at.After(now) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		})
	}
	return next
}

// Raw returns the filter's JSON as given to Compile.
func (f *Filter) Raw() json.RawMessage { return slices.Clone(f.raw) }

// MarshalJSON returns the filter's JSON as given to Compile, so a stored or
// displayed filter reads as the client wrote it.
func (f *Filter) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	return f.Raw(), nil
}

// env is one evaluation: the subject and the time.
type env struct {
	p      *customer.Profile
	events map[string]*customer.EventStats
	rec    *Record // record filters (CompileRecords) read this instead
	now    time.Time
}

func newEnv(s Subject, now time.Time) *env {
	p := s.Profile
	if p == nil {
		p = &customer.Profile{}
	}
	return &env{p: p, events: s.Events, now: now}
}

// node is a compiled filter node.
type node struct {
	or    bool
	not   bool
	terms []*term
	kids  []*node
}

func (n *node) match(e *env) bool { return n.combine(e) != n.not }

// combine applies the node's junction to its terms and nested nodes,
// stopping at the first that decides it.
func (n *node) combine(e *env) bool {
	for _, t := range n.terms {
		if t.holds(e) == n.or {
			return n.or
		}
	}
	for _, k := range n.kids {
		if k.match(e) == n.or {
			return n.or
		}
	}
	return !n.or
}

// term is one field with its operators, which must all hold.
type term struct {
	field  field
	checks []check
}

func (t *term) holds(e *env) bool {
	v := t.field.get(e)
	for i := range t.checks {
		if !t.checks[i].holds(v, e.now, t.field.fold) {
			return false
		}
	}
	return true
}

// changes reports to at every future instant at which the term's result
// may change with no new data.
func (t *term) changes(e *env, at func(time.Time)) {
	if t.field.window > 0 {
		windowChanges(e.events[t.field.event], t.field.window, e.now, at)
	}
	var v any
	for i := range t.checks {
		c := &t.checks[i]
		if !c.op.relative() {
			continue
		}
		if v == nil {
			v = t.field.get(e)
		}
		d := time.Duration(c.days) * 24 * time.Hour
		some(v, func(x any) bool {
			if tm, ok := asTime(x); ok {
				at(tm.Add(d))
			}
			return false
		})
	}
}
