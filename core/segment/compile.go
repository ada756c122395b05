package segment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/promorelay/promorelay/core"
)

// KeyInvalidFilter is the error key of a filter Compile refuses.
const KeyInvalidFilter = "invalid_segment_filter"

// maxReported is how many problems an error message lists.
const maxReported = 20

// Compile checks a filter given as JSON and compiles it.
//
// The filter is a node:
//
//	node  = {"junction": "and"|"or", "not": bool, "filters": [node, …], <field>: term, …}
//	term  = {"conditions": {<operator>: value | [value, …], …}}
//
// "junction" (default "and", case-insensitive) combines the node's terms
// and nested filters; "not" negates the node; the operators of one term
// must all hold. Each node must hold at least one term or nested filter.
//
// Compile refuses, with a *core.Error of code core.CodeInvalid and key
// KeyInvalidFilter, a filter with an unknown field or operator, an
// operator that does not apply to its field's type, a value of the wrong
// type, or beyond the limits (MaxBytes, MaxDepth, MaxConditions,
// MaxValues). Its message lists every problem (up to 20) with its path,
// e.g. "filter.filters[1].orders.total_amount.conditions.$more_than:
// expects a number".
func Compile(raw json.RawMessage) (*Filter, error) {
	return compile(raw, parseField, func(problems []string) error {
		return invalid(KeyInvalidFilter, "segment filter", problems)
	})
}

// compile compiles a filter whose field names resolve reads; fail makes
// the error of a refused filter from its problems.
func compile(raw json.RawMessage, resolve func(name string) (field, string), fail func([]string) error) (*Filter, error) {
	if len(raw) > MaxBytes {
		return nil, fail([]string{fmt.Sprintf("filter: larger than %d bytes", MaxBytes)})
	}
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		return nil, fail([]string{"filter: malformed JSON: " + err.Error()})
	}
	c := &compiler{events: map[string]bool{}, resolve: resolve}
	root := c.node("filter", raw, 1)
	if c.conds > MaxConditions {
		c.problems = slices.Insert(c.problems, 0, fmt.Sprintf("filter: more than %d conditions (%d)", MaxConditions, c.conds))
	}
	if len(c.problems) > 0 {
		return nil, fail(c.problems)
	}
	f := &Filter{raw: slices.Clone(raw), root: root, terms: c.terms, relative: c.relative}
	for ev := range c.events {
		f.events = append(f.events, ev)
	}
	slices.Sort(f.events)
	return f, nil
}

// invalid is the error refusing a filter (what names it) for problems.
func invalid(key, what string, problems []string) error {
	msg := strings.Join(problems[:min(len(problems), maxReported)], "; ")
	if len(problems) > maxReported {
		msg += fmt.Sprintf("; and %d more", len(problems)-maxReported)
	}
	return core.KeyedError(core.CodeInvalid, key, "invalid %s: %s", what, msg)
}

// compiler collects the problems of one filter and what the compiled
// filter needs to know about the whole tree.
type compiler struct {
	resolve  func(name string) (field, string)
	problems []string
	conds    int
	terms    []*term
	events   map[string]bool
	relative bool
}

