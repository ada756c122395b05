package calc_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/calc"
)

// baseOrder costs 4399: 2000 + 700×2 + 333×3.
func baseOrder() calc.Order {
	return calc.Order{Items: []calc.OrderItem{
		{ProductID: "prod_a", Price: 2000, Quantity: 1},
		{SKUID: "sku_b", ProductID: "prod_b", Price: 700, Quantity: 2},
		{ProductID: "prod_c", Price: 333, Quantity: 3},
	}}
}

func unit(unitType string, units int64, effect string) calc.Discount {
	return calc.Discount{Type: calc.DiscountUnit, UnitType: unitType, UnitOff: &units, Effect: effect}
}

func TestApplyDiscount(t *testing.T) {
	fixed := func(v int64, effect string) Step {
		return discount(calc.Discount{Type: calc.DiscountFixed, FixedAmount: &v, Effect: effect})
	}
	capped := func(p float64, limit int64, effect string) Step {
		return discount(calc.Discount{Type: calc.DiscountPercent, PercentOff: &p, AmountLimit: &limit, Effect: effect})
	}
	withPrice := func(d calc.Discount, price int64) Step {
		d.Product = &calc.ItemRef{ID: d.UnitType, Name: "Gift", Price: &price}
		return discount(d)
	}
	tests := []struct {
		name     string
		order    calc.Order // baseOrder when empty
		step     Step
		applied  int64   // Applied.Amount
		orderOff int64   // order-level discount
		itemsOff []int64 // per-item discount, nil for order-level
		amount   int64   // order amount after
		total    int64   // total_amount after
	}{
		// AMOUNT
		{name: "amount off the order", step: amountOff(1000, ""), applied: 1000, orderOff: 1000, amount: 4399, total: 3399},
		{name: "amount off the order, explicit effect", step: amountOff(1000, calc.EffectApplyToOrder), applied: 1000, orderOff: 1000, amount: 4399, total: 3399},
		{name: "amount larger than the order is clamped", step: amountOff(10000, ""), applied: 4399, orderOff: 4399, amount: 4399, total: 0},
		{name: "zero amount", step: amountOff(0, ""), applied: 0, amount: 4399, total: 4399},
		{name: "amount off each item", step: amountOff(500, calc.EffectApplyToItems), applied: 1500, itemsOff: []int64{500, 500, 500}, amount: 4399, total: 2899},
		{name: "amount off each item, clamped to each item", step: amountOff(1200, calc.EffectApplyToItems), applied: 3399, itemsOff: []int64{1200, 1200, 999}, amount: 4399, total: 1000},
		{name: "amount off items, clamped to a smaller order amount",
			order: calc.Order{Amount: 1500, Items: baseOrder().Items},
			step:  amountOff(1000, calc.EffectApplyToItems), applied: 1500, itemsOff: []int64{1000, 500, 0}, amount: 1500, total: 0},
		{name: "amount off items of an order without items", order: calc.Order{Amount: 10000},
			step: amountOff(1000, calc.EffectApplyToItems), applied: 0, itemsOff: []int64{}, amount: 10000, total: 10000},

		// PERCENT
		{name: "percent off the order", step: percentOff(10, ""), applied: 440, orderOff: 440, amount: 4399, total: 3959},                                                  // 439.9
		{name: "fractional percent", step: percentOff(12.5, ""), applied: 550, orderOff: 550, amount: 4399, total: 3849},                                                   // 549.875
		{name: "half a cent rounds up", order: calc.Order{Amount: 500}, step: percentOff(0.3, ""), applied: 2, orderOff: 2, amount: 500, total: 498},                       // 1.5
		{name: "half a cent rounds up, decimal percent", order: calc.Order{Amount: 1000}, step: percentOff(1.15, ""), applied: 12, orderOff: 12, amount: 1000, total: 988}, // 11.5
		{name: "below half a cent rounds down", order: calc.Order{Amount: 1000}, step: percentOff(0.04, ""), applied: 0, amount: 1000, total: 1000},                        // 0.4
		{name: "percent capped by amount_limit", step: capped(10, 300, ""), applied: 300, orderOff: 300, amount: 4399, total: 4099},
		{name: "amount_limit above the discount", step: capped(10, 1000, ""), applied: 440, orderOff: 440, amount: 4399, total: 3959},
		{name: "amount_limit 0 is no cap", step: capped(10, 0, ""), applied: 440, orderOff: 440, amount: 4399, total: 3959},
		{name: "hundred percent", step: percentOff(100, ""), applied: 4399, orderOff: 4399, amount: 4399, total: 0},
		{name: "zero percent", step: percentOff(0, ""), applied: 0, amount: 4399, total: 4399},
		{name: "percent off each item", step: percentOff(15, calc.EffectApplyToItems), applied: 660, itemsOff: []int64{300, 210, 150}, amount: 4399, total: 3739},                  // 149.85
		{name: "percent of each item, half rounds up", step: percentOff(50, calc.EffectApplyToItems), applied: 2200, itemsOff: []int64{1000, 700, 500}, amount: 4399, total: 2199}, // 499.5
		{name: "percent off items capped in all", step: capped(15, 400, calc.EffectApplyToItems), applied: 400, itemsOff: []int64{300, 100, 0}, amount: 4399, total: 3999},

		// FIXED
		{name: "fixed order price", step: fixed(4000, ""), applied: 399, orderOff: 399, amount: 4399, total: 4000},
		{name: "fixed order price above the total", step: fixed(5000, ""), applied: 0, amount: 4399, total: 4399},
		{name: "fixed price of zero", step: fixed(0, ""), applied: 4399, orderOff: 4399, amount: 4399, total: 0},
		{name: "fixed unit price of items", step: fixed(500, calc.EffectApplyToItems), applied: 1900, itemsOff: []int64{1500, 400, 0}, amount: 4399, total: 2499},
		{name: "fixed price of an item without quantity is per line",
			order: calc.Order{Items: []calc.OrderItem{{Amount: 900}}},
			step:  fixed(500, calc.EffectApplyToItems), applied: 400, itemsOff: []int64{400}, amount: 900, total: 500},

		// UNIT
		{name: "unit the order has enough of", step: discount(unit("sku_b", 1, "")), applied: 700, itemsOff: []int64{0, 700, 0}, amount: 4399, total: 3699},
		{name: "unit matched by product id", step: discount(unit("prod_a", 1, calc.EffectAddMissing)), applied: 2000, itemsOff: []int64{2000, 0, 0}, amount: 4399, total: 2399},
		{name: "missing units are added", step: discount(unit("prod_c", 5, calc.EffectAddMissing)), applied: 1665, itemsOff: []int64{0, 0, 1665}, amount: 5065, total: 3400},
		{name: "missing item is added", step: withPrice(unit("prod_x", 2, calc.EffectAddMissing), 150), applied: 300, itemsOff: []int64{0, 0, 0, 300}, amount: 4699, total: 4399},
		{name: "new units are always added", step: discount(unit("prod_a", 1, calc.EffectAddNew)), applied: 2000, itemsOff: []int64{2000, 0, 0}, amount: 6399, total: 4399},
		{name: "new item is added", step: withPrice(unit("prod_x", 3, calc.EffectAddNew), 100), applied: 300, itemsOff: []int64{0, 0, 0, 300}, amount: 4699, total: 4399},
		{name: "unit matched by the shop's SKU id",
			order: calc.Order{Items: []calc.OrderItem{{SourceID: "shop-7", RelatedObject: "sku", Price: 250, Quantity: 1}}},
			step: discount(calc.Discount{Type: calc.DiscountUnit, UnitType: "sku_7", UnitOff: ptr[int64](1),
				SKU: &calc.ItemRef{ID: "sku_7", SourceID: "shop-7"}}),
			applied: 250, itemsOff: []int64{250}, amount: 250, total: 0},
		{name: "unit price learnt from the discount", // the unit the order has cost nothing
			order: calc.Order{Items: []calc.OrderItem{{ProductID: "prod_x", Quantity: 1}}},
			step:  withPrice(unit("prod_x", 2, ""), 400), applied: 400, itemsOff: []int64{400}, amount: 400, total: 0},
		{name: "unit discount clamped to a smaller order amount",
			order: calc.Order{Amount: 500, Items: []calc.OrderItem{{ProductID: "prod_a", Price: 2000, Quantity: 1}}},
			step:  discount(unit("prod_a", 1, "")), applied: 500, itemsOff: []int64{500}, amount: 500, total: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.order
			if o.Amount == 0 && o.Items == nil {
				o = baseOrder()
			}
			c := MustCalc(t, o)
			a := MustApply(t, c, tt.step)
			got := c.Order()
			if a.Amount != tt.applied {
				t.Errorf("applied %d, want %d", a.Amount, tt.applied)
			}
			if got.DiscountAmount != tt.orderOff || got.AppliedDiscountAmount != tt.orderOff {
				t.Errorf("discount_amount, applied_discount_amount = %d, %d; want %d", got.DiscountAmount, got.AppliedDiscountAmount, tt.orderOff)
			}
			if got.Amount != tt.amount || got.TotalAmount != tt.total {
				t.Errorf("amount, total_amount = %d, %d; want %d, %d", got.Amount, got.TotalAmount, tt.amount, tt.total)
			}
			if tt.itemsOff == nil {
				if a.Items != nil || got.ItemsDiscountAmount != 0 {
					t.Errorf("order-level discount touched items: %+v", a.Items)
				}
				return
			}
			var itemsOff []int64
			for _, it := range got.Items {
				itemsOff = append(itemsOff, it.DiscountAmount)
			}
			if len(tt.itemsOff) == 0 && len(itemsOff) == 0 {
				return
			}
			if !slices.Equal(itemsOff, tt.itemsOff) {
				t.Errorf("items' discount_amount = %v, want %v", itemsOff, tt.itemsOff)
			}
		})
	}
}

