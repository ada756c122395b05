package calc_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/calc"
)

func TestNewCalculation(t *testing.T) {
	tests := []struct {
		name        string
		order       calc.Order
		amount      int64   // order amount
		initial     int64   // initial_amount
		total       int64   // total_amount
		itemAmounts []int64 // items' amounts
		itemPrices  []int64 // items' prices as shown
	}{
		{
			name:   "item amounts from price × quantity, order amount from items",
			order:  calc.Order{Items: []calc.OrderItem{{Price: 1000, Quantity: 2}, {Price: 250, Quantity: 3}}},
			amount: 2750, initial: 2750, total: 2750,
			itemAmounts: []int64{2000, 750}, itemPrices: []int64{1000, 250},
		},
		{
			name:   "item amount is trusted over price × quantity",
			order:  calc.Order{Items: []calc.OrderItem{{Price: 1000, Quantity: 2, Amount: 1800}}},
			amount: 1800, initial: 1800, total: 1800,
			itemAmounts: []int64{1800}, itemPrices: []int64{1000},
		},
		{
			name:   "order amount smaller than the items is trusted",
			order:  calc.Order{Amount: 1000, Items: []calc.OrderItem{{Price: 1000, Quantity: 2}}},
			amount: 1000, initial: 1000, total: 1000,
			itemAmounts: []int64{2000}, itemPrices: []int64{1000},
		},
		{
			name:   "order amount larger than the items is trusted",
			order:  calc.Order{Amount: 2500, Items: []calc.OrderItem{{Price: 1000, Quantity: 2}}},
			amount: 2500, initial: 2500, total: 2500,
			itemAmounts: []int64{2000}, itemPrices: []int64{1000},
		},
		{
			name: "price from the SKU, then the product",
			order: calc.Order{Items: []calc.OrderItem{
				{Quantity: 2, SKU: &calc.ItemRef{ID: "sku_1", Price: ptr[int64](300)}, Product: &calc.ItemRef{Price: ptr[int64](999)}},
				{Quantity: 3, Product: &calc.ItemRef{ID: "prod_1", Price: ptr[int64](100)}},
			}},
			amount: 900, initial: 900, total: 900,
			itemAmounts: []int64{600, 300}, itemPrices: []int64{300, 100},
		},
		{
			name:   "price from amount ÷ quantity when it divides",
			order:  calc.Order{Items: []calc.OrderItem{{Quantity: 4, Amount: 1000}, {Quantity: 3, Amount: 1000}}},
			amount: 2000, initial: 2000, total: 2000,
			itemAmounts: []int64{1000, 1000}, itemPrices: []int64{250, 0},
		},
		{
			name: "discounts the order carries stay applied",
			order: calc.Order{Amount: 3000, InitialAmount: 2800, DiscountAmount: 100,
				Items: []calc.OrderItem{{Price: 1000, Quantity: 2, DiscountAmount: 200}, {Amount: 1000}}},
			amount: 3000, initial: 2800, total: 2700,
			itemAmounts: []int64{2000, 1000}, itemPrices: []int64{1000, 0},
		},
		{name: "empty order", order: calc.Order{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := MustCalc(t, tt.order).Order()
			if o.Amount != tt.amount || o.InitialAmount != tt.initial || o.TotalAmount != tt.total {
				t.Fatalf("amount, initial_amount, total_amount = %d, %d, %d; want %d, %d, %d",
					o.Amount, o.InitialAmount, o.TotalAmount, tt.amount, tt.initial, tt.total)
			}
			if o.AppliedDiscountAmount != 0 || o.TotalAppliedDiscountAmount != 0 {
				t.Fatalf("nothing applied yet, got %+v", o)
			}
			if len(o.Items) != len(tt.itemAmounts) {
				t.Fatalf("%d items, want %d", len(o.Items), len(tt.itemAmounts))
			}
			for i, it := range o.Items {
				if it.Amount != tt.itemAmounts[i] || it.Price != tt.itemPrices[i] {
					t.Errorf("items[%d] amount, price = %d, %d; want %d, %d", i, it.Amount, it.Price, tt.itemAmounts[i], tt.itemPrices[i])
				}
			}
		})
	}
}

