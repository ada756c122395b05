package segment

import (
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// op is a condition operator.
type op uint8

const (
	opIs op = iota + 1
	opIsNot
	opIn
	opNotIn
	opContains
	opNotContain
	opStartsWith
	opEndsWith
	opHasValue
	opIsUnknown
	opMoreThan
	opMoreThanEqual
	opLessThan
	opLessThanEqual
	opAfter
	opBefore
	opWithinDays
	opOlderThanDays
)

func parseOp(name string) (op, bool) {
	switch name {
	case "$is":
		return opIs, true
	case "$is_not":
		return opIsNot, true
	case "$in":
		return opIn, true
	case "$not_in":
		return opNotIn, true
	case "$contains":
		return opContains, true
	case "$not_contain":
		return opNotContain, true
	case "$starts_with":
		return opStartsWith, true
	case "$ends_with":
		return opEndsWith, true
	case "$has_value":
		return opHasValue, true
	case "$is_unknown":
		return opIsUnknown, true
	case "$more_than":
		return opMoreThan, true
	case "$more_than_equal":
		return opMoreThanEqual, true
	case "$less_than":
		return opLessThan, true
	case "$less_than_equal":
		return opLessThanEqual, true
	case "$after":
		return opAfter, true
	case "$before":
		return opBefore, true
	case "$within_days":
		return opWithinDays, true
	case "$older_than_days":
		return opOlderThanDays, true
	}
	return 0, false
}

// relative reports whether the operator reads the current time.
func (o op) relative() bool { return o == opWithinDays || o == opOlderThanDays }

// single reports whether the operator takes exactly one value.
func (o op) single() bool {
	switch o {
	case opMoreThan, opMoreThanEqual, opLessThan, opLessThanEqual, opAfter, opBefore, opWithinDays, opOlderThanDays:
		return true
	}
	return false
}

// takes reports whether the operator applies to a field of kind k.
func (o op) takes(k kind) bool {
	if k == kindAny || o == opHasValue || o == opIsUnknown {
		return true
	}
	switch o {
	case opIs, opIsNot:
		return k != kindSet
	case opIn, opNotIn:
		return true
	case opContains, opNotContain:
		return k == kindString || k == kindSet
	case opStartsWith, opEndsWith:
		return k == kindString
	case opMoreThan, opMoreThanEqual, opLessThan, opLessThanEqual:
		return k == kindNumber
	}
	return k == kindTime // $after, $before, $within_days, $older_than_days
}

// check is one operator with its typed values.
type check struct {
	op   op
	vals []operand
	days int // $within_days, $older_than_days
}

// operand is one operator value.
type operand struct {
	kind byte // 's' string, 'n' number, 'b' bool
	s    string
	num  number
	b    bool
	// t is s read as a time, when isTime; dateOnly when s is a date
	// without a time of day.
	t        time.Time
	isTime   bool
	dateOnly bool
}

// holds applies the check to a field value (nil when absent). A negative
// operator is the negation of its positive twin, so it holds for an absent
// value; fold compares strings lowercased (operands are lowercased by
// Compile).
func (c *check) holds(v any, now time.Time, fold bool) bool {
	switch c.op {
	case opHasValue:
		return v != nil
	case opIsUnknown:
		return v == nil
	case opIsNot, opNotIn, opNotContain:
		return !c.positive(v, now, fold)
	}
	return c.positive(v, now, fold)
}

func (c *check) positive(v any, now time.Time, fold bool) bool {
	if v == nil {
		return false
	}
	switch c.op {
	case opIs, opIsNot, opIn, opNotIn:
		if set, ok := v.(skuSet); ok {
			return set.hasAny(c.vals)
		}
		return some(v, func(x any) bool { return c.equalsAny(x, fold) })
	case opContains, opNotContain:
		switch x := v.(type) {
		case skuSet:
			return x.hasAny(c.vals)
		case string:
			return c.text(x, fold, strings.Contains)
		case []any, []string:
			return some(v, func(x any) bool { return c.equalsAny(x, fold) })
		}
		return false
	case opStartsWith, opEndsWith:
		fn := strings.HasPrefix
		if c.op == opEndsWith {
			fn = strings.HasSuffix
		}
		return some(v, func(x any) bool {
			s, ok := x.(string)
			return ok && c.text(s, fold, fn)
		})
	case opMoreThan, opMoreThanEqual, opLessThan, opLessThanEqual:
		return some(v, func(x any) bool {
			n, ok := asNumber(x)
			return ok && ordered(c.op, cmpNumber(n, c.vals[0].num))
		})
	}
	return some(v, func(x any) bool {
		t, ok := asTime(x)
		if !ok {
			return false
		}
		switch c.op {
		case opAfter:
			return t.After(c.vals[0].t)
		case opBefore:
			return t.Before(c.vals[0].t)
		case opWithinDays:
			return now.Before(t.Add(time.Duration(c.days) * 24 * time.Hour))
		}
		return !now.Before(t.Add(time.Duration(c.days) * 24 * time.Hour)) // $older_than_days
	})
}

// equalsAny reports whether a scalar value equals one of the operands.
func (c *check) equalsAny(x any, fold bool) bool {
	for i := range c.vals {
		if equal(x, &c.vals[i], fold) {
			return true
		}
	}
	return false
}

// text applies fn(value, operand) for each string operand until one holds.
func (c *check) text(s string, fold bool, fn func(s, operand string) bool) bool {
	if fold {
		s = strings.ToLower(s)
	}
	for i := range c.vals {
		if c.vals[i].kind == 's' && fn(s, c.vals[i].s) {
			return true
		}
	}
	return false
}

func (set skuSet) hasAny(vals []operand) bool {
	for i := range vals {
		if _, ok := set[vals[i].s]; ok && vals[i].kind == 's' {
			return true
		}
	}
	return false
}

// equal compares one value with one operand of the same type. Strings that
// are times equal time operands naming the same instant, or the same UTC
// day when the operand is a date.
func equal(x any, o *operand, fold bool) bool {
	switch x := x.(type) {
	case string:
		if o.kind != 's' {
			return false
		}
		if fold {
			x = strings.ToLower(x)
		}
		if x == o.s {
			return true
		}
		if o.isTime {
			t, ok := parseTime(x)
			return ok && sameTime(t, o)
		}
		return false
	case bool:
		return o.kind == 'b' && x == o.b
	case time.Time:
		return o.isTime && sameTime(x, o)
	}
	n, ok := asNumber(x)
	return ok && o.kind == 'n' && cmpNumber(n, o.num) == 0
}

func sameTime(t time.Time, o *operand) bool {
	if !o.dateOnly {
		return t.Equal(o.t)
	}
	y, m, d := t.UTC().Date()
	oy, om, od := o.t.Date()
	return y == oy && m == om && d == od
}

// some applies pred to a value, or to each element of an array value until
// one satisfies it (null elements never do).
func some(v any, pred func(any) bool) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if e != nil && pred(e) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if pred(e) {
				return true
			}
		}
		return false
	}
	return pred(v)
}

