package calc_test

import (
	"slices"
	"testing"

	"github.com/promorelay/promorelay/core/promo/calc"
)

// totals are the order-level amounts of a calculated order.
type totals struct {
	Amount, Discount, Applied, Items, ItemsApplied, TotalDiscount, Total int64
}

func totalsOf(o calc.CalculatedOrder) totals {
	return totals{o.Amount, o.DiscountAmount, o.AppliedDiscountAmount, o.ItemsDiscountAmount,
		o.ItemsAppliedDiscountAmount, o.TotalDiscountAmount, o.TotalAmount}
}

func TestStacking(t *testing.T) {
	tenThousand := calc.Order{Items: []calc.OrderItem{
		{ProductID: "prod_a", Price: 3000, Quantity: 2},
		{ProductID: "prod_b", Price: 4000, Quantity: 1},
	}}
	tests := []struct {
		name    string
		order   calc.Order
		steps   []Step
		applied []int64 // each step's Applied.Amount
		want    totals  // of the final order
	}{
		{
			name:    "10% then $5 then a gift card for the rest",
			order:   tenThousand,
			steps:   []Step{percentOff(10, ""), amountOff(500, ""), gift(20000, 0)},
			applied: []int64{1000, 500, 8500},
			want:    totals{Amount: 10000, Discount: 10000, Applied: 10000, TotalDiscount: 10000, Total: 0},
		},
		{
			name:    "percentages apply to what is left",
			order:   tenThousand,
			steps:   []Step{percentOff(50, ""), percentOff(50, ""), percentOff(50, calc.EffectApplyToItems)},
			applied: []int64{5000, 2500, 2500}, // items: 3000 + 2000, cut to the 2500 left
			want:    totals{Amount: 10000, Discount: 7500, Applied: 7500, Items: 2500, ItemsApplied: 2500, TotalDiscount: 10000, Total: 0},
		},
		{
			name:    "item discounts after the order is paid take nothing",
			order:   tenThousand,
			steps:   []Step{amountOff(10000, ""), amountOff(100, calc.EffectApplyToItems), gift(500, 0)},
			applied: []int64{10000, 0, 0},
			want:    totals{Amount: 10000, Discount: 10000, Applied: 10000, TotalDiscount: 10000, Total: 0},
		},
		{
			name:    "gift card credits, then another card for the rest",
			order:   tenThousand,
			steps:   []Step{percentOff(25, calc.EffectApplyToItems), gift(5000, 3000), gift(9000, 0)},
			applied: []int64{2500, 3000, 4500},
			want:    totals{Amount: 10000, Discount: 7500, Applied: 7500, Items: 2500, ItemsApplied: 2500, TotalDiscount: 10000, Total: 0},
		},
		{
			// The numbers of Voucherify's "Unit - Add order items" example.
			name: "units added to an order that came with a discount",
			order: calc.Order{Amount: 28000, DiscountAmount: 8400, Items: []calc.OrderItem{
				{ProductID: "prod_1", Price: 9500, Quantity: 1}, {ProductID: "prod_2", Price: 18500, Quantity: 1}}},
			steps: []Step{discount(calc.Discount{Type: calc.DiscountUnit, UnitType: "prod_3", UnitOff: ptr[int64](3),
				Effect: calc.EffectAddMissing, Product: &calc.ItemRef{ID: "prod_3", Price: ptr[int64](29900)}})},
			applied: []int64{89700},
			want:    totals{Amount: 117700, Discount: 8400, Items: 89700, ItemsApplied: 89700, TotalDiscount: 98100, Total: 19600},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustCalc(t, tt.order)
			var applied []int64
			for _, s := range tt.steps {
				applied = append(applied, MustApply(t, c, s).Amount)
			}
			if !slices.Equal(applied, tt.applied) {
				t.Errorf("applied %v, want %v", applied, tt.applied)
			}
			o := c.Order()
			if got := totalsOf(o); got != tt.want {
				t.Errorf("totals\n got %+v\nwant %+v", got, tt.want)
			}
			if o.TotalAppliedDiscountAmount != sum(applied) {
				t.Errorf("total_applied_discount_amount %d, steps applied %d", o.TotalAppliedDiscountAmount, sum(applied))
			}
		})
	}
}

// TestStackingSnapshots replays Voucherify's published five-redeemable
// validation (an order of 2000 + 700) and checks each redeemable's order
// against the numbers Voucherify showed.
func TestStackingSnapshots(t *testing.T) {
	c := MustCalc(t, calc.Order{Items: []calc.OrderItem{
		{ProductID: "prod_a", Price: 2000, Quantity: 1},
		{ProductID: "prod_b", Price: 700, Quantity: 1},
	}})
	steps := []Step{amountOff(1000, calc.EffectApplyToItems), amountOff(100, ""), percentOff(40, ""), amountOff(30, "")}
	want := []totals{
		{Amount: 2700, Items: 1700, ItemsApplied: 1700, TotalDiscount: 1700, Total: 1000},
		{Amount: 2700, Discount: 100, Applied: 100, Items: 1700, TotalDiscount: 1800, Total: 900},
		{Amount: 2700, Discount: 460, Applied: 360, Items: 1700, TotalDiscount: 2160, Total: 540},
		{Amount: 2700, Discount: 490, Applied: 30, Items: 1700, TotalDiscount: 2190, Total: 510},
	}
	for i, s := range steps {
		a := MustApply(t, c, s)
		if got := totalsOf(a.Order); got != want[i] {
			t.Errorf("redeemable %d's order\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	final := totals{Amount: 2700, Discount: 490, Applied: 490, Items: 1700, ItemsApplied: 1700, TotalDiscount: 2190, Total: 510}
	if got := totalsOf(c.Order()); got != final {
		t.Errorf("order\n got %+v\nwant %+v", got, final)
	}
	for i, want := range []int64{1000, 0} {
		if it := c.Order().Items[i]; it.SubtotalAmount != want {
			t.Errorf("items[%d].subtotal_amount = %d, want %d", i, it.SubtotalAmount, want)
		}
	}
}

func sum(v []int64) (s int64) {
	for _, x := range v {
		s += x
	}
	return s
}
