package rules

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// scalar is one operator value, typed at compile time.
type scalar struct {
	kind   byte // 'n' number, 's' string, 'b' bool
	n      float64
	i      int64 // n as an integer, when isInt
	isInt  bool
	s      string
	b      bool
	t      time.Time // s as a date, when isTime
	isTime bool
}

func (v scalar) String() string {
	switch v.kind {
	case 'n':
		if v.isInt {
			return strconv.FormatInt(v.i, 10)
		}
		return strconv.FormatFloat(v.n, 'f', -1, 64)
	case 'b':
		return strconv.FormatBool(v.b)
	}
	return v.s
}

// asNumber reads a JSON or Go number; NaN and infinities are not numbers.
func asNumber(v any) (scalar, bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return scalar{kind: 'n', n: float64(i), i: i, isInt: true}, true
		}
		g, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return scalar{}, false
		}
		f = g
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		return intScalar(int64(x)), true
	case int8:
		return intScalar(int64(x)), true
	case int16:
		return intScalar(int64(x)), true
	case int32:
		return intScalar(int64(x)), true
	case int64:
		return intScalar(x), true
	case uint8:
		return intScalar(int64(x)), true
	case uint16:
		return intScalar(int64(x)), true
	case uint32:
		return intScalar(int64(x)), true
	case uint:
		if uint64(x) > math.MaxInt64 {
			return scalar{kind: 'n', n: float64(x)}, true
		}
		return intScalar(int64(x)), true
	case uint64:
		if x > math.MaxInt64 {
			return scalar{kind: 'n', n: float64(x)}, true
		}
		return intScalar(int64(x)), true
	default:
		return scalar{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return scalar{}, false
	}
	s := scalar{kind: 'n', n: f}
	if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		s.i, s.isInt = int64(f), true
	}
	return s, true
}

func intScalar(i int64) scalar { return scalar{kind: 'n', n: float64(i), i: i, isInt: true} }

// asTime reads a date ("2024-05-01") or date-time (RFC 3339) string, or a
// time.Time.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseDate(x)
	}
	return time.Time{}, false
}