// TestApplyDiscountUnitItem checks the line a UNIT discount changes or adds,
// as Voucherify shows it.
func TestApplyDiscountUnitItem(t *testing.T) {
	t.Run("missing units", func(t *testing.T) {
		c := MustCalc(t, baseOrder())
		a := MustApply(t, c, discount(unit("prod_c", 5, "")))
		want := []calc.AppliedItem{{Index: 2, DiscountAmount: 1665, DiscountQuantity: 5, AddedQuantity: 2, AddedAmount: 666}}
		if !slices.Equal(a.Items, want) {
			t.Fatalf("applied items %+v, want %+v", a.Items, want)
		}
		it := c.Order().Items[2]
		if it.Quantity != 5 || *it.InitialQuantity != 3 || it.Amount != 1665 || *it.InitialAmount != 999 ||
			it.DiscountQuantity != 5 || it.AppliedQuantity != 2 || it.AppliedQuantityAmount != 666 || it.SubtotalAmount != 0 {
			t.Fatalf("item %+v", it)
		}
		if o := c.Order(); o.InitialAmount != 4399 || o.Amount != 5065 {
			t.Fatalf("initial_amount, amount = %d, %d", o.InitialAmount, o.Amount)
		}
	})
	t.Run("added SKU", func(t *testing.T) {
		c := MustCalc(t, baseOrder())
		MustApply(t, c, discount(calc.Discount{Type: calc.DiscountUnit, UnitType: "sku_x", UnitOff: ptr[int64](1),
			Effect: calc.EffectAddNew, Product: &calc.ItemRef{ID: "prod_x"}, SKU: &calc.ItemRef{ID: "sku_x", Price: ptr[int64](90)}}))
		it := c.Order().Items[3]
		if it.SKUID != "sku_x" || it.ProductID != "prod_x" || it.RelatedObject != "sku" || it.Price != 90 ||
			it.Quantity != 1 || *it.InitialQuantity != 0 || *it.InitialAmount != 0 || it.SubtotalAmount != 0 {
			t.Fatalf("item %+v", it)
		}
	})
	t.Run("twice on one item keeps the first initial quantity", func(t *testing.T) {
		c := MustCalc(t, baseOrder())
		MustApply(t, c, discount(unit("prod_a", 1, calc.EffectAddNew)))
		MustApply(t, c, discount(unit("prod_a", 2, calc.EffectAddNew)))
		it := c.Order().Items[0]
		if it.Quantity != 4 || *it.InitialQuantity != 1 || *it.InitialAmount != 2000 || it.AppliedQuantity != 3 ||
			it.DiscountQuantity != 3 || it.DiscountAmount != 6000 || it.SubtotalAmount != 2000 {
			t.Fatalf("item %+v", it)
		}
	})
}