func ordered(o op, c int) bool {
	switch o {
	case opMoreThan:
		return c > 0
	case opMoreThanEqual:
		return c >= 0
	case opLessThan:
		return c < 0
	}
	return c <= 0 // $less_than_equal
}

// number is a JSON number: exact as an int64 when it is one.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func cmpNumber(a, b number) int {
	if a.isInt && b.isInt {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.f, b.f)
}

func intNumber(i int64) number { return number{i: i, f: float64(i), isInt: true} }

// asNumber reads a number value: Go integers and floats and json.Number.
// NaN and infinities are not numbers; strings are not either, even "12".
func asNumber(v any) (number, bool) {
	var f float64
	switch x := v.(type) {
	case int64:
		return intNumber(x), true
	case int:
		return intNumber(int64(x)), true
	case int32:
		return intNumber(int64(x)), true
	case int16:
		return intNumber(int64(x)), true
	case int8:
		return intNumber(int64(x)), true
	case uint32:
		return intNumber(int64(x)), true
	case uint16:
		return intNumber(int64(x)), true
	case uint8:
		return intNumber(int64(x)), true
	case uint:
		f = float64(x)
		if uint64(x) <= math.MaxInt64 {
			return intNumber(int64(x)), true
		}
	case uint64:
		f = float64(x)
		if x <= math.MaxInt64 {
			return intNumber(int64(x)), true
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return intNumber(i), true
		}
		g, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return number{}, false
		}
		f = g
	case float64:
		f = x
	case float32:
		f = float64(x)
	default:
		return number{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	return number{f: f}, true
}

// asTime reads a time value: a time.Time, or a string in RFC 3339 or
// YYYY-MM-DD (midnight UTC).
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, !x.IsZero()
	case string:
		return parseTime(x)
	}
	return time.Time{}, false
}

func parseTime(s string) (time.Time, bool) {
	layout := time.RFC3339Nano
	if len(s) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, s)
	return t, err == nil
}