func parseDate(s string) (time.Time, bool) {
	if len(s) == len(time.DateOnly) {
		t, err := time.Parse(time.DateOnly, s)
		return t, err == nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// asScalar reads a metadata value (or operand) that is a number, string, bool
// or time.
func asScalar(v any) (scalar, bool) {
	switch x := v.(type) {
	case string:
		s := scalar{kind: 's', s: x}
		s.t, s.isTime = parseDate(x)
		return s, true
	case bool:
		return scalar{kind: 'b', b: x}, true
	case time.Time:
		return scalar{kind: 's', s: x.Format(time.RFC3339Nano), t: x, isTime: true}, true
	}
	return asNumber(v)
}

// cmpInt compares an integer subject with a number operand: -1, 0 or 1.
func cmpInt(a int64, v scalar) int {
	if v.isInt {
		switch {
		case a < v.i:
			return -1
		case a > v.i:
			return 1
		}
		return 0
	}
	return cmpFloat(float64(a), v.n)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ordered reports whether a comparison result c satisfies op.
func ordered(op Operator, c int) bool {
	switch op {
	case OpIs:
		return c == 0
	case OpIsNot:
		return c != 0
	case OpLessThan:
		return c < 0
	case OpLessThanOrEqual:
		return c <= 0
	case OpMoreThan:
		return c > 0
	case OpMoreThanOrEqual:
		return c >= 0
	}
	return false
}

// numberHolds applies a number operator to an integer subject.
func numberHolds(o *opCheck, subject int64) bool {
	switch o.op {
	case OpIn, OpNotIn:
		in := false
		for _, v := range o.vals {
			if cmpInt(subject, v) == 0 {
				in = true
				break
			}
		}
		return in == (o.op == OpIn)
	}
	return ordered(o.op, cmpInt(subject, o.vals[0]))
}

// equal compares a metadata value with an operand of $is/$in.
func equal(actual any, v scalar) bool {
	a, ok := asScalar(actual)
	if !ok {
		return false
	}
	switch {
	case a.kind != v.kind:
		return false
	case a.kind == 'n':
		return a.n == v.n
	case a.kind == 'b':
		return a.b == v.b
	}
	return a.s == v.s || a.isTime && v.isTime && a.t.Equal(v.t)
}

// elements returns the elements of an array value, or nil and false for a
// scalar.
func elements(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case string, []byte, nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// someElement applies pred to a scalar value, or to each element of an array
// value until one satisfies it.
func someElement(v any, pred func(any) bool) bool {
	elems, isArray := elements(v)
	if !isArray {
		return pred(v)
	}
	for _, e := range elems {
		if pred(e) {
			return true
		}
	}
	return false
}

// metadataHolds applies a metadata operator to a value (nil when absent). An
// absent value satisfies only $is_not and $not_in; an array value satisfies
// an operator when one of its elements does ($is_not and $not_in: when none
// equals).
func metadataHolds(o *opCheck, v any, now time.Time) bool {
	if v == nil {
		return o.op == OpIsNot || o.op == OpNotIn
	}
	in := func(e any) bool {
		for _, w := range o.vals {
			if equal(e, w) {
				return true
			}
		}
		return false
	}
	switch o.op {
	case OpIs, OpIn:
		return someElement(v, in)
	case OpIsNot, OpNotIn:
		return !someElement(v, in)
	case OpCount, OpCountMore, OpCountLess:
		elems, isArray := elements(v)
		if !isArray {
			return false
		}
		n := int64(len(elems))
		switch o.op {
		case OpCount:
			return n == o.vals[0].i
		case OpCountMore:
			return n > o.vals[0].i
		}
		return n < o.vals[0].i
	}
	return someElement(v, func(e any) bool { return scalarHolds(o, e, now) })
}

// scalarHolds applies an ordering, text or date operator to one value.
func scalarHolds(o *opCheck, e any, now time.Time) bool {
	switch o.op {
	case OpLessThan, OpLessThanOrEqual, OpMoreThan, OpMoreThanOrEqual:
		w := o.vals[0]
		if w.kind == 'n' {
			a, ok := asNumber(e)
			return ok && ordered(o.op, cmpFloat(a.n, w.n))
		}
		t, ok := asTime(e)
		return ok && ordered(o.op, t.Compare(w.t))
	case OpStartsWith, OpEndsWith, OpContains:
		s, ok := e.(string)
		if !ok {
			return false
		}
		for _, w := range o.vals {
			if o.op == OpStartsWith && strings.HasPrefix(s, w.s) ||
				o.op == OpEndsWith && strings.HasSuffix(s, w.s) ||
				o.op == OpContains && strings.Contains(s, w.s) {
				return true
			}
		}
		return false
	}
	t, ok := asTime(e)
	if !ok {
		return false
	}
	switch o.op {
	case OpAfter:
		return t.After(o.vals[0].t)
	case OpBefore:
		return t.Before(o.vals[0].t)
	}
	if now.IsZero() {
		return false
	}
	n := int(o.vals[0].i)
	switch o.op {
	case OpMoreThanAgo:
		return t.Before(now.AddDate(0, 0, -n))
	case OpLessThanAgo:
		return !t.Before(now.AddDate(0, 0, -n)) && !t.After(now)
	case OpIsDaysAgo:
		return sameDay(t, now.AddDate(0, 0, -n))
	case OpMoreThanFuture:
		return t.After(now.AddDate(0, 0, n))
	case OpLessThanFuture:
		return !t.Before(now) && !t.After(now.AddDate(0, 0, n))
	case OpIsDaysInFuture:
		return sameDay(t, now.AddDate(0, 0, n))
	}
	return false
}

// sameDay compares calendar days in UTC.
func sameDay(a, b time.Time) bool {
	a, b = a.UTC(), b.UTC()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// relativeToNow reports whether op reads Context.Now.
func relativeToNow(op Operator) bool {
	switch op {
	case OpMoreThanAgo, OpLessThanAgo, OpIsDaysAgo, OpMoreThanFuture, OpLessThanFuture, OpIsDaysInFuture:
		return true
	}
	return false
}
