package calc_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/calc"
)

// TestProperties applies random stacks to random orders and checks, after
// every redeemable, the invariants of ApplyChecked and CheckOrder (totals
// never negative, total_amount = amount - total_discount_amount, subtotals
// never negative, sums consistent, failures change nothing) and what each
// kind of redeemable must take off.
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(20240611, 7))
	const orders = 3000
	var applied, failed int
	for n := range orders {
		o := randomOrder(r)
		c, err := calc.NewCalculation(o)
		if err != nil {
			wantCode(t, err, core.CodeInvalid)
			continue
		}
		CheckOrder(t, c.Order())
		var sum int64
		for range 1 + r.IntN(6) {
			s := randomStep(r)
			before := c.Order()
			a, err := ApplyChecked(t, c, s)
			if err != nil {
				failed++
				continue
			}
			applied++
			sum += a.Amount
			checkKind(t, s, before, a)
		}
		got := c.Order()
		if got.TotalAppliedDiscountAmount != sum {
			t.Fatalf("order %d: total_applied_discount_amount %d, redeemables applied %d", n, got.TotalAppliedDiscountAmount, sum)
		}
		if o.DiscountAmount == 0 && got.TotalDiscountAmount != sum && !hasItemDiscount(o) {
			t.Fatalf("order %d: total_discount_amount %d, redeemables applied %d", n, got.TotalDiscountAmount, sum)
		}
	}
	if applied < orders || failed == 0 {
		t.Fatalf("weak generator: %d applied, %d failed", applied, failed)
	}
}

// checkKind checks what a redeemable of s's kind must take off an order
// that was before.
func checkKind(t *testing.T, s Step, before calc.CalculatedOrder, a calc.Applied) {
	t.Helper()
	after := a.Order
	switch d := s.Discount; {
	case s.Gift != nil:
		want := s.Gift.Balance
		if s.Gift.Credits > 0 {
			want = s.Gift.Credits
		}
		if want = min(want, before.TotalAmount); a.Amount != want {
			t.Fatalf("gift %+v on total %d paid %d, want %d", *s.Gift, before.TotalAmount, a.Amount, want)
		}
	case d.Effect == calc.EffectApplyToItems || d.Type == calc.DiscountUnit:
		if a.Items == nil {
			t.Fatalf("item-level %+v reported no items", d)
		}
		if d.Type == calc.DiscountPercent && d.AmountLimit != nil && *d.AmountLimit > 0 && a.Amount > *d.AmountLimit {
			t.Fatalf("%v%% capped at %d took %d", *d.PercentOff, *d.AmountLimit, a.Amount)
		}
	case d.Type == calc.DiscountAmount:
		if want := min(*d.AmountOff, before.TotalAmount); a.Amount != want {
			t.Fatalf("amount_off %d on total %d took %d, want %d", *d.AmountOff, before.TotalAmount, a.Amount, want)
		}
	case d.Type == calc.DiscountFixed:
		if want := min(*d.FixedAmount, before.TotalAmount); after.TotalAmount != want {
			t.Fatalf("fixed %d on total %d left %d, want %d", *d.FixedAmount, before.TotalAmount, after.TotalAmount, want)
		}
	case d.Type == calc.DiscountPercent:
		// Within a cent of the exact percentage, and never above the cap.
		exact := float64(before.TotalAmount) * *d.PercentOff / 100
		if d.AmountLimit != nil && *d.AmountLimit > 0 {
			exact = min(exact, float64(*d.AmountLimit))
		}
		if diff := float64(a.Amount) - exact; diff > 0.5+1e-6 || diff < -0.5-1e-6 {
			t.Fatalf("%v%% of %d took %d, exact %v", *d.PercentOff, before.TotalAmount, a.Amount, exact)
		}
	}
}

func hasItemDiscount(o calc.Order) bool {
	for _, it := range o.Items {
		if it.DiscountAmount > 0 {
			return true
		}
	}
	return false
}

func randomOrder(r *rand.Rand) calc.Order {
	var o calc.Order
	for range r.IntN(6) {
		it := calc.OrderItem{ProductID: fmt.Sprintf("prod_%d", r.IntN(5)), Quantity: r.Int64N(5)}
		if r.IntN(4) == 0 {
			it.SKUID = fmt.Sprintf("sku_%d", r.IntN(5))
		}
		switch r.IntN(6) {
		case 0: // no price
		case 1:
			it.Product = &calc.ItemRef{ID: it.ProductID, Price: ptr(r.Int64N(5000))}
		default:
			it.Price = r.Int64N(5000)
		}
		if r.IntN(4) == 0 {
			it.Amount = r.Int64N(20000)
			if r.IntN(3) == 0 {
				it.DiscountAmount = r.Int64N(it.Amount + 1)
			}
		}
		if r.IntN(50) == 0 {
			it.Quantity = -1 // invalid now and then
		}
		o.Items = append(o.Items, it)
	}
	if r.IntN(3) == 0 {
		o.Amount = r.Int64N(40000)
	}
	if r.IntN(8) == 0 {
		o.DiscountAmount = r.Int64N(2000) // sometimes more than the order: invalid
	}
	return o
}

