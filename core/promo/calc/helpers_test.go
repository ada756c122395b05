package calc_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/calc"
)

func ptr[T any](v T) *T { return &v }

// MustCalc normalises o, failing the test on error.
func MustCalc(tb testing.TB, o calc.Order) *calc.Calculation {
	tb.Helper()
	c, err := calc.NewCalculation(o)
	if err != nil {
		tb.Fatalf("NewCalculation: %v", err)
	}
	CheckOrder(tb, c.Order())
	return c
}

// MustApply applies s, failing the test on error.
func MustApply(tb testing.TB, c *calc.Calculation, s Step) calc.Applied {
	tb.Helper()
	a, err := ApplyChecked(tb, c, s)
	if err != nil {
		tb.Fatalf("apply %+v: %v", s, err)
	}
	return a
}

// Step is one redeemable of a stack, as the fuzz target's JSON spells it.
type Step struct {
	Discount *calc.Discount `json:"discount,omitempty"`
	Gift     *GiftStep      `json:"gift,omitempty"`
}

// GiftStep is a gift card redeemable.
type GiftStep struct {
	Balance int64 `json:"balance"`
	Credits int64 `json:"credits"`
}

func discount(d calc.Discount) Step    { return Step{Discount: &d} }
func gift(balance, credits int64) Step { return Step{Gift: &GiftStep{balance, credits}} }
func amountOff(v int64, effect string) Step {
	return discount(calc.Discount{Type: calc.DiscountAmount, AmountOff: &v, Effect: effect})
}
func percentOff(p float64, effect string) Step {
	return discount(calc.Discount{Type: calc.DiscountPercent, PercentOff: &p, Effect: effect})
}

// ApplyChecked applies s to c and checks what every application must keep:
// an error is a *core.Error of an expected code and changes nothing; a
// success reports exactly what changed in the order, and both the order and
// the redeemable's snapshot keep the invariants of CheckOrder.
func ApplyChecked(tb testing.TB, c *calc.Calculation, s Step) (calc.Applied, error) {
	tb.Helper()
	before := c.Order()
	var (
		a   calc.Applied
		err error
	)
	switch {
	case s.Discount != nil:
		a, err = c.ApplyDiscount(*s.Discount)
	case s.Gift != nil:
		a, err = c.ApplyGift(s.Gift.Balance, s.Gift.Credits)
	default:
		tb.Fatal("empty step")
	}
	after := c.Order()
	if err != nil {
		code := core.ErrorCode(err)
		switch {
		case code == core.CodeInvalid:
		case code == core.CodeConditionFailed && errors.Is(err, calc.ErrInsufficientBalance):
		default:
			tb.Fatalf("apply %+v: error %v has code %q", s, err, code)
		}
		if !reflect.DeepEqual(before, after) {
			tb.Fatalf("apply %+v failed (%v) but changed the order:\nbefore %+v\nafter  %+v", s, err, before, after)
		}
		return a, err
	}
	CheckOrder(tb, after)
	CheckOrder(tb, a.Order)

	var added, itemsDiscount int64
	for _, it := range a.Items {
		if it.Index < 0 || it.Index >= len(after.Items) {
			tb.Fatalf("applied item index %d out of %d items", it.Index, len(after.Items))
		}
		if it.DiscountAmount < 0 || it.AddedAmount < 0 || it.AddedQuantity < 0 || it.DiscountQuantity < 0 {
			tb.Fatalf("applied item has a negative amount: %+v", it)
		}
		added += it.AddedAmount
		itemsDiscount += it.DiscountAmount
	}
	if a.Amount < 0 {
		tb.Fatalf("applied amount %d < 0", a.Amount)
	}
	if a.Amount > before.TotalAmount+added {
		tb.Fatalf("applied %d but only %d was left", a.Amount, before.TotalAmount+added)
	}
	if a.Items != nil && itemsDiscount != a.Amount {
		tb.Fatalf("items' discounts add up to %d, applied amount is %d", itemsDiscount, a.Amount)
	}
	if after.Amount != before.Amount+added {
		tb.Fatalf("amount %d → %d, but %d was added", before.Amount, after.Amount, added)
	}
	if after.TotalDiscountAmount != before.TotalDiscountAmount+a.Amount {
		tb.Fatalf("total_discount_amount %d → %d, but %d was applied", before.TotalDiscountAmount, after.TotalDiscountAmount, a.Amount)
	}
	if after.TotalAppliedDiscountAmount != before.TotalAppliedDiscountAmount+a.Amount {
		tb.Fatalf("total_applied_discount_amount %d → %d, but %d was applied", before.TotalAppliedDiscountAmount, after.TotalAppliedDiscountAmount, a.Amount)
	}
	if a.Order.TotalAppliedDiscountAmount != a.Amount {
		tb.Fatalf("snapshot's total_applied_discount_amount %d, applied %d", a.Order.TotalAppliedDiscountAmount, a.Amount)
	}
	if len(after.Items) < len(before.Items) || len(after.Items) > len(before.Items)+1 {
		tb.Fatalf("items %d → %d", len(before.Items), len(after.Items))
	}
	// The snapshot is the order now, with "applied" counting this redeemable only.
	snap, now := unapplied(a.Order), unapplied(after)
	if !reflect.DeepEqual(snap, now) {
		tb.Fatalf("snapshot differs from the order beyond applied amounts:\nsnapshot %+v\norder    %+v", snap, now)
	}
	return a, nil
}