func TestApplyDiscountInvalid(t *testing.T) {
	tests := []struct {
		name  string
		d     calc.Discount
		field string
	}{
		{"unknown type", calc.Discount{Type: "SHIPPING"}, "discount.type"},
		{"no type", calc.Discount{}, "discount.type"},
		{"AMOUNT without amount_off", calc.Discount{Type: calc.DiscountAmount}, "discount.amount_off"},
		{"negative amount_off", calc.Discount{Type: calc.DiscountAmount, AmountOff: ptr[int64](-1)}, "discount.amount_off"},
		{"PERCENT without percent_off", calc.Discount{Type: calc.DiscountPercent}, "discount.percent_off"},
		{"percent above 100", calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(100.5)}, "discount.percent_off"},
		{"negative percent", calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(-1.0)}, "discount.percent_off"},
		{"NaN percent", calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(math.NaN())}, "discount.percent_off"},
		{"negative amount_limit", calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(5.0), AmountLimit: ptr[int64](-1)}, "discount.amount_limit"},
		{"FIXED without fixed_amount", calc.Discount{Type: calc.DiscountFixed}, "discount.fixed_amount"},
		{"negative fixed_amount", calc.Discount{Type: calc.DiscountFixed, FixedAmount: ptr[int64](-1)}, "discount.fixed_amount"},
		{"UNIT without unit_type", calc.Discount{Type: calc.DiscountUnit, UnitOff: ptr[int64](1)}, "discount.unit_type"},
		{"UNIT without unit_off", calc.Discount{Type: calc.DiscountUnit, UnitType: "prod_a"}, "discount.unit_off"},
		{"UNIT with zero unit_off", unit("prod_a", 0, ""), "discount.unit_off"},
		{"UNIT with negative price", calc.Discount{Type: calc.DiscountUnit, UnitType: "prod_x", UnitOff: ptr[int64](1), Product: &calc.ItemRef{Price: ptr[int64](-3)}}, "discount.product.price"},
		{"unknown effect", calc.Discount{Type: calc.DiscountAmount, AmountOff: ptr[int64](1), Effect: "APPLY_TO_EVERYTHING"}, "discount.effect"},
		{"unsupported AMOUNT effect", calc.Discount{Type: calc.DiscountAmount, AmountOff: ptr[int64](1), Effect: "APPLY_TO_ITEMS_PROPORTIONALLY"}, "discount.effect"},
		{"unit effect on PERCENT", calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(5.0), Effect: calc.EffectAddMissing}, "discount.effect"},
		{"order effect on UNIT", unit("prod_a", 1, calc.EffectApplyToOrder), "discount.effect"},
		{"missing item without a price", unit("prod_x", 1, ""), "prod_x"},
		{"added units overflow", calc.Discount{Type: calc.DiscountUnit, UnitType: "prod_a", UnitOff: ptr[int64](math.MaxInt64), Effect: calc.EffectAddNew}, "prod_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustCalc(t, baseOrder())
			MustApply(t, c, percentOff(10, "")) // something to keep
			_, err := ApplyChecked(t, c, discount(tt.d))
			wantCode(t, err, core.CodeInvalid)
			if msg := core.ErrorMessage(err); !strings.Contains(msg, tt.field) {
				t.Fatalf("message %q does not name %q", msg, tt.field)
			}
			if c.Order().TotalAmount != 3959 {
				t.Fatalf("failed discount changed the order: %+v", c.Order())
			}
		})
	}
}

// TestValidate checks that Validate judges a discount without an order,
// as ApplyDiscount does.
func TestValidate(t *testing.T) {
	for _, d := range []calc.Discount{
		{Type: calc.DiscountAmount, AmountOff: ptr[int64](100)},
		{Type: calc.DiscountPercent, PercentOff: ptr(12.5), AmountLimit: ptr[int64](500), Effect: calc.EffectApplyToItems},
		{Type: calc.DiscountFixed, FixedAmount: ptr[int64](0)},
		unit("prod_x", 3, calc.EffectAddNew),
	} {
		if err := d.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", d, err)
		}
	}
	err := calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(101.0)}.Validate()
	wantCode(t, err, core.CodeInvalid)
}
