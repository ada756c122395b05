package rules

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Evaluate decides whether the rule lets this validation or redemption
// through: nil when it does, otherwise a Failure naming the rule, the failing
// condition and why. It reads only ctx and is safe for concurrent use.
//
// The logic picks the condition to blame: the first failing operand of an
// "and", the first operand of an "or" whose operands all failed, and for
// "not x" (x held) the first condition of x that held, with key
// KeyNegatedConditionMet (or, for "not not x", x's own failure). A rule built as a literal that does not validate
// fails with KeyInvalidRule.
func (r Rule) Evaluate(ctx Context) *Failure {
	p := r.prog
	if p == nil {
		var probs []string
		if p, probs = compile(r, nil); len(probs) > 0 {
			return &Failure{RuleID: r.ID, RuleName: r.Name, Key: KeyInvalidRule, Message: strings.Join(probs, "; ")}
		}
	}
	f := p.root.eval(&ctx, nil)
	if f == nil {
		return nil
	}
	f.RuleID, f.RuleName = r.ID, r.Name
	if !f.Configured && r.Error != nil && r.Error.Message != "" {
		f.Message, f.Configured = r.Error.Message, true
	}
	return f
}

// scope is the order item nested conditions look at, and the items that
// matched the same product (for the aggregated rules).
type scope struct {
	item    *Item
	matched []*Item
}

func (s *ruleSet) eval(ctx *Context, sc *scope) *Failure {
	var memo map[string]*Failure
	leaf := func(num string) *Failure {
		if f, ok := memo[num]; ok {
			return f
		}
		f := s.conds[num].eval(ctx, sc)
		if memo == nil {
			memo = make(map[string]*Failure, len(s.conds))
		}
		memo[num] = f
		return f
	}
	if s.logic == nil {
		for _, num := range s.order {
			if f := leaf(num); f != nil {
				return f
			}
		}
		return nil
	}
	negated := func(num string) *Failure {
		c := s.conds[num]
		f := &Failure{Condition: num, ConditionName: c.name, Key: KeyNegatedConditionMet,
			Message: fmt.Sprintf("condition %s (%s) must not hold", num, c.name)}
		if c.message != "" {
			f.Message, f.Configured = c.message, true
		}
		return f
	}
	if ok, f := s.logic.eval(leaf, negated); !ok {
		return f
	}
	return nil
}

func (c *cond) eval(ctx *Context, sc *scope) *Failure {
	f := c.check(ctx, sc)
	if f == nil {
		return nil
	}
	f.Condition, f.ConditionName = c.num, c.name
	if !f.Configured && c.message != "" {
		f.Message, f.Configured = c.message, true
	}
	return f
}

// fail is the failure of operator o of c.
func (c *cond) fail(o *opCheck, message string) *Failure {
	return &Failure{Operator: o.op, Key: c.spec.fam.key(o.op), Message: message}
}

func (c *cond) check(ctx *Context, sc *scope) *Failure {
	sp := &c.spec
	switch sp.kind {
	case kSegment:
		return c.checkSegments(ctx.Customer.Segments)
	case kHolder:
		return c.checkHolder(ctx.Customer.IsHolder)
	case kMetadata:
		return c.checkMetadata(metadataOf(ctx, sp.meta), ctx, fmt.Sprintf("%s %q", sp.label, c.property))
	case kNumber:
		return c.checkNumber(orderNumber(&ctx.Order, sp.num), sp.label)
	case kCounter:
		if sp.ctr.perCustomer() && ctx.Customer.ID == "" && ctx.Customer.SourceID == "" {
			return &Failure{Key: KeyCustomerRequired, Message: "a customer is required to count the " + sp.label}
		}
		return c.checkNumber(sp.ctr.value(ctx), sp.label)
	case kItemNumber, kItemMetadata:
		return c.checkEachItem(ctx)
	case kItems:
		return c.checkItems(ctx, c.refs, sp.mode, c.ops[0].op)
	case kItemIDs:
		for i := range c.ops {
			o := &c.ops[i]
			mode := modeAny
			if o.op == OpIsNot || o.op == OpNotIn {
				mode = modeNone
			}
			if f := c.checkItems(ctx, o.refs, mode, o.op); f != nil {
				return f
			}
		}
		return nil
	case kAttr:
		return c.checkAttr(ctx, sc)
	}
	return nil
}

func (c *cond) checkSegments(segments []string) *Failure {
	for i := range c.ops {
		o := &c.ops[i]
		var in []string
		for _, v := range o.vals {
			if slices.Contains(segments, v.s) {
				in = append(in, v.s)
			}
		}
		switch {
		case o.op == OpIs && len(in) == 0:
			return c.fail(o, "customer is not in segment "+o.vals[0].s)
		case o.op == OpIn && len(in) == 0:
			return c.fail(o, "customer is in none of the segments "+joinIDs(o.vals))
		case (o.op == OpIsNot || o.op == OpNotIn) && len(in) > 0:
			return c.fail(o, "customer is in excluded segment "+in[0])
		}
	}
	return nil
}

