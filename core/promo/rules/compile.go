package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// program is a rule checked and ready to evaluate: operator values typed,
// logic parsed. It is immutable and shared by copies of the Rule.
type program struct {
	root *ruleSet
}

// ruleSet is a compiled Rules.
type ruleSet struct {
	logic *node            // nil: all conditions must hold
	order []string         // the conditions evaluated: all (no logic) or those the logic names
	conds map[string]*cond // nil entries for conditions that failed to compile
}

// cond is a compiled Condition.
type cond struct {
	num, name string
	spec      spec
	property  string
	ops       []opCheck // in operator order, so failures are deterministic
	refs      []itemRef // order-items rules: all items named by $is and $in
	nested    *ruleSet  // order-items rules: conditions per item; nil when none
	message   string    // configured error.message
}

// opCheck is one operator with its typed values.
type opCheck struct {
	op   Operator
	vals []scalar
	refs []itemRef
}

// itemRef names a product, SKU or collection in an order-items rule.
type itemRef struct {
	object, id, sourceID string
}

func (r itemRef) String() string {
	name := strings.ReplaceAll(r.object, "_", " ")
	if r.id != "" {
		return name + " " + r.id
	}
	return name + " " + r.sourceID
}

var ruleTypes = []string{TypeExpression, TypeBasic, TypeAdvanced, TypeComplex}

// contextTypes are Voucherify's context types of a rule.
var contextTypes = []string{
	"earning_rule.order.paid", "earning_rule.custom_event", "earning_rule.customer.segment.entered",
	"earning_rule.customer.tier.joined", "earning_rule.customer.tier.left", "earning_rule.customer.tier.upgraded",
	"earning_rule.customer.tier.downgraded", "earning_rule.customer.tier.prolonged",
	"campaign.discount_coupons", "campaign.discount_coupons.discount.apply_to_order",
	"campaign.discount_coupons.discount.apply_to_items", "campaign.discount_coupons.discount.apply_to_items_proportionally",
	"campaign.discount_coupons.discount.apply_to_items_proportionally_by_quantity",
	"campaign.discount_coupons.discount.apply_to_items_by_quantity", "campaign.discount_coupons.discount.fixed.apply_to_items",
	"campaign.discount_coupons.discount.percent.apply_to_items",
	"campaign.gift_vouchers", "campaign.gift_vouchers.gift.apply_to_order", "campaign.gift_vouchers.gift.apply_to_items",
	"campaign.referral_program", "campaign.referral_program.discount.apply_to_order",
	"campaign.referral_program.discount.apply_to_items", "campaign.referral_program.discount.apply_to_items_proportionally",
	"campaign.referral_program.discount.apply_to_items_proportionally_by_quantity",
	"campaign.referral_program.discount.apply_to_items_by_quantity", "campaign.referral_program.discount.fixed.apply_to_items",
	"campaign.referral_program.discount.percent.apply_to_items",
	"campaign.promotion", "campaign.promotion.discount.apply_to_order", "campaign.promotion.discount.apply_to_items",
	"campaign.promotion.discount.apply_to_items_proportionally",
	"campaign.promotion.discount.apply_to_items_proportionally_by_quantity",
	"campaign.promotion.discount.apply_to_items_by_quantity", "campaign.promotion.discount.fixed.apply_to_items",
	"campaign.promotion.discount.percent.apply_to_items",
	"campaign.loyalty_program",
	"voucher.discount_voucher", "voucher.discount_voucher.discount.apply_to_order",
	"voucher.discount_voucher.discount.apply_to_items", "voucher.discount_voucher.discount.apply_to_items_proportionally",
	"voucher.discount_voucher.discount.apply_to_items_proportionally_by_quantity",
	"voucher.discount_voucher.discount.apply_to_items_by_quantity", "voucher.discount_voucher.discount.fixed.apply_to_items",
	"voucher.discount_voucher.discount.percent.apply_to_items",
	"voucher.gift_voucher", "voucher.gift_voucher.gift.apply_to_order", "voucher.gift_voucher.gift.apply_to_items",
	"voucher.loyalty_card",
	"distribution.custom_event", "distribution.order.paid", "distribution.order.created", "distribution.order.canceled",
	"distribution.order.updated",
	"reward_assignment.pay_with_points",
	ContextGlobal,
}

var (
	targetObjects = []string{"product", "sku", "products_collection"}
	targetEffects = []string{"APPLY_TO_EVERY", "APPLY_TO_CHEAPEST", "APPLY_FROM_CHEAPEST", "APPLY_TO_MOST_EXPENSIVE", "APPLY_FROM_MOST_EXPENSIVE"}
	targetKinds   = []string{"ITEM", "UNIT"}
)

// compiler checks a rule and builds its program, collecting every problem.
type compiler struct {
	problems []string
	skip     map[string]bool // condition paths the decoder already reported
}

