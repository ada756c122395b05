package promo_test

import (
	"testing"

	"github.com/promorelay/promorelay/core/promo"
)

func TestVoucherIDNamesItsCode(t *testing.T) {
	for _, code := range []string{"WELCOME15", "GIFT-ab12-CD34", "a", "x:y=z@$!*()+."} {
		id := promo.VoucherID(code)
		got, ok := promo.CodeOfVoucherID(id)
		if !ok || got != code {
			t.Errorf("%q → %q → %q, %v", code, id, got, ok)
		}
	}
	// Not ids, bad base32, and base32 of bytes that are no code (NULs).
	for _, id := range []string{"", "WELCOME15", "v_", "v_!!", "camp_abc", "v_aaaaaaaaaa"} {
		if code, ok := promo.CodeOfVoucherID(id); ok {
			t.Errorf("%q decoded to %q", id, code)
		}
	}
}