func (c *cond) checkHolder(isHolder bool) *Failure {
	if len(c.ops) == 0 && !isHolder {
		return &Failure{Key: KeyNotHolder, Message: "only the customer holding the code may redeem it"}
	}
	for i := range c.ops {
		o := &c.ops[i]
		if want := o.vals[0].b == (o.op == OpIs); isHolder != want {
			msg := "only the customer holding the code may redeem it"
			if !want {
				msg = "the customer holding the code may not redeem it"
			}
			return c.fail(o, msg)
		}
	}
	return nil
}

func metadataOf(ctx *Context, src metaSource) map[string]any {
	switch src {
	case metaCustomer:
		return ctx.Customer.Metadata
	case metaOrder:
		return ctx.Order.Metadata
	case metaRedemption:
		return ctx.Redemption.Metadata
	case metaEvent:
		return ctx.CustomEvent.Metadata
	}
	return nil
}

// checkMetadata applies the operators to meta[property]; what names the
// value in messages.
func (c *cond) checkMetadata(meta map[string]any, ctx *Context, what string) *Failure {
	v := meta[c.property]
	for i := range c.ops {
		o := &c.ops[i]
		if metadataHolds(o, v, ctx.Now) {
			continue
		}
		msg := what + " must " + phrase(o)
		switch {
		case v == nil:
			msg += " (it is not set)"
		case relativeToNow(o.op) && ctx.Now.IsZero():
			msg += " (the time of the request is unknown)"
		}
		return c.fail(o, msg)
	}
	return nil
}

func (c *cond) checkNumber(subject int64, what string) *Failure {
	for i := range c.ops {
		o := &c.ops[i]
		if !numberHolds(o, subject) {
			return c.fail(o, fmt.Sprintf("%s must %s (it is %d)", what, phrase(o), subject))
		}
	}
	return nil
}

func orderNumber(o *Order, src numSource) int64 {
	switch src {
	case numAmount:
		return o.Amount
	case numInitialAmount:
		return o.InitialAmount
	}
	var n int64
	for i := range o.Items {
		n = addSat(n, units(&o.Items[i]))
	}
	return n
}

// checkEachItem is order.items.price_any/_each and metadata_any/_each: some
// (or every) item meets all the operators.
func (c *cond) checkEachItem(ctx *Context) *Failure {
	items := ctx.Order.Items
	if len(items) == 0 {
		return &Failure{Operator: c.ops[0].op, Key: KeyItemsMissing, Message: "the order has no items"}
	}
	var first *Failure
	for i := range items {
		it := &items[i]
		var f *Failure
		if c.spec.kind == kItemNumber {
			f = c.checkNumber(unitPrice(it), fmt.Sprintf("price of item %d", i+1))
		} else {
			f = c.checkMetadata(it.Metadata, ctx, fmt.Sprintf("metadata %q of item %d", c.property, i+1))
		}
		switch {
		case f == nil && c.spec.mode == modeAny:
			return nil
		case f != nil && c.spec.mode == modeEach:
			return f
		case f != nil && first == nil:
			first = f
		}
	}
	return first
}

// checkItems is the order-items rules: mode decides how the items matching
// refs, with the nested conditions, make the rule hold.
func (c *cond) checkItems(ctx *Context, refs []itemRef, mode itemsMode, op Operator) *Failure {
	items := ctx.Order.Items
	missing := func(msg string) *Failure { return &Failure{Operator: op, Key: KeyItemsMissing, Message: msg} }
	switch mode {
	case modeAny:
		var first *Failure
		found := false
		for _, r := range refs {
			m := matching(items, r)
			found = found || len(m) > 0
			for _, it := range m {
				f := c.nestedEval(ctx, it, m)
				if f == nil {
					return nil
				}
				if first == nil {
					first = f
				}
			}
		}
		if !found {
			return missing("the order must contain " + joinRefs(refs, " or "))
		}
		return nestedFailure(first)
	case modeEvery:
		for _, r := range refs {
			m := matching(items, r)
			if len(m) == 0 {
				return missing("the order must contain " + r.String())
			}
			var first *Failure
			for _, it := range m {
				f := c.nestedEval(ctx, it, m)
				if f == nil {
					first = nil
					break
				}
				if first == nil {
					first = f
				}
			}
			if first != nil {
				return nestedFailure(first)
			}
		}
		return nil
	case modeNone:
		for _, r := range refs {
			m := matching(items, r)
			for _, it := range m {
				if c.nestedEval(ctx, it, m) == nil {
					return &Failure{Operator: op, Key: KeyItemsExcluded, Message: "the order must not contain " + r.String()}
				}
			}
		}
		return nil
	}
	which := "cheapest"
	if mode == modeMostExpensive {
		which = "most expensive"
	}
	pick := extremeItem(items, mode == modeMostExpensive)
	if pick == nil {
		return missing("the order has no items")
	}
	for _, r := range refs {
		if r.matches(pick) {
			return nestedFailure(c.nestedEval(ctx, pick, matching(items, r)))
		}
	}
	return missing("the " + which + " item must be " + joinRefs(refs, " or "))
}

