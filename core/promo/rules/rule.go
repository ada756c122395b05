// Package rules is the validation-rule engine: Voucherify-compatible rule
// definitions (the JSON of /v1/validation-rules), their validation, and a
// pure evaluator that decides whether one validation or redemption meets a
// rule.
//
// The package does no I/O and reads no clock. The caller fills a Context with
// everything a rule may look at — customer, order, redemption, the counters
// read from storage and the current time — and calls Rule.Evaluate.
// CountersNeeded tells it beforehand which counters the rules use, so it reads
// only those.
//
// A Rule is a set of numbered conditions ("1", "2", …) joined by a logic
// expression such as "(1 and 2) or not 3". Each condition names what it looks
// at (Voucherify's rule names, see RuleNames) and holds operators with values
// ({"$more_than": [10000]}); several operators in one condition must all hold.
// Conditions on order items (order.items.any and friends) carry nested
// conditions evaluated per item.
package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Object is the value of Rule.Object.
const Object = "validation_rules"

// Rule types (Rule.Type). Voucherify's default is TypeExpression; the others
// record which dashboard builder made the rule. The evaluator treats all alike.
const (
	TypeExpression = "expression"
	TypeBasic      = "basic"
	TypeAdvanced   = "advanced"
	TypeComplex    = "complex"
)

// ContextGlobal is Voucherify's default context type (Rule.ContextType).
const ContextGlobal = "global"

// Rule is a validation rule as Voucherify's API shows it.
//
// Build one with Parse or json.Unmarshal (both validate it and compile its
// logic once) or as a literal (then Evaluate compiles it on every call, and
// Validate reports its problems). A parsed Rule must not be changed: parse
// the changed JSON again instead. A Rule is safe for concurrent use.
type Rule struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name"`
	Rules Rules  `json:"rules"`
	// Error is the message shown when the rule fails and no failing condition
	// has a message of its own.
	Error            *ErrorMessage `json:"error,omitempty"`
	ApplicableTo     ApplicableTo  `json:"applicable_to"`
	CreatedAt        time.Time     `json:"created_at,omitzero"`
	UpdatedAt        time.Time     `json:"updated_at,omitzero"`
	Type             string        `json:"type,omitempty"`
	ContextType      string        `json:"context_type,omitempty"`
	AssignmentsCount int           `json:"assignments_count,omitempty"`
	Object           string        `json:"object"`

	prog *program // compiled by Parse; nil for literals
}

// Rules is a set of numbered conditions and the logic that joins them. In
// JSON it is one object: the conditions under their numbers and "logic".
type Rules struct {
	// Logic joins the conditions by number with "and", "or", "not" and
	// parentheses, e.g. "(1 and 2) or 3"; "and" binds tighter than "or",
	// "not" tightest. Empty means all conditions must hold. Conditions the
	// logic does not mention are not evaluated.
	Logic string
	// ByNumber holds the conditions under their numbers "1", "2", …
	ByNumber map[string]Condition
}

// Condition is one numbered entry of Rules.
type Condition struct {
	// Name says what the condition looks at, e.g. "order.amount"; see RuleNames.
	Name string `json:"name"`
	// Property is the metadata key for the metadata rules (customer.metadata, …).
	Property string `json:"property"`
	// Conditions maps operators to their values, e.g. {"$more_than": [10000]}.
	// Every operator must hold. Numbers are json.Number after parsing.
	Conditions map[Operator][]any `json:"conditions"`
	// Rules are nested conditions, evaluated per order item; only the
	// order-items rules (order.items.any, product.id, …) take them.
	Rules Rules `json:"rules"`
	// Error is the message shown when this condition fails.
	Error *ErrorMessage `json:"error,omitempty"`
}

// ErrorMessage is a user-configured failure message.
type ErrorMessage struct {
	Message string `json:"message"`
}

// ApplicableTo says which order items a discount applies to. The evaluator
// ignores it; the discount calculation reads it.
type ApplicableTo struct {
	Excluded    []ItemTarget `json:"excluded"`
	Included    []ItemTarget `json:"included"`
	IncludedAll bool         `json:"included_all"`
}

// ItemTarget is a product, SKU or product collection a discount includes or
// excludes, with the limits of the discount on it.
type ItemTarget struct {
	Object                  string   `json:"object"` // product, sku or products_collection
	ID                      string   `json:"id"`
	SourceID                *string  `json:"source_id,omitempty"`
	ProductID               string   `json:"product_id,omitempty"`
	ProductSourceID         string   `json:"product_source_id,omitempty"`
	Price                   *float64 `json:"price,omitempty"`
	PriceFormula            any      `json:"price_formula,omitempty"`
	Effect                  string   `json:"effect,omitempty"`
	QuantityLimit           *int64   `json:"quantity_limit,omitempty"`
	AggregatedQuantityLimit *int64   `json:"aggregated_quantity_limit,omitempty"`
	AmountLimit             *int64   `json:"amount_limit,omitempty"`
	AggregatedAmountLimit   *int64   `json:"aggregated_amount_limit,omitempty"`
	Repeat                  *int64   `json:"repeat,omitempty"`
	SkipInitially           *int64   `json:"skip_initially,omitempty"`
	Target                  string   `json:"target,omitempty"` // ITEM or UNIT
}