func (c *compiler) problem(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

func (c *compiler) node(path string, raw json.RawMessage, depth int) *node {
	if depth > MaxDepth {
		c.problem(path, "nested more than %d levels deep", MaxDepth)
		return nil
	}
	members, ok := objectMembers(raw)
	if !ok {
		c.problem(path, "must be an object")
		return nil
	}
	n := &node{}
	empty := true
	for i, m := range members {
		p := path + "." + m.key
		if repeated(members[:i], m.key) {
			c.problem(p, "repeated")
			continue
		}
		switch m.key {
		case "junction":
			j, _ := decode(m.val).(string)
			switch strings.ToLower(j) {
			case "and":
			case "or":
				n.or = true
			default:
				c.problem(p, `must be "and" or "or"`)
			}
		case "not":
			b, ok := decode(m.val).(bool)
			if !ok {
				c.problem(p, "must be true or false")
			}
			n.not = b
		case "filters":
			kids, ok := decode(m.val).([]any)
			if !ok {
				c.problem(p, "must be an array of filters")
				continue
			}
			var raws []json.RawMessage
			_ = json.Unmarshal(m.val, &raws) // valid: decoded above
			for i := range kids {
				empty = false
				if kid := c.node(fmt.Sprintf("%s[%d]", p, i), raws[i], depth+1); kid != nil {
					n.kids = append(n.kids, kid)
				}
			}
		default:
			empty = false
			if t := c.term(p, m.key, m.val); t != nil {
				n.terms = append(n.terms, t)
			}
		}
	}
	if empty {
		c.problem(path, "has no conditions")
	}
	return n
}

func (c *compiler) term(path, name string, raw json.RawMessage) *term {
	f, problem := c.resolve(name)
	if problem != "" {
		c.problem(path, "%s", problem)
		return nil
	}
	members, ok := objectMembers(raw)
	if !ok {
		c.problem(path, `must be an object {"conditions": {…}}`)
		return nil
	}
	var conds json.RawMessage
	for _, m := range members {
		if m.key != "conditions" {
			c.problem(path+"."+m.key, `unknown key; a field takes only "conditions"`)
			continue
		}
		conds = m.val
	}
	if conds == nil {
		c.problem(path, `has no "conditions"`)
		return nil
	}
	path += ".conditions"
	ops, ok := objectMembers(conds)
	switch {
	case !ok:
		c.problem(path, "must be an object of operators")
		return nil
	case len(ops) == 0:
		c.problem(path, "has no operators")
		return nil
	}
	t := &term{field: f}
	for i, o := range ops {
		c.conds++
		p := path + "." + o.key
		if repeated(ops[:i], o.key) {
			c.problem(p, "repeated")
			continue
		}
		if ck, ok := c.check(p, f, o.key, o.val); ok {
			t.checks = append(t.checks, ck)
		}
	}
	if f.event != "" {
		c.events[f.event] = true
	}
	if f.window > 0 {
		c.relative = true
	}
	c.terms = append(c.terms, t)
	return t
}

// want is the type of value an operator takes.
type want uint8

const (
	wantString want = iota + 1
	wantNumber
	wantTime
	wantBool
	wantScalar // string, number or boolean
)

func (w want) String() string {
	switch w {
	case wantString:
		return "a string"
	case wantNumber:
		return "a number"
	case wantTime:
		return "a time (RFC 3339 or YYYY-MM-DD)"
	case wantBool:
		return "true or false"
	}
	return "a string, number or boolean"
}

func (c *compiler) check(path string, f field, name string, raw json.RawMessage) (check, bool) {
	o, ok := parseOp(name)
	if !ok {
		c.problem(path, "unknown operator")
		return check{}, false
	}
	if !o.takes(f.kind) {
		c.problem(path, "not valid for %s", f.kind)
		return check{}, false
	}
	vals := values(raw)
	if len(vals) > MaxValues {
		c.problem(path, "more than %d values", MaxValues)
		return check{}, false
	}
	switch o {
	case opHasValue, opIsUnknown:
		// Voucherify sends "" for these; true and [] read as naturally.
		for _, v := range vals {
			if v != "" && v != true {
				c.problem(path, `takes no value ("", true or [])`)
				return check{}, false
			}
		}
		return check{op: o}, true
	case opWithinDays, opOlderThanDays:
		var n number
		if len(vals) == 1 {
			n, ok = asNumber(vals[0])
		}
		if len(vals) != 1 || !ok || !n.isInt || n.i < 1 || n.i > MaxDays {
			c.problem(path, "expects one whole number of days from 1 to %d", MaxDays)
			return check{}, false
		}
		c.relative = true
		return check{op: o, days: int(n.i)}, true
	}
	w := valueType(o, f.kind)
	switch {
	case len(vals) == 0:
		c.problem(path, "expects %s", w)
		return check{}, false
	case len(vals) > 1 && o.single():
		c.problem(path, "expects one value")
		return check{}, false
	}
	ck := check{op: o, vals: make([]operand, 0, len(vals))}
	for _, v := range vals {
		od, ok := makeOperand(v, w, f.fold)
		if !ok {
			c.problem(path, "expects %s", w)
			return check{}, false
		}
		ck.vals = append(ck.vals, od)
	}
	return ck, true
}

// valueType is the type of the values of operator o on a field of kind k.
func valueType(o op, k kind) want {
	switch o {
	case opMoreThan, opMoreThanEqual, opLessThan, opLessThanEqual:
		return wantNumber
	case opAfter, opBefore:
		return wantTime
	case opStartsWith, opEndsWith:
		return wantString
	}
	switch k {
	case kindNumber:
		return wantNumber
	case kindTime:
		return wantTime
	case kindBool:
		return wantBool
	case kindAny:
		return wantScalar
	}
	return wantString // text and set fields
}

// makeOperand types one decoded value; fold lowercases strings.
func makeOperand(v any, w want, fold bool) (operand, bool) {
	switch x := v.(type) {
	case string:
		if w != wantString && w != wantTime && w != wantScalar {
			return operand{}, false
		}
		o := operand{kind: 's', s: x}
		if fold {
			o.s = strings.ToLower(x)
		}
		if w != wantString {
			o.t, o.isTime = parseTime(x)
			o.dateOnly = o.isTime && len(x) == len("2006-01-02")
		}
		return o, w != wantTime || o.isTime
	case bool:
		return operand{kind: 'b', b: x}, w == wantBool || w == wantScalar
	case json.Number:
		n, ok := asNumber(x)
		return operand{kind: 'n', num: n}, ok && (w == wantNumber || w == wantScalar)
	}
	return operand{}, false
}

// member is one key of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
}

// objectMembers lists the members of a JSON object (raw is valid JSON);
// ok is false when raw is not an object.
func objectMembers(raw json.RawMessage) (ms []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = append(ms, member{key: key, val: v})
	}
	return ms, true
}

func repeated(before []member, key string) bool {
	return slices.ContainsFunc(before, func(m member) bool { return m.key == key })
}

// decode decodes valid JSON with numbers as json.Number.
func decode(raw json.RawMessage) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v) // raw is valid JSON
	return v
}

// values reads an operator's value or list of values; null is none.
func values(raw json.RawMessage) []any {
	switch v := decode(raw).(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}