// nestedEval evaluates the nested conditions for one item.
func (c *cond) nestedEval(ctx *Context, it *Item, matched []*Item) *Failure {
	if c.nested == nil {
		return nil
	}
	return c.nested.eval(ctx, &scope{item: it, matched: matched})
}

// nestedFailure turns a nested condition's failure into its parent's: the
// parent's number goes in Condition (set by cond.eval), the nested one's in
// Nested.
func nestedFailure(f *Failure) *Failure {
	if f == nil {
		return nil
	}
	return &Failure{Nested: f.Condition, NestedName: f.ConditionName, Operator: f.Operator,
		Key: f.Key, Message: f.Message, Configured: f.Configured}
}

func (c *cond) checkAttr(ctx *Context, sc *scope) *Failure {
	if sc == nil {
		return nil // compile keeps item attributes inside order-items rules
	}
	it := sc.item
	switch c.spec.attr {
	case attrQuantity:
		return c.checkNumber(units(it), c.spec.label)
	case attrAggregatedQuantity:
		var n int64
		for _, m := range sc.matched {
			n = addSat(n, units(m))
		}
		return c.checkNumber(n, c.spec.label)
	case attrPrice:
		return c.checkNumber(unitPrice(it), c.spec.label)
	case attrAggregatedAmount:
		var n int64
		for _, m := range sc.matched {
			n = addSat(n, lineAmount(m))
		}
		return c.checkNumber(n, c.spec.label)
	}
	return c.checkMetadata(it.Metadata, ctx, fmt.Sprintf("%s %q", c.spec.label, c.property))
}

func (r itemRef) matches(it *Item) bool {
	switch r.object {
	case "product":
		return r.id != "" && r.id == it.ProductID || r.sourceID != "" && r.sourceID == it.ProductSourceID
	case "sku":
		return r.id != "" && r.id == it.SKUID || r.sourceID != "" && r.sourceID == it.SKUSourceID
	}
	return slices.Contains(it.CollectionIDs, r.id)
}

func matching(items []Item, r itemRef) []*Item {
	var m []*Item
	for i := range items {
		if r.matches(&items[i]) {
			m = append(m, &items[i])
		}
	}
	return m
}

// extremeItem is the item with the lowest (or highest) unit price; the first
// one on a tie.
func extremeItem(items []Item, highest bool) *Item {
	var pick *Item
	for i := range items {
		it := &items[i]
		if pick == nil || highest && unitPrice(it) > unitPrice(pick) || !highest && unitPrice(it) < unitPrice(pick) {
			pick = it
		}
	}
	return pick
}

func units(it *Item) int64 {
	if it.Quantity <= 0 {
		return 1
	}
	return it.Quantity
}

func unitPrice(it *Item) int64 {
	if it.Price != 0 || it.Amount == 0 {
		return it.Price
	}
	return it.Amount / units(it)
}

func lineAmount(it *Item) int64 {
	if it.Amount != 0 {
		return it.Amount
	}
	q := units(it)
	if it.Price != 0 && (it.Price > math.MaxInt64/q || it.Price < math.MinInt64/q) {
		if it.Price > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return it.Price * q
}

// phrase says in words what an operator asks, e.g. "be more than 10000".
func phrase(o *opCheck) string {
	v := joinScalars(o.vals, ", ")
	alt := joinScalars(o.vals, " or ")
	switch o.op {
	case OpIs:
		return "be " + v
	case OpIsNot:
		return "not be " + v
	case OpIn:
		return "be one of " + v
	case OpNotIn:
		return "be none of " + v
	case OpLessThan:
		return "be less than " + v
	case OpLessThanOrEqual:
		return "be at most " + v
	case OpMoreThan:
		return "be more than " + v
	case OpMoreThanOrEqual:
		return "be at least " + v
	case OpStartsWith:
		return "start with " + alt
	case OpEndsWith:
		return "end with " + alt
	case OpContains:
		return "contain " + alt
	case OpCount:
		return "have exactly " + v + " elements"
	case OpCountMore:
		return "have more than " + v + " elements"
	case OpCountLess:
		return "have fewer than " + v + " elements"
	case OpAfter:
		return "be after " + v
	case OpBefore:
		return "be before " + v
	case OpMoreThanAgo:
		return "be more than " + v + " days ago"
	case OpLessThanAgo:
		return "be less than " + v + " days ago"
	case OpIsDaysAgo:
		return "be " + v + " days ago"
	case OpMoreThanFuture:
		return "be more than " + v + " days ahead"
	case OpLessThanFuture:
		return "be less than " + v + " days ahead"
	case OpIsDaysInFuture:
		return "be " + v + " days ahead"
	}
	return string(o.op) + " " + v
}

func joinScalars(vals []scalar, sep string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.String()
		if v.kind == 's' && !v.isTime {
			parts[i] = strconv.Quote(v.s)
		}
	}
	return strings.Join(parts, sep)
}

func joinRefs(refs []itemRef, sep string) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	return strings.Join(parts, sep)
}

func joinIDs(vals []scalar) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = v.s
	}
	return strings.Join(parts, ", ")
}
