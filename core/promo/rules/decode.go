package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
)

// InvalidKey is the key of the error Parse and Validate return, Voucherify's
// key for a bad rule definition.
const InvalidKey = "invalid_validation_rules"

// decoder reads the JSON shape of a rule, noting every problem instead of
// stopping at the first, so that Parse can report them all. Parts it could
// not read are recorded in skip, so compile does not report them again.
type decoder struct {
	problems []string
	skip     map[string]bool // paths of conditions that could not be read
	fatal    bool            // the input is not an object at all
}

func (d *decoder) addf(path, format string, args ...any) {
	d.problems = append(d.problems, path+": "+fmt.Sprintf(format, args...))
}

func (d *decoder) markSkip(path string) {
	if d.skip == nil {
		d.skip = map[string]bool{}
	}
	d.skip[path] = true
}

func (d *decoder) err() error { return problemsError(d.problems) }

// problemsError joins problems into one client-safe *core.Error.
func problemsError(probs []string) error {
	if len(probs) == 0 {
		return nil
	}
	e := core.Errorf(core.CodeInvalid, "invalid validation rule: %s", strings.Join(probs, "; "))
	e.Key = InvalidKey
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = errors.New(p)
	}
	e.Err = errors.Join(errs...)
	return e
}

// object reads a JSON object into its raw members; null reads as empty.
func (d *decoder) object(path string, data []byte) (map[string]json.RawMessage, bool) {
	if isNull(data) {
		return nil, true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		d.addf(path, "want an object")
		return nil, false
	}
	return m, true
}

func isNull(data []byte) bool {
	return len(data) == 0 || string(bytes.TrimSpace(data)) == "null"
}

// str reads a string member; null reads as "".
func (d *decoder) str(path string, data []byte) string {
	if isNull(data) {
		return ""
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		d.addf(path, "want a string")
	}
	return s
}

// values reads an operator's value list, keeping numbers as json.Number so
// that large integers stay exact.
func (d *decoder) values(path string, data []byte) ([]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v []any
	if err := dec.Decode(&v); err != nil || v == nil {
		d.addf(path, "want an array of values")
		return nil, false
	}
	return v, true
}

func (d *decoder) rule(data []byte) Rule {
	m, ok := d.object("rule", data)
	if !ok || m == nil {
		if ok {
			d.addf("rule", "want an object")
		}
		d.fatal = true
		return Rule{}
	}
	var r Rule
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "id":
			r.ID = d.str(k, v)
		case "name":
			r.Name = d.str(k, v)
		case "rules":
			r.Rules = d.rules(k, v)
		case "error":
			r.Error = d.errorMessage(k, v)
		case "applicable_to":
			r.ApplicableTo = d.applicableTo(k, v)
		case "created_at":
			r.CreatedAt = d.time(k, v)
		case "updated_at":
			r.UpdatedAt = d.time(k, v)
		case "type":
			r.Type = d.str(k, v)
		case "context_type":
			r.ContextType = d.str(k, v)
		case "assignments_count":
			if !isNull(v) && json.Unmarshal(v, &r.AssignmentsCount) != nil {
				d.addf(k, "want an integer")
			}
		case "object":
			r.Object = d.str(k, v)
		case "bundle_rules":
			if bm, _ := d.object(k, v); len(bm) > 0 {
				d.addf(k, "bundle rules are not supported")
			}
		}
	}
	return r
}

func (d *decoder) time(path string, data []byte) time.Time {
	s := d.str(path, data)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.addf(path, "want an ISO 8601 date-time, got %q", s)
	}
	return t
}

func (d *decoder) errorMessage(path string, data []byte) *ErrorMessage {
	m, ok := d.object(path, data)
	if !ok || m == nil {
		return nil
	}
	return &ErrorMessage{Message: d.str(path+".message", m["message"])}
}

func (d *decoder) applicableTo(path string, data []byte) ApplicableTo {
	var a ApplicableTo
	if isNull(data) {
		return a
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		d.addf(path, "%s", jsonProblem(err))
		return ApplicableTo{}
	}
	// Empty lists read as nil, so that a rule re-read equals itself.
	if len(a.Excluded) == 0 {
		a.Excluded = nil
	}
	if len(a.Included) == 0 {
		a.Included = nil
	}
	return a
}

// jsonProblem words an encoding/json error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: wrong type (%s)", te.Field, te.Value)
		}
		return fmt.Sprintf("wrong type (%s)", te.Value)
	}
	return "malformed"
}

// maxNesting is how deep Voucherify nests rules under a condition (three
// levels); deeper input is refused before it costs anything.
const maxNesting = 3

func (d *decoder) rules(path string, data []byte) Rules {
	if strings.Count(path, ".rules") > maxNesting {
		d.addf(path, "rules nested deeper than %d levels", maxNesting)
		return Rules{}
	}
	m, ok := d.object(path, data)
	if !ok {
		return Rules{}
	}
	var rs Rules
	keys := sortedKeys(m)
	sortNumbers(keys)
	for _, k := range keys {
		v := m[k]
		if k == "logic" {
			rs.Logic = d.str(path+".logic", v)
			continue
		}
		if !isNumber(k) {
			d.addf(path, "key %q is neither \"logic\" nor a condition number such as \"1\"", k)
			continue
		}
		c, ok := d.condition(path+"."+k, v)
		if !ok {
			d.markSkip(path + "." + k)
		}
		if rs.ByNumber == nil {
			rs.ByNumber = map[string]Condition{}
		}
		rs.ByNumber[k] = c
	}
	return rs
}

func (d *decoder) condition(path string, data []byte) (Condition, bool) {
	m, ok := d.object(path, data)
	if !ok || m == nil {
		if ok {
			d.addf(path, "want an object")
		}
		return Condition{}, false
	}
	before := len(d.problems)
	var c Condition
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "name":
			c.Name = d.str(path+".name", v)
		case "property":
			c.Property = d.str(path+".property", v)
		case "conditions":
			c.Conditions = d.operators(path+".conditions", v)
		case "rules":
			c.Rules = d.rules(path+".rules", v)
		case "error":
			c.Error = d.errorMessage(path+".error", v)
		}
	}
	return c, len(d.problems) == before
}

func (d *decoder) operators(path string, data []byte) map[Operator][]any {
	m, ok := d.object(path, data)
	if !ok || len(m) == 0 {
		return nil
	}
	ops := make(map[Operator][]any, len(m))
	for _, k := range sortedKeys(m) {
		if vals, ok := d.values(path+"."+k, m[k]); ok {
			ops[Operator(k)] = vals
		}
	}
	return ops
}

// isNumber reports whether s is a canonical positive integer: "1", "12", not
// "01" or "+1".
func isNumber(s string) bool {
	if s == "" || len(s) > 6 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// sortNumbers sorts condition numbers numerically (keys that are not
// numbers, found only in invalid rules, sort by length then text).
func sortNumbers(keys []string) {
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) < len(keys[j])
		}
		return keys[i] < keys[j]
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
