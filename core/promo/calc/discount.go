package calc

import (
	"math"
	"math/big"

	"github.com/promorelay/promorelay/core"
)

// Validate reports the first thing wrong with d as a *core.Error with code
// core.CodeInvalid naming the field: an unknown type, an effect the type
// does not take, a missing or negative amount_off, fixed_amount or
// amount_limit, percent_off outside 0..100, a UNIT without unit_type or with
// unit_off below 1.
func (d Discount) Validate() error {
	switch d.Type {
	case DiscountAmount:
		if d.AmountOff == nil {
			return invalidf("discount.amount_off is required for AMOUNT")
		}
		if err := nonNegative("discount.amount_off", *d.AmountOff); err != nil {
			return err
		}
	case DiscountPercent:
		if d.PercentOff == nil {
			return invalidf("discount.percent_off is required for PERCENT")
		}
		if p := *d.PercentOff; !(p >= 0 && p <= 100) { // also refuses NaN
			return invalidf("discount.percent_off must be between 0 and 100, not %v", p)
		}
		if d.AmountLimit != nil {
			if err := nonNegative("discount.amount_limit", *d.AmountLimit); err != nil {
				return err
			}
		}
	case DiscountFixed:
		if d.FixedAmount == nil {
			return invalidf("discount.fixed_amount is required for FIXED")
		}
		if err := nonNegative("discount.fixed_amount", *d.FixedAmount); err != nil {
			return err
		}
	case DiscountUnit:
		if d.UnitType == "" {
			return invalidf("discount.unit_type is required for UNIT")
		}
		if d.UnitOff == nil || *d.UnitOff < 1 {
			return invalidf("discount.unit_off must be at least 1 for UNIT")
		}
		for _, r := range []struct {
			name string
			ref  *ItemRef
		}{{"sku", d.SKU}, {"product", d.Product}} {
			if r.ref != nil && r.ref.Price != nil {
				if err := nonNegative("discount."+r.name+".price", *r.ref.Price); err != nil {
					return err
				}
			}
		}
	default:
		return invalidf("discount.type %q is not supported; use AMOUNT, PERCENT, FIXED or UNIT", d.Type)
	}
	if e := d.effect(); !effectFits(d.Type, e) {
		return invalidf("discount.effect %q is not supported for %s", e, d.Type)
	}
	return nil
}

// effect returns d's effect, or its type's default.
func (d Discount) effect() string {
	switch {
	case d.Effect != "":
		return d.Effect
	case d.Type == DiscountUnit:
		return EffectAddMissing
	default:
		return EffectApplyToOrder
	}
}

func effectFits(typ, effect string) bool {
	if typ == DiscountUnit {
		return effect == EffectAddMissing || effect == EffectAddNew
	}
	return effect == EffectApplyToOrder || effect == EffectApplyToItems
}

// ApplyDiscount applies d to what the order costs now and reports what it
// took off. Order-level effects take off the order's total_amount; item-level
// ones (APPLY_TO_ITEMS, UNIT) take off items' subtotals, and never more in
// all than the order's total_amount. So a discount larger than what is left
// is cut down to it, and nothing ever goes negative:
//
//   - AMOUNT takes amount_off off the order, or off each item.
//   - PERCENT takes percent_off % of the order, or of each item, rounded half
//     away from zero to whole cents once per order or item; amount_limit caps
//     the discount (across all items for APPLY_TO_ITEMS).
//   - FIXED makes the order cost fixed_amount, or each unit of each item
//     (an item with no quantity counts as one unit); it never raises a price.
//   - UNIT gives unit_off units of the item unit_type names (product or SKU
//     id) free, at that item's unit price. ADD_MISSING_ITEMS first adds the
//     units the order lacks of unit_off, ADD_NEW_ITEMS adds unit_off units;
//     added units raise the order's amount by what they cost, and the
//     discount takes them off again. A missing item is added, priced from
//     d.SKU or d.Product.
//
// Errors are *core.Error with code core.CodeInvalid: those of Validate, a
// UNIT whose price is unknown, or units whose cost overflows int64. On error
// the Calculation is unchanged.
func (c *Calculation) ApplyDiscount(d Discount) (Applied, error) {
	if err := d.Validate(); err != nil {
		return Applied{}, err
	}
	var s step
	switch effect := d.effect(); {
	case d.Type == DiscountUnit:
		var err error
		if s, err = c.unitStep(d, effect == EffectAddNew); err != nil {
			return Applied{}, err
		}
	case effect == EffectApplyToOrder:
		s.order = min(orderDiscount(d, c.total()), c.total())
	default:
		s.items = c.itemsStep(d)
	}
	return c.commit(s), nil
}