// unapplied is o without its "applied" amounts.
func unapplied(o calc.CalculatedOrder) calc.CalculatedOrder {
	o.AppliedDiscountAmount, o.ItemsAppliedDiscountAmount, o.TotalAppliedDiscountAmount = 0, 0, 0
	o.Items = append([]calc.CalculatedItem(nil), o.Items...)
	for i := range o.Items {
		it := &o.Items[i]
		it.AppliedDiscountAmount, it.AppliedDiscountQuantity, it.AppliedQuantity, it.AppliedQuantityAmount = 0, 0, 0, 0
	}
	return o
}

// CheckOrder checks the invariants every calculated order keeps.
func CheckOrder(tb testing.TB, o calc.CalculatedOrder) {
	tb.Helper()
	if o.Object != "order" {
		tb.Errorf("object = %q", o.Object)
	}
	for name, v := range map[string]int64{
		"amount": o.Amount, "initial_amount": o.InitialAmount, "discount_amount": o.DiscountAmount,
		"items_discount_amount": o.ItemsDiscountAmount, "applied_discount_amount": o.AppliedDiscountAmount,
		"items_applied_discount_amount": o.ItemsAppliedDiscountAmount, "total_amount": o.TotalAmount,
	} {
		if v < 0 {
			tb.Errorf("%s = %d < 0", name, v)
		}
	}
	if o.TotalDiscountAmount != o.DiscountAmount+o.ItemsDiscountAmount {
		tb.Errorf("total_discount_amount %d != discount_amount %d + items_discount_amount %d", o.TotalDiscountAmount, o.DiscountAmount, o.ItemsDiscountAmount)
	}
	if o.TotalAmount != o.Amount-o.TotalDiscountAmount {
		tb.Errorf("total_amount %d != amount %d - total_discount_amount %d", o.TotalAmount, o.Amount, o.TotalDiscountAmount)
	}
	if o.TotalAppliedDiscountAmount != o.AppliedDiscountAmount+o.ItemsAppliedDiscountAmount {
		tb.Errorf("total_applied_discount_amount %d != %d + %d", o.TotalAppliedDiscountAmount, o.AppliedDiscountAmount, o.ItemsAppliedDiscountAmount)
	}
	if o.AppliedDiscountAmount > o.DiscountAmount || o.ItemsAppliedDiscountAmount > o.ItemsDiscountAmount {
		tb.Errorf("applied discounts (%d, %d) exceed discounts (%d, %d)", o.AppliedDiscountAmount, o.ItemsAppliedDiscountAmount, o.DiscountAmount, o.ItemsDiscountAmount)
	}
	var itemsDiscount, itemsApplied int64
	for i, it := range o.Items {
		if it.Object != "order_item" {
			tb.Errorf("items[%d].object = %q", i, it.Object)
		}
		if it.Amount < 0 || it.Quantity < 0 || it.Price < 0 || it.DiscountAmount < 0 || it.AppliedDiscountAmount < 0 {
			tb.Errorf("items[%d] has a negative amount: %+v", i, it)
		}
		if it.SubtotalAmount != it.Amount-it.DiscountAmount || it.SubtotalAmount < 0 {
			tb.Errorf("items[%d].subtotal_amount %d, amount %d, discount_amount %d", i, it.SubtotalAmount, it.Amount, it.DiscountAmount)
		}
		if it.AppliedDiscountAmount > it.DiscountAmount {
			tb.Errorf("items[%d].applied_discount_amount %d > discount_amount %d", i, it.AppliedDiscountAmount, it.DiscountAmount)
		}
		if (it.InitialQuantity == nil) != (it.InitialAmount == nil) {
			tb.Errorf("items[%d] has only one of initial_quantity and initial_amount", i)
		}
		if it.InitialQuantity != nil && (*it.InitialQuantity > it.Quantity || *it.InitialAmount > it.Amount) {
			tb.Errorf("items[%d] shrank: initial %d/%d, now %d/%d", i, *it.InitialQuantity, *it.InitialAmount, it.Quantity, it.Amount)
		}
		itemsDiscount += it.DiscountAmount
		itemsApplied += it.AppliedDiscountAmount
	}
	if itemsDiscount != o.ItemsDiscountAmount {
		tb.Errorf("items' discount_amount add up to %d, items_discount_amount is %d", itemsDiscount, o.ItemsDiscountAmount)
	}
	if itemsApplied != o.ItemsAppliedDiscountAmount {
		tb.Errorf("items' applied_discount_amount add up to %d, items_applied_discount_amount is %d", itemsApplied, o.ItemsAppliedDiscountAmount)
	}
	if tb.Failed() {
		tb.FailNow()
	}
}

// wantCode fails unless err is a *core.Error with code.
func wantCode(tb testing.TB, err error, code core.Code) {
	tb.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not a *core.Error", err, err)
	}
	if e.Code != code {
		tb.Fatalf("error %v: code %q, want %q", err, e.Code, code)
	}
}
