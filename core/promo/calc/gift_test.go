package calc_test

import (
	"errors"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/calc"
)

func TestApplyGift(t *testing.T) {
	tests := []struct {
		name             string
		balance, credits int64
		paid, total      int64
	}{
		{name: "pays part of the order", balance: 2000, paid: 2000, total: 3000},
		{name: "pays the whole order", balance: 8000, paid: 5000, total: 0},
		{name: "balance equal to the order", balance: 5000, paid: 5000, total: 0},
		{name: "credits asked for", balance: 8000, credits: 1500, paid: 1500, total: 3500},
		{name: "credits equal to the balance", balance: 1500, credits: 1500, paid: 1500, total: 3500},
		{name: "credits above the order are cut down", balance: 8000, credits: 6000, paid: 5000, total: 0},
		{name: "empty card pays nothing", balance: 0, paid: 0, total: 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustCalc(t, calc.Order{Amount: 5000})
			a := MustApply(t, c, gift(tt.balance, tt.credits))
			o := c.Order()
			if a.Amount != tt.paid || o.TotalAmount != tt.total {
				t.Fatalf("paid %d, total_amount %d; want %d, %d", a.Amount, o.TotalAmount, tt.paid, tt.total)
			}
			if a.Items != nil {
				t.Fatalf("gift card reported items %+v", a.Items)
			}
			// Voucherify counts gift credits as an order-level discount.
			if o.DiscountAmount != tt.paid || o.AppliedDiscountAmount != tt.paid || o.TotalDiscountAmount != tt.paid || o.ItemsDiscountAmount != 0 {
				t.Fatalf("order %+v", o)
			}
		})
	}
}

func TestApplyGiftErrors(t *testing.T) {
	tests := []struct {
		name             string
		balance, credits int64
		code             core.Code
		insufficient     bool
	}{
		{name: "credits above the balance", balance: 1000, credits: 1001, code: core.CodeConditionFailed, insufficient: true},
		{name: "credits on an empty card", balance: 0, credits: 1, code: core.CodeConditionFailed, insufficient: true},
		{name: "negative balance", balance: -1, code: core.CodeInvalid},
		{name: "negative credits", balance: 1000, credits: -1, code: core.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustCalc(t, calc.Order{Amount: 5000})
			_, err := ApplyChecked(t, c, gift(tt.balance, tt.credits))
			wantCode(t, err, tt.code)
			if got := errors.Is(err, calc.ErrInsufficientBalance); got != tt.insufficient {
				t.Fatalf("errors.Is(%v, ErrInsufficientBalance) = %v", err, got)
			}
			if c.Order().TotalAmount != 5000 {
				t.Fatal("failed gift card changed the order")
			}
		})
	}
}