func randomStep(r *rand.Rand) Step {
	effect := []string{"", calc.EffectApplyToOrder, calc.EffectApplyToItems}[r.IntN(3)]
	switch r.IntN(6) {
	case 0:
		return amountOff(r.Int64N(8000), effect)
	case 1:
		d := calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(float64(r.IntN(10001)) / 100), Effect: effect}
		if r.IntN(2) == 0 {
			d.AmountLimit = ptr(r.Int64N(3000))
		}
		return discount(d)
	case 2:
		return discount(calc.Discount{Type: calc.DiscountFixed, FixedAmount: ptr(r.Int64N(20000)), Effect: effect})
	case 3:
		d := unit(fmt.Sprintf("prod_%d", r.IntN(7)), 1+r.Int64N(4), []string{"", calc.EffectAddMissing, calc.EffectAddNew}[r.IntN(3)])
		if r.IntN(3) > 0 {
			d.Product = &calc.ItemRef{ID: d.UnitType, Price: ptr(r.Int64N(3000))}
		}
		return discount(d)
	case 4:
		balance := r.Int64N(30000)
		var credits int64
		if r.IntN(2) == 0 {
			credits = r.Int64N(balance + 2000) // sometimes above the balance
		}
		return gift(balance, credits)
	default: // invalid now and then
		return discount(calc.Discount{Type: calc.DiscountPercent, PercentOff: ptr(float64(r.IntN(300)) - 100)})
	}
}

// fuzzInput is an order and a stack of redeemables.
type fuzzInput struct {
	Order calc.Order `json:"order"`
	Steps []Step     `json:"steps"`
}

func FuzzCalculation(f *testing.F) {
	for _, seed := range []string{
		`{"order":{"amount":10000},"steps":[{"discount":{"type":"PERCENT","percent_off":10}},{"discount":{"type":"AMOUNT","amount_off":500}},{"gift":{"balance":20000,"credits":0}}]}`,
		`{"order":{"items":[{"product_id":"prod_a","price":2000,"quantity":1},{"sku_id":"sku_b","price":700,"quantity":2}]},
		  "steps":[{"discount":{"type":"AMOUNT","amount_off":1000,"effect":"APPLY_TO_ITEMS"}},{"discount":{"type":"PERCENT","percent_off":12.5,"amount_limit":300}}]}`,
		`{"order":{"amount":1500,"discount_amount":100,"items":[{"product_id":"prod_c","amount":999,"quantity":3,"discount_amount":9}]},
		  "steps":[{"discount":{"type":"UNIT","unit_type":"prod_c","unit_off":5,"effect":"ADD_MISSING_ITEMS"}},{"discount":{"type":"FIXED","fixed_amount":500,"effect":"APPLY_TO_ITEMS"}}]}`,
		`{"order":{"items":[{"source_id":"shop-1","related_object":"sku","price":90,"quantity":1}]},
		  "steps":[{"discount":{"type":"UNIT","unit_type":"sku_1","unit_off":2,"effect":"ADD_NEW_ITEMS","sku":{"id":"sku_1","source_id":"shop-1"}}},
		           {"discount":{"type":"UNIT","unit_type":"prod_9","unit_off":1,"product":{"id":"prod_9","price":250}}},{"gift":{"balance":100,"credits":101}}]}`,
		`{"order":{"amount":9223372036854775807},"steps":[{"discount":{"type":"UNIT","unit_type":"p","unit_off":9223372036854775807,"product":{"price":2}}},{"discount":{"type":"PERCENT","percent_off":99.99999999999999}}]}`,
		`{"order":{"items":[{"price":-1}]}}`,
		`{"order":{},"steps":[{"discount":{"type":"FIXED"}},{"discount":{"type":"PERCENT","percent_off":100.5}},{"gift":{"balance":-1}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in fuzzInput
		if json.Unmarshal(data, &in) != nil {
			return
		}
		c, err := calc.NewCalculation(in.Order)
		if err != nil {
			wantCode(t, err, core.CodeInvalid)
			return
		}
		CheckOrder(t, c.Order())
		var sum int64
		for i, s := range in.Steps {
			if i == 32 {
				break
			}
			if s.Discount == nil && s.Gift == nil {
				continue
			}
			if a, err := ApplyChecked(t, c, s); err == nil {
				sum += a.Amount
			}
		}
		o := c.Order()
		if o.TotalAppliedDiscountAmount != sum {
			t.Fatalf("total_applied_discount_amount %d, redeemables applied %d", o.TotalAppliedDiscountAmount, sum)
		}
		if _, err := json.Marshal(o); err != nil {
			t.Fatalf("marshal order: %v", err)
		}
	})
}