func (c *compiler) addf(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// compile checks r and builds its program. The program is usable only when
// there are no problems; CountersNeeded still reads what it can from it.
func compile(r Rule, skip map[string]bool) (*program, []string) {
	c := &compiler{skip: skip}
	if strings.TrimSpace(r.Name) == "" {
		c.addf("name", "is required")
	}
	if r.Object != "" && r.Object != Object {
		c.addf("object", "want %q, got %q", Object, r.Object)
	}
	if r.Type != "" && !slices.Contains(ruleTypes, r.Type) {
		c.addf("type", "want one of %s, got %q", strings.Join(ruleTypes, ", "), r.Type)
	}
	if r.ContextType != "" && !slices.Contains(contextTypes, r.ContextType) {
		c.addf("context_type", "unknown context type %q", r.ContextType)
	}
	if r.AssignmentsCount < 0 {
		c.addf("assignments_count", "must not be negative")
	}
	c.targets("applicable_to.excluded", r.ApplicableTo.Excluded)
	c.targets("applicable_to.included", r.ApplicableTo.Included)
	return &program{root: c.set("rules", r.Rules, false)}, c.problems
}

func (c *compiler) targets(path string, ts []ItemTarget) {
	for i, t := range ts {
		at := path + "[" + strconv.Itoa(i) + "]"
		if !slices.Contains(targetObjects, t.Object) {
			c.addf(at+".object", "want one of %s, got %q", strings.Join(targetObjects, ", "), t.Object)
		}
		if t.ID == "" && (t.SourceID == nil || *t.SourceID == "") {
			c.addf(at+".id", "is required")
		}
		if t.Effect != "" && !slices.Contains(targetEffects, t.Effect) {
			c.addf(at+".effect", "want one of %s, got %q", strings.Join(targetEffects, ", "), t.Effect)
		}
		if t.Target != "" && !slices.Contains(targetKinds, t.Target) {
			c.addf(at+".target", "want ITEM or UNIT, got %q", t.Target)
		}
		for name, v := range map[string]*int64{
			"quantity_limit": t.QuantityLimit, "aggregated_quantity_limit": t.AggregatedQuantityLimit,
			"amount_limit": t.AmountLimit, "aggregated_amount_limit": t.AggregatedAmountLimit,
			"repeat": t.Repeat, "skip_initially": t.SkipInitially,
		} {
			if v != nil && *v < 0 {
				c.addf(at+"."+name, "must not be negative")
			}
		}
	}
}

// set compiles numbered conditions and their logic; nested says they sit
// inside an order-items condition.
func (c *compiler) set(path string, rs Rules, nested bool) *ruleSet {
	s := &ruleSet{conds: make(map[string]*cond, len(rs.ByNumber))}
	nums := sortedNumbers(rs.ByNumber)
	for _, num := range nums {
		cpath := path + "." + num
		if !isNumber(num) {
			c.addf(path, "key %q is not a condition number such as \"1\"", num)
			continue
		}
		if c.skip[cpath] {
			s.conds[num] = nil
			continue
		}
		s.conds[num] = c.cond(cpath, num, rs.ByNumber[num], nested)
	}
	logic, err := parseLogic(rs.Logic)
	switch {
	case err != nil:
		c.addf(path+".logic", "malformed logic %q: %v", rs.Logic, err)
		s.order = nums
	case logic == nil:
		s.order = nums
	default:
		s.logic = logic
		s.order = logic.numbers()
		for _, n := range s.order {
			if _, ok := rs.ByNumber[n]; !ok {
				c.addf(path+".logic", "refers to condition %s, which is not defined", n)
			}
		}
	}
	return s
}

func (c *compiler) cond(path, num string, in Condition, nested bool) *cond {
	sp, known := specs[in.Name]
	if !known {
		c.addf(path+".name", "%s", unknownName(in.Name))
		for _, op := range sortedOps(in.Conditions) {
			if _, ok := arities[op]; !ok {
				c.addf(path+".conditions."+string(op), "%s", unknownOperator(op))
			}
		}
		return nil
	}
	before := len(c.problems)
	switch {
	case sp.nested && !nested:
		c.addf(path+".name", "%q is only valid nested in an order-items rule such as %s", in.Name, NameItemsAny)
	case !sp.nested && nested:
		c.addf(path+".name", "%q cannot be nested in an order-items rule", in.Name)
	}
	switch {
	case sp.property && strings.TrimSpace(in.Property) == "":
		c.addf(path+".property", "is required by %q", in.Name)
	case !sp.property && in.Property != "":
		c.addf(path+".property", "is not used by %q", in.Name)
	}
	out := &cond{num: num, name: in.Name, spec: sp, property: in.Property}
	if in.Error != nil {
		out.message = in.Error.Message
	}
	if len(in.Conditions) == 0 && sp.kind != kHolder {
		c.addf(path+".conditions", "want at least one operator")
	}
	for _, op := range sortedOps(in.Conditions) {
		if o, ok := c.operator(path+".conditions."+string(op), in.Name, sp, op, in.Conditions[op]); ok {
			out.ops = append(out.ops, o)
			out.refs = append(out.refs, o.refs...)
		}
	}
	switch {
	case sp.kind == kItems || sp.kind == kItemIDs:
		if len(in.Rules.ByNumber) > 0 || strings.TrimSpace(in.Rules.Logic) != "" {
			out.nested = c.set(path+".rules", in.Rules, true)
		}
	case len(in.Rules.ByNumber) > 0 || strings.TrimSpace(in.Rules.Logic) != "":
		c.addf(path+".rules", "%q takes no nested rules", in.Name)
	}
	if len(c.problems) > before {
		return nil
	}
	return out
}

func sortedOps(m map[Operator][]any) []Operator {
	ops := make([]Operator, 0, len(m))
	for op := range m {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// operator checks one operator of a condition and types its values.
func (c *compiler) operator(path, name string, sp spec, op Operator, vals []any) (opCheck, bool) {
	ar, known := arities[op]
	if !known {
		c.addf(path, "%s", unknownOperator(op))
		return opCheck{}, false
	}
	allowed := sp.dom.ops()
	if !slices.Contains(allowed, op) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		c.addf(path, "operator not allowed in %q (allowed: %s)", name, strings.Join(names, ", "))
		return opCheck{}, false
	}
	switch {
	case len(vals) == 0:
		c.addf(path, "want at least one value")
		return opCheck{}, false
	case ar == one && len(vals) != 1:
		c.addf(path, "want exactly one value, got %d", len(vals))
		return opCheck{}, false
	}
	o := opCheck{op: op}
	before := len(c.problems)
	for i, v := range vals {
		at := path + "[" + strconv.Itoa(i) + "]"
		if sp.dom == domRefs {
			if r, ok := c.ref(at, v); ok {
				o.refs = append(o.refs, r)
			}
			continue
		}
		if s, ok := c.value(at, sp, op, v); ok {
			o.vals = append(o.vals, s)
		}
	}
	if sp.kind == kItemIDs {
		for _, s := range o.vals {
			o.refs = append(o.refs, itemRef{object: sp.object, id: s.s})
		}
	}
	return o, len(c.problems) == before
}

// value types one operator value for the rule's domain.
func (c *compiler) value(path string, sp spec, op Operator, v any) (scalar, bool) {
	fail := func(want string) (scalar, bool) {
		c.addf(path, "want %s, got %s", want, describe(v))
		return scalar{}, false
	}
	switch sp.dom {
	case domNumber:
		if s, ok := asNumber(v); ok {
			return s, true
		}
		return fail("a number")
	case domStrings:
		if s, ok := v.(string); ok && s != "" {
			return scalar{kind: 's', s: s}, true
		}
		return fail("a non-empty id")
	case domBool:
		if b, ok := v.(bool); ok {
			return scalar{kind: 'b', b: b}, true
		}
		return fail("true or false")
	}
	// Metadata: the operator decides the type.
	switch op {
	case OpIs, OpIsNot, OpIn, OpNotIn:
		if _, isObject := v.(map[string]any); !isObject {
			if s, ok := asScalar(v); ok {
				return s, true
			}
		}
		return fail("a string, number or boolean")
	case OpLessThan, OpLessThanOrEqual, OpMoreThan, OpMoreThanOrEqual:
		if s, ok := asNumber(v); ok {
			return s, true
		}
		if s, ok := v.(string); ok {
			if t, ok := parseDate(s); ok {
				return scalar{kind: 's', s: s, t: t, isTime: true}, true
			}
		}
		return fail("a number or a date")
	case OpStartsWith, OpEndsWith, OpContains:
		if s, ok := v.(string); ok {
			return scalar{kind: 's', s: s}, true
		}
		return fail("a string")
	case OpAfter, OpBefore:
		if s, ok := v.(string); ok {
			if t, ok := parseDate(s); ok {
				return scalar{kind: 's', s: s, t: t, isTime: true}, true
			}
		}
		return fail("a date such as 2024-05-01 or 2024-05-01T10:00:00Z")
	}
	// Counts and days: small non-negative integers.
	if s, ok := asNumber(v); ok && s.isInt && s.i >= 0 && s.i <= 100000 {
		return s, true
	}
	return fail("a whole number from 0 to 100000")
}

// ref reads an {object, id, source_id} item of an order-items rule.
func (c *compiler) ref(path string, v any) (itemRef, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.addf(path, "want an object with object and id, got %s", describe(v))
		return itemRef{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	r := itemRef{object: str("object"), id: str("id"), sourceID: str("source_id")}
	ok = true
	if !slices.Contains(targetObjects, r.object) {
		c.addf(path+".object", "want one of %s, got %s", strings.Join(targetObjects, ", "), describe(m["object"]))
		ok = false
	}
	if r.id == "" && (r.sourceID == "" || r.object == "products_collection") {
		c.addf(path+".id", "is required")
		ok = false
	}
	return r, ok
}

// describe names a JSON value's type and shows short values, for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return "string " + strconv.Quote(x)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case json.Number:
		return "number " + string(x)
	}
	if s, ok := asNumber(v); ok {
		return "number " + s.String()
	}
	return fmt.Sprintf("%T", v)
}

func quote(s string) string { return strconv.Quote(s) }