func TestNewCalculationInvalid(t *testing.T) {
	items := func(it ...calc.OrderItem) []calc.OrderItem { return it }
	ok := calc.OrderItem{Price: 100, Quantity: 1}
	tests := []struct {
		name  string
		order calc.Order
		field string // the message names it
	}{
		{"negative order amount", calc.Order{Amount: -1}, "order.amount must not be negative"},
		{"negative initial amount", calc.Order{InitialAmount: -1}, "order.initial_amount must not be negative"},
		{"negative order discount", calc.Order{DiscountAmount: -1}, "order.discount_amount must not be negative"},
		{"negative quantity", calc.Order{Items: items(ok, ok, calc.OrderItem{Quantity: -2})}, "order.items[2].quantity must not be negative"},
		{"negative price", calc.Order{Items: items(calc.OrderItem{Price: -5, Quantity: 1})}, "order.items[0].price must not be negative"},
		{"negative item amount", calc.Order{Items: items(ok, calc.OrderItem{Amount: -5})}, "order.items[1].amount must not be negative"},
		{"negative item discount", calc.Order{Items: items(calc.OrderItem{Amount: 5, DiscountAmount: -1})}, "order.items[0].discount_amount must not be negative"},
		{"negative product price", calc.Order{Items: items(calc.OrderItem{Quantity: 1, Product: &calc.ItemRef{Price: ptr[int64](-1)}})}, "order.items[0].product.price must not be negative"},
		{"negative SKU price", calc.Order{Items: items(calc.OrderItem{Quantity: 1, SKU: &calc.ItemRef{Price: ptr[int64](-1)}})}, "order.items[0].sku.price must not be negative"},
		{"item discount above its amount", calc.Order{Items: items(calc.OrderItem{Amount: 5, DiscountAmount: 6})}, "order.items[0].discount_amount"},
		{"order discounts above its amount", calc.Order{Amount: 100, DiscountAmount: 60, Items: items(calc.OrderItem{Amount: 500, DiscountAmount: 50})}, "order.discount_amount"},
		{"price × quantity overflows", calc.Order{Items: items(calc.OrderItem{Price: math.MaxInt64 / 2, Quantity: 3})}, "order.items[0].amount"},
		{"items overflow", calc.Order{Items: items(calc.OrderItem{Amount: math.MaxInt64}, calc.OrderItem{Amount: 1})}, "order.items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := calc.NewCalculation(tt.order)
			if c != nil {
				t.Fatalf("got a calculation with error %v", err)
			}
			wantCode(t, err, core.CodeInvalid)
			if msg := core.ErrorMessage(err); !strings.Contains(msg, tt.field) {
				t.Fatalf("message %q does not name %q", msg, tt.field)
			}
		})
	}
}

// TestOrderJSON checks the order's shape on the wire: Voucherify's field
// names, zero discounts omitted, totals and objects always there.
func TestOrderJSON(t *testing.T) {
	c := MustCalc(t, calc.Order{ID: "ord_1", Metadata: json.RawMessage(`{"k":"v"}`),
		Items: []calc.OrderItem{{ProductID: "prod_a", Price: 1000, Quantity: 1}}})
	MustApply(t, c, discount(calc.Discount{Type: calc.DiscountUnit, UnitType: "prod_b", UnitOff: ptr[int64](2),
		Product: &calc.ItemRef{ID: "prod_b", Name: "Mug", Price: ptr[int64](300)}}))
	b, err := json.Marshal(c.Order())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Order map[string]json.RawMessage
		Items []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &got.Order); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got.Order["items"], &got.Items); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id": `"ord_1"`, "object": `"order"`, "amount": "1600", "initial_amount": "1000",
		"items_discount_amount": "600", "total_discount_amount": "600", "total_amount": "1000",
		"items_applied_discount_amount": "600", "total_applied_discount_amount": "600", "metadata": `{"k":"v"}`,
	}
	for k, v := range want {
		if string(got.Order[k]) != v {
			t.Errorf("order.%s = %s, want %s", k, got.Order[k], v)
		}
	}
	for _, k := range []string{"discount_amount", "applied_discount_amount", "customer_id"} {
		if v, ok := got.Order[k]; ok {
			t.Errorf("order.%s = %s, want it omitted", k, v)
		}
	}
	if len(got.Items) != 2 {
		t.Fatalf("items: %s", got.Order["items"])
	}
	wantItems := []map[string]string{
		{"object": `"order_item"`, "product_id": `"prod_a"`, "quantity": "1", "price": "1000", "amount": "1000", "subtotal_amount": "1000"},
		{"object": `"order_item"`, "product_id": `"prod_b"`, "related_object": `"product"`, "quantity": "2", "initial_quantity": "0",
			"discount_quantity": "2", "applied_discount_quantity": "2", "applied_quantity": "2", "applied_quantity_amount": "600",
			"price": "300", "amount": "600", "initial_amount": "0", "discount_amount": "600", "applied_discount_amount": "600", "subtotal_amount": "0"},
	}
	for i, w := range wantItems {
		for k, v := range w {
			if string(got.Items[i][k]) != v {
				t.Errorf("items[%d].%s = %s, want %s", i, k, got.Items[i][k], v)
			}
		}
	}
	for _, k := range []string{"discount_amount", "applied_discount_amount", "initial_quantity", "initial_amount"} {
		if v, ok := got.Items[0][k]; ok {
			t.Errorf("items[0].%s = %s, want it omitted", k, v)
		}
	}
}

// TestOrderIsACopy checks that changing a returned order leaves the
// calculation alone.
func TestOrderIsACopy(t *testing.T) {
	c := MustCalc(t, calc.Order{Items: []calc.OrderItem{{ProductID: "prod_a", Price: 100, Quantity: 1, Product: &calc.ItemRef{ID: "prod_a", Price: ptr[int64](100)}}}})
	o := c.Order()
	o.Items[0].Amount = 7
	o.Items[0].ProductID = "x"
	*o.Items[0].Product.Price = 7
	o.Items[0].Product.ID = "x"
	again := c.Order()
	if again.Items[0].Amount != 100 || again.Items[0].ProductID != "prod_a" || *again.Items[0].Product.Price != 100 || again.Items[0].Product.ID != "prod_a" {
		t.Fatalf("calculation changed through its result: %+v", again.Items[0])
	}
}
