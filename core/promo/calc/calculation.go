package calc

import (
	"fmt"

	"github.com/promorelay/promorelay/core"
)

// Calculation is an order being priced. NewCalculation normalises the order;
// ApplyDiscount and ApplyGift then apply redeemables in the order they are
// called, each to what the earlier ones left; Order shows the result.
//
// A failed Apply leaves the Calculation unchanged, so the caller can report
// that redeemable and go on with the next. A Calculation is not safe for
// concurrent use.
type Calculation struct {
	head          Order // id, source_id, status and metadata of the input order
	amount        int64
	initialAmount int64
	orderDiscount int64 // order-level discounts, including the order's own
	orderApplied  int64 // order-level discounts applied by this calculation
	itemsDiscount int64 // sum of lines[].discount
	lines         []line
}

// line is one order item being priced.
type line struct {
	item       OrderItem // identity, references and metadata; amounts below supersede its own
	price      int64     // unit price, when priceKnown
	priceKnown bool
	quantity   int64
	amount     int64
	discount   int64 // item-level discounts, including the item's own

	changed         bool // a UNIT discount changed quantity; initial* hold the values before
	initialQuantity int64
	initialAmount   int64

	discountQuantity int64
	applied          lineDelta // what this calculation did to the line
}

// lineDelta is what one or more redeemables did to a line.
type lineDelta struct {
	discount, discountQuantity, addedQuantity, addedAmount int64
}

// step is what one redeemable does, computed before anything changes.
type step struct {
	order   int64         // order-level discount
	items   []AppliedItem // item-level changes
	newLine *line         // a line a UNIT discount adds, at index len(lines)
	// learnPrice is the unit price a UNIT discount's line (items[0]) learns
	// from the discount, when the order did not say.
	learnPrice *int64
}

// NewCalculation validates and normalises o: an item's missing amount is its
// price × quantity, a missing order amount is the sum of the items' amounts.
// Discounts the order carries (discount_amount of the order and of its items)
// stay applied. It returns a *core.Error with code core.CodeInvalid naming the
// field when an amount, price or quantity is negative, an item's discount
// exceeds its amount, the order's discounts exceed its amount, or a sum
// overflows int64.
func NewCalculation(o Order) (*Calculation, error) {
	if err := nonNegative("order.amount", o.Amount); err != nil {
		return nil, err
	}
	if err := nonNegative("order.initial_amount", o.InitialAmount); err != nil {
		return nil, err
	}
	if err := nonNegative("order.discount_amount", o.DiscountAmount); err != nil {
		return nil, err
	}
	c := &Calculation{head: o, lines: make([]line, 0, len(o.Items))}
	c.head.Items = nil
	var sum int64
	for i, it := range o.Items {
		l, err := newLine(fmt.Sprintf("order.items[%d]", i), it)
		if err != nil {
			return nil, err
		}
		var ok bool
		if sum, ok = addInt(sum, l.amount); !ok {
			return nil, core.Errorf(core.CodeInvalid, "order.items amounts add up to more than %d", maxAmount)
		}
		c.itemsDiscount += l.discount // ≤ sum, so no overflow
		c.lines = append(c.lines, l)
	}
	c.amount = o.Amount
	if c.amount == 0 {
		c.amount = sum
	}
	c.initialAmount = o.InitialAmount
	if c.initialAmount == 0 {
		c.initialAmount = c.amount
	}
	c.orderDiscount = o.DiscountAmount
	if o.DiscountAmount > c.amount || c.itemsDiscount > c.amount-o.DiscountAmount {
		return nil, core.Errorf(core.CodeInvalid,
			"order.discount_amount (%d) plus the items' discount_amount (%d) must not exceed order.amount (%d)",
			o.DiscountAmount, c.itemsDiscount, c.amount)
	}
	return c, nil
}

func newLine(field string, it OrderItem) (line, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{{"quantity", it.Quantity}, {"price", it.Price}, {"amount", it.Amount}, {"discount_amount", it.DiscountAmount}} {
		if err := nonNegative(field+"."+f.name, f.v); err != nil {
			return line{}, err
		}
	}
	l := line{item: it, quantity: it.Quantity, amount: it.Amount, discount: it.DiscountAmount}
	l.item.Product, l.item.SKU = cloneRef(it.Product), cloneRef(it.SKU)
	for _, r := range []struct {
		name string
		ref  *ItemRef
	}{{"sku", it.SKU}, {"product", it.Product}} {
		if r.ref != nil && r.ref.Price != nil {
			if err := nonNegative(field+"."+r.name+".price", *r.ref.Price); err != nil {
				return line{}, err
			}
		}
	}
	l.price, l.priceKnown = it.Price, it.Price > 0
	if !l.priceKnown {
		l.price, l.priceKnown = refPrice(it.SKU, it.Product)
	}
	if l.amount == 0 && l.priceKnown {
		var ok bool
		if l.amount, ok = mulInt(l.price, l.quantity); !ok {
			return line{}, core.Errorf(core.CodeInvalid, "%s.amount (price × quantity) must not exceed %d", field, maxAmount)
		}
	}
	if !l.priceKnown && l.quantity > 0 && l.amount > 0 && l.amount%l.quantity == 0 {
		l.price, l.priceKnown = l.amount/l.quantity, true
	}
	if l.discount > l.amount {
		return line{}, core.Errorf(core.CodeInvalid, "%s.discount_amount (%d) must not exceed its amount (%d)", field, l.discount, l.amount)
	}
	return l, nil
}