// orderDiscount is what d takes off an order that costs v, before clamping.
func orderDiscount(d Discount, v int64) int64 {
	switch d.Type {
	case DiscountAmount:
		return *d.AmountOff
	case DiscountPercent:
		return min(percentOf(v, percentRat(*d.PercentOff)), limit(d))
	default: // FIXED
		return max(0, v-*d.FixedAmount)
	}
}

// limit is the cap of a PERCENT discount; none is math.MaxInt64.
func limit(d Discount) int64 {
	if d.AmountLimit == nil || *d.AmountLimit == 0 {
		return math.MaxInt64
	}
	return *d.AmountLimit
}

// itemsStep spreads an APPLY_TO_ITEMS discount over every line, in order,
// each taking at most the line's subtotal and what is left of the order's
// total and of the cap.
func (c *Calculation) itemsStep(d Discount) []AppliedItem {
	budget := c.total()
	capLeft := int64(math.MaxInt64)
	var pct *big.Rat
	if d.Type == DiscountPercent {
		pct, capLeft = percentRat(*d.PercentOff), limit(d)
	}
	items := make([]AppliedItem, 0, len(c.lines))
	for i := range c.lines {
		l := &c.lines[i]
		left := l.amount - l.discount
		var want int64
		switch d.Type {
		case DiscountAmount:
			want = *d.AmountOff
		case DiscountPercent:
			want = percentOf(left, pct)
		default: // FIXED, per unit
			want = max(0, left-mulSat(*d.FixedAmount, max(l.quantity, 1)))
		}
		got := min(want, left, budget, capLeft)
		budget -= got
		capLeft -= got
		items = append(items, AppliedItem{Index: i, DiscountAmount: got})
	}
	return items
}

// unitStep gives unit_off units of d.UnitType free, adding units first (all
// unit_off of them when addNew, else those the line lacks).
func (c *Calculation) unitStep(d Discount, addNew bool) (step, error) {
	var s step
	idx := c.findUnitLine(d)
	var l line
	if idx < 0 {
		l = newUnitLine(d)
		idx = len(c.lines)
		s.newLine = &l
	} else {
		l = c.lines[idx]
	}
	price, ok := l.price, l.priceKnown
	if !ok {
		price, ok = refPrice(d.SKU, d.Product)
	}
	if !ok {
		return step{}, invalidf("discount: the price of unit %s is unknown; send the item's price in the order", d.UnitType)
	}
	if !l.priceKnown { // an order line without a price learns the unit's
		s.learnPrice = &price
	}
	units := *d.UnitOff
	add := units
	if !addNew {
		add = max(0, units-l.quantity)
	}
	addAmount, ok1 := mulInt(add, price)
	_, ok2 := addInt(l.quantity, add)
	_, ok3 := addInt(l.amount, addAmount)
	_, ok4 := addInt(c.amount, addAmount)
	if !(ok1 && ok2 && ok3 && ok4) {
		return step{}, invalidf("discount: adding %d units of %s makes the order cost more than %d", add, d.UnitType, maxAmount)
	}
	left := l.amount + addAmount - l.discount
	budget := c.total() + addAmount
	got := min(mulSat(units, price), left, budget)
	s.items = []AppliedItem{{Index: idx, DiscountAmount: got, DiscountQuantity: units, AddedQuantity: add, AddedAmount: addAmount}}
	return s, nil
}

// findUnitLine returns the index of the first line d's units are of, or -1.
func (c *Calculation) findUnitLine(d Discount) int {
	for i := range c.lines {
		if unitMatches(d, c.lines[i].item) {
			return i
		}
	}
	return -1
}

func unitMatches(d Discount, it OrderItem) bool {
	t := d.UnitType
	if it.SKUID == t || it.ProductID == t || (it.SKU != nil && it.SKU.ID == t) || (it.Product != nil && it.Product.ID == t) {
		return true
	}
	// An item sent by the shop's own id matches the unit's source_id.
	switch {
	case it.SourceID == "":
		return false
	case it.RelatedObject == "sku":
		return d.SKU != nil && d.SKU.SourceID == it.SourceID
	case it.RelatedObject == "product":
		return d.Product != nil && d.Product.SourceID == it.SourceID
	}
	return false
}

// newUnitLine is an order line for a unit the order lacks, with no units yet.
func newUnitLine(d Discount) line {
	var it OrderItem
	if d.SKU != nil {
		it.SKUID, it.RelatedObject, it.SKU = d.UnitType, "sku", cloneRef(d.SKU)
		if d.Product != nil {
			it.ProductID, it.Product = d.Product.ID, cloneRef(d.Product)
		}
	} else {
		it.ProductID, it.RelatedObject, it.Product = d.UnitType, "product", cloneRef(d.Product)
	}
	l := line{item: it, changed: true}
	l.price, l.priceKnown = refPrice(d.SKU, d.Product)
	return l
}

func invalidf(format string, args ...any) error {
	return core.Errorf(core.CodeInvalid, format, args...)
}