// MarshalJSON writes empty lists as [] as Voucherify does.
func (a ApplicableTo) MarshalJSON() ([]byte, error) {
	type plain ApplicableTo
	p := plain(a)
	if p.Excluded == nil {
		p.Excluded = []ItemTarget{}
	}
	if p.Included == nil {
		p.Included = []ItemTarget{}
	}
	return json.Marshal(p)
}

// MarshalJSON writes the conditions in number order, then "logic" unless it
// is empty.
func (rs Rules) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, num := range sortedNumbers(rs.ByNumber) {
		if i > 0 {
			b.WriteByte(',')
		}
		c, err := json.Marshal(rs.ByNumber[num])
		if err != nil {
			return nil, err
		}
		b.WriteString(strconv.Quote(num))
		b.WriteByte(':')
		b.Write(c)
	}
	if rs.Logic != "" {
		if len(rs.ByNumber) > 0 {
			b.WriteByte(',')
		}
		l, err := json.Marshal(rs.Logic)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"logic":`)
		b.Write(l)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a Rules object. It checks only the shape; Parse and
// Rule.Validate check the meaning.
func (rs *Rules) UnmarshalJSON(data []byte) error {
	var d decoder
	*rs = d.rules("rules", data)
	return d.err()
}

// MarshalJSON writes an empty property as null and missing operators as {},
// as Voucherify does.
func (c Condition) MarshalJSON() ([]byte, error) {
	var prop *string
	if c.Property != "" {
		prop = &c.Property
	}
	conds := c.Conditions
	if conds == nil {
		conds = map[Operator][]any{}
	}
	return json.Marshal(struct {
		Name       string             `json:"name"`
		Property   *string            `json:"property"`
		Conditions map[Operator][]any `json:"conditions"`
		Rules      Rules              `json:"rules"`
		Error      *ErrorMessage      `json:"error,omitempty"`
	}{c.Name, prop, conds, c.Rules, c.Error})
}

// UnmarshalJSON reads a Condition. It checks only the shape; Parse and
// Rule.Validate check the meaning. null changes nothing.
func (c *Condition) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var d decoder
	*c, _ = d.condition("condition", data)
	return d.err()
}

// MarshalJSON writes the rule as Voucherify does: "logic" always present in
// the top-level rules, empty lists as [].
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID               string        `json:"id,omitempty"`
		Name             string        `json:"name"`
		Rules            topRules      `json:"rules"`
		Error            *ErrorMessage `json:"error,omitempty"`
		ApplicableTo     ApplicableTo  `json:"applicable_to"`
		CreatedAt        time.Time     `json:"created_at,omitzero"`
		UpdatedAt        time.Time     `json:"updated_at,omitzero"`
		Type             string        `json:"type,omitempty"`
		ContextType      string        `json:"context_type,omitempty"`
		AssignmentsCount int           `json:"assignments_count,omitempty"`
		Object           string        `json:"object"`
	}{r.ID, r.Name, topRules(r.Rules), r.Error, r.ApplicableTo, r.CreatedAt, r.UpdatedAt,
		r.Type, r.ContextType, r.AssignmentsCount, r.Object})
}

// topRules are a rule's top-level Rules, whose "logic" Voucherify always writes.
type topRules Rules

func (t topRules) MarshalJSON() ([]byte, error) {
	b, err := Rules(t).MarshalJSON()
	if err != nil || t.Logic != "" {
		return b, err
	}
	if len(t.ByNumber) == 0 {
		return []byte(`{"logic":""}`), nil
	}
	return append(b[:len(b)-1], `,"logic":""}`...), nil
}

// UnmarshalJSON parses and validates a rule like Parse; null changes
// nothing.
func (r *Rule) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// Validate reports every problem of the rule at once, as one *core.Error
// with code core.CodeInvalid and key "invalid_validation_rules"; nil when the
// rule is valid. Parse runs it on what it reads.
func (r Rule) Validate() error {
	_, probs := compile(r, nil)
	return problemsError(probs)
}

// Parse reads a rule from Voucherify's JSON, checks it and compiles its logic.
// Every problem found — unknown rule names or operators, values of the wrong
// type, logic that is malformed or names missing conditions — is reported
// together in one *core.Error with code core.CodeInvalid and key
// "invalid_validation_rules". An empty Object is set to "validation_rules";
// nothing else is defaulted.
func Parse(data []byte) (Rule, error) {
	var d decoder
	r := d.rule(data)
	if d.fatal {
		return Rule{}, problemsError(d.problems)
	}
	prog, probs := compile(r, d.skip)
	if probs = append(d.problems, probs...); len(probs) > 0 {
		return Rule{}, problemsError(probs)
	}
	if r.Object == "" {
		r.Object = Object
	}
	r.prog = prog
	return r, nil
}

// sortedNumbers returns the keys in numeric order (shorter first, then
// lexically, which is numeric order for canonical numbers).
func sortedNumbers(m map[string]Condition) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortNumbers(keys)
	return keys
}