// refPrice returns the first price the references carry.
func refPrice(refs ...*ItemRef) (int64, bool) {
	for _, r := range refs {
		if r != nil && r.Price != nil {
			return *r.Price, true
		}
	}
	return 0, false
}

func cloneRef(r *ItemRef) *ItemRef {
	if r == nil {
		return nil
	}
	c := *r
	if r.Price != nil {
		p := *r.Price
		c.Price = &p
	}
	return &c
}

func nonNegative(field string, v int64) error {
	if v < 0 {
		return core.Errorf(core.CodeInvalid, "%s must not be negative", field)
	}
	return nil
}

// total is what the order costs now: never negative.
func (c *Calculation) total() int64 {
	return c.amount - c.orderDiscount - c.itemsDiscount
}

// Order returns the order after everything applied so far. Its "applied"
// amounts count every redeemable applied to this Calculation. The result
// shares nothing mutable with the Calculation except metadata bytes.
func (c *Calculation) Order() CalculatedOrder {
	return c.render(c.orderApplied, func(i int) lineDelta { return c.lines[i].applied })
}

// commit applies s and reports it.
func (c *Calculation) commit(s step) Applied {
	if s.newLine != nil {
		c.lines = append(c.lines, *s.newLine)
	}
	if s.learnPrice != nil {
		l := &c.lines[s.items[0].Index]
		l.price, l.priceKnown = *s.learnPrice, true
	}
	c.orderDiscount += s.order
	c.orderApplied += s.order
	a := Applied{Amount: s.order, Items: s.items}
	deltas := make(map[int]lineDelta, len(s.items))
	for _, it := range s.items {
		l := &c.lines[it.Index]
		if it.AddedQuantity > 0 && !l.changed {
			l.changed, l.initialQuantity, l.initialAmount = true, l.quantity, l.amount
		}
		l.quantity += it.AddedQuantity
		l.amount += it.AddedAmount
		c.amount += it.AddedAmount
		l.discount += it.DiscountAmount
		c.itemsDiscount += it.DiscountAmount
		l.discountQuantity += it.DiscountQuantity
		d := lineDelta{discount: it.DiscountAmount, discountQuantity: it.DiscountQuantity,
			addedQuantity: it.AddedQuantity, addedAmount: it.AddedAmount}
		l.applied.add(d)
		deltas[it.Index] = d
		a.Amount += it.DiscountAmount
	}
	a.Order = c.render(s.order, func(i int) lineDelta { return deltas[i] })
	return a
}

func (d *lineDelta) add(o lineDelta) {
	d.discount += o.discount
	d.discountQuantity += o.discountQuantity
	d.addedQuantity += o.addedQuantity
	d.addedAmount += o.addedAmount
}

// render shows the order with the given order-level and per-line "applied" amounts.
func (c *Calculation) render(orderApplied int64, applied func(i int) lineDelta) CalculatedOrder {
	o := CalculatedOrder{
		ID: c.head.ID, SourceID: c.head.SourceID, Status: c.head.Status,
		Amount: c.amount, InitialAmount: c.initialAmount,
		DiscountAmount: c.orderDiscount, AppliedDiscountAmount: orderApplied,
		Metadata: c.head.Metadata, Object: "order",
	}
	if len(c.lines) > 0 {
		o.Items = make([]CalculatedItem, len(c.lines))
	}
	for i := range c.lines {
		l, d := &c.lines[i], applied(i)
		it := CalculatedItem{
			SKUID: l.item.SKUID, ProductID: l.item.ProductID, RelatedObject: l.item.RelatedObject, SourceID: l.item.SourceID,
			Quantity: l.quantity, DiscountQuantity: l.discountQuantity,
			AppliedDiscountQuantity: d.discountQuantity, AppliedQuantity: d.addedQuantity, AppliedQuantityAmount: d.addedAmount,
			Amount: l.amount, DiscountAmount: l.discount, AppliedDiscountAmount: d.discount,
			SubtotalAmount: l.amount - l.discount,
			Product:        cloneRef(l.item.Product), SKU: cloneRef(l.item.SKU), Metadata: l.item.Metadata,
			Object: "order_item",
		}
		if l.priceKnown {
			it.Price = l.price
		}
		if l.changed {
			q, a := l.initialQuantity, l.initialAmount
			it.InitialQuantity, it.InitialAmount = &q, &a
		}
		o.Items[i] = it
		o.ItemsAppliedDiscountAmount += d.discount
	}
	o.ItemsDiscountAmount = c.itemsDiscount
	o.TotalDiscountAmount = o.DiscountAmount + o.ItemsDiscountAmount
	o.TotalAmount = o.Amount - o.TotalDiscountAmount
	o.TotalAppliedDiscountAmount = o.AppliedDiscountAmount + o.ItemsAppliedDiscountAmount
	return o
}
