package segment

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Filters over other records than customers (orders in an export, say) use
// the same node shape, operators and semantics of absent data as segment
// filters; only the fields differ. A RecordSchema names them.

// RecordKind is the type of a record field.
type RecordKind uint8

// Record field types.
const (
	RecordString RecordKind = iota + 1 // a string ("" is absent)
	RecordNumber                       // an int64
	RecordTime                         // a time.Time (zero is absent)
)

// RecordSchema describes the fields a record filter may name: each field's
// type, and metadata.<key> fields (of any JSON type) when Metadata is set.
// What names the filter in error messages ("export filter"), and Key is the
// error key of a refused filter.
type RecordSchema struct {
	Fields   map[string]RecordKind
	Metadata bool
	What     string
	Key      string
}

// Record is one record a filter is evaluated against: its field values by
// name (string, int64 or time.Time; a missing name is absent) and its
// metadata.
type Record struct {
	Values   map[string]any
	Metadata map[string]any
}

// CompileRecords compiles a filter over records of schema. It refuses what
// Compile refuses, naming the schema's fields, with a *core.Error of code
// core.CodeInvalid and key schema.Key.
func CompileRecords(raw json.RawMessage, schema RecordSchema) (*Filter, error) {
	names := make([]string, 0, len(schema.Fields))
	for n := range schema.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	if schema.Metadata {
		names = append(names, "metadata.<key>")
	}
	resolve := func(name string) (field, string) {
		unknown := "unknown field; the fields are " + strings.Join(names, ", ")
		if key, ok := strings.CutPrefix(name, "metadata."); ok {
			if !schema.Metadata || key == "" {
				return field{}, unknown
			}
			return field{kind: kindAny, get: func(e *env) any { return lookup(e.rec.Metadata, key) }}, ""
		}
		k, ok := schema.Fields[name]
		if !ok {
			return field{}, unknown
		}
		get := func(e *env) any { return presentValue(e.rec.Values[name]) }
		switch k {
		case RecordString:
			return field{kind: kindString, get: get}, ""
		case RecordNumber:
			return field{kind: kindNumber, get: get}, ""
		case RecordTime:
			return field{kind: kindTime, get: get}, ""
		}
		return field{}, fmt.Sprintf("field %s has no type in the schema", name)
	}
	return compile(raw, resolve, func(problems []string) error {
		return invalid(schema.Key, schema.What, problems)
	})
}

// MatchRecord reports whether record r passes the filter at now. The
// filter must come from CompileRecords.
func (f *Filter) MatchRecord(r Record, now time.Time) bool {
	return f.root.match(&env{rec: &r, now: now})
}

// presentValue is a record value as fields read it: nil when absent.
func presentValue(v any) any {
	switch x := v.(type) {
	case string:
		return present(x)
	case time.Time:
		return presentTime(x)
	}
	return v
}

// Lookup finds key in m as filters do: the key itself, else a dotted path
// into nested objects. It returns nil when absent.
func Lookup(m map[string]any, key string) any { return lookup(m, key) }
