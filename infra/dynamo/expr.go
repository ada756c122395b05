package dynamo

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/promorelay/promorelay/core"
)

// Attribute names on the table. Numeric attributes of core.Item are stored as
// top-level number attributes under their own names (core forbids these five).
const (
	attrPK      = "pk"
	attrSK      = "sk"
	attrVersion = "v"
	attrData    = "d"
	attrTTL     = "ttl"
)

// exprs accumulates the placeholders of one request's expressions. Every name
// goes through a placeholder, so reserved words never matter.
type exprs struct {
	names  map[string]string
	values map[string]types.AttributeValue
	now    int64
}

func newExprs(now int64) *exprs {
	return &exprs{names: map[string]string{}, values: map[string]types.AttributeValue{}, now: now}
}

func (e *exprs) name(n string) string {
	p := "#" + n // names are [a-z0-9_]: valid in a placeholder as they are
	e.names[p] = n
	return p
}

func (e *exprs) num(v int64) string {
	p := ":n" + strconv.Itoa(len(e.values))
	e.values[p] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	return p
}

func (e *exprs) str(v string) string {
	p := ":s" + strconv.Itoa(len(e.values))
	e.values[p] = &types.AttributeValueMemberS{Value: v}
	return p
}

func (e *exprs) bin(v []byte) string {
	p := ":b" + strconv.Itoa(len(e.values))
	e.values[p] = &types.AttributeValueMemberB{Value: v}
	return p
}

func (e *exprs) nowValue() string {
	p := ":now"
	e.values[p] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.now, 10)}
	return p
}

// notExpired holds for an item without a TTL or one whose TTL lies ahead.
// DynamoDB deletes expired items only eventually, so every condition must
// treat an expired item as absent, exactly as the embedded engine does.
func (e *exprs) notExpired() string {
	t := e.name(attrTTL)
	return "(attribute_not_exists(" + t + ") OR " + t + " > " + e.nowValue() + ")"
}

func (e *exprs) cond(c core.Cond) string {
	switch c.Kind {
	case core.CondExists:
		return "(attribute_exists(" + e.name(attrPK) + ") AND " + e.notExpired() + ")"
	case core.CondNotExists:
		t := e.name(attrTTL)
		return "(attribute_not_exists(" + e.name(attrPK) + ") OR " + t + " <= " + e.nowValue() + ")"
	case core.CondVersion:
		return "(" + e.name(attrVersion) + " = " + e.num(c.Version) + " AND " + e.notExpired() + ")"
	case core.CondNum:
		a := e.name(c.Attr)
		return "(attribute_exists(" + a + ") AND " + a + " " + string(c.Op) + " " + e.num(c.Value) + " AND " + e.notExpired() + ")"
	}
	return "(attribute_exists(" + e.name(attrPK) + ") AND attribute_not_exists(" + e.name(attrPK) + "))" // unreachable: validated
}

// condition joins conds with AND; "" when there are none.
func (e *exprs) condition(conds []core.Cond, extra ...string) string {
	parts := append([]string(nil), extra...)
	for _, c := range conds {
		parts = append(parts, e.cond(c))
	}
	return strings.Join(parts, " AND ")
}

// bound expresses "cur + delta stays within the bounds, a missing attribute
// counting as zero" as a condition on the current value.
func (e *exprs) bound(a core.Add) []string {
	var parts []string
	n := e.name(a.Attr)
	if a.Max != nil {
		limit := *a.Max - a.Delta
		if a.Delta <= *a.Max { // zero + delta fits: a missing attribute passes
			parts = append(parts, "(attribute_not_exists("+n+") OR "+n+" <= "+e.num(limit)+")")
		} else {
			parts = append(parts, "("+n+" <= "+e.num(limit)+")")
		}
	}
	if a.Min != nil {
		limit := *a.Min - a.Delta
		if a.Delta >= *a.Min {
			parts = append(parts, "(attribute_not_exists("+n+") OR "+n+" >= "+e.num(limit)+")")
		} else {
			parts = append(parts, "("+n+" >= "+e.num(limit)+")")
		}
	}
	return parts
}

// update builds the update and condition expressions of u. The condition
// always includes notExpired, so that an update never continues from the
// values of an expired item; the engine deletes such an item and retries.
func (e *exprs) update(u core.Update) (update, condition string) {
	var set, add, remove []string
	for name, v := range u.SetNums {
		set = append(set, e.name(name)+" = "+e.num(v))
	}
	if u.Data != nil {
		if len(u.Data) == 0 {
			remove = append(remove, e.name(attrData))
		} else {
			set = append(set, e.name(attrData)+" = "+e.bin(u.Data))
		}
	}
	if u.ExpiresAt != nil {
		if *u.ExpiresAt == 0 {
			remove = append(remove, e.name(attrTTL))
		} else {
			set = append(set, e.name(attrTTL)+" = "+e.num(*u.ExpiresAt))
		}
	}
	var guards []string
	for _, a := range u.Adds {
		add = append(add, e.name(a.Attr)+" "+e.num(a.Delta))
		guards = append(guards, e.bound(a)...)
	}
	add = append(add, e.name(attrVersion)+" "+e.num(1))
	var b strings.Builder
	if len(set) > 0 {
		b.WriteString("SET " + strings.Join(set, ", ") + " ")
	}
	if len(remove) > 0 {
		b.WriteString("REMOVE " + strings.Join(remove, ", ") + " ")
	}
	b.WriteString("ADD " + strings.Join(add, ", "))
	return b.String(), e.condition(u.Conds, append([]string{e.notExpired()}, guards...)...)
}

func (e *exprs) namesOrNil() map[string]string {
	if len(e.names) == 0 {
		return nil
	}
	return e.names
}

func (e *exprs) valuesOrNil() map[string]types.AttributeValue {
	if len(e.values) == 0 {
		return nil
	}
	return e.values
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
