package calc

import (
	"errors"
	"fmt"

	"github.com/promorelay/promorelay/core"
)

// ErrInsufficientBalance is the cause of ApplyGift's error when the credits
// asked for exceed the card's balance: errors.Is(err, ErrInsufficientBalance)
// tells it from other failures. The error itself is a *core.Error with code
// core.CodeConditionFailed; callers report it as Voucherify's
// "gift_amount_exceeded".
var ErrInsufficientBalance = errors.New("gift card balance is less than the credits asked for")

// ApplyGift pays part of the order with a gift card holding balance cents and
// reports the credits used in Applied.Amount. With credits 0 the card pays
// what it can: min(balance, the order's total_amount). With credits > 0 it
// pays exactly credits, cut down to the order's total_amount if that is less,
// so a card never pays more than the order costs.
//
// The payment counts as an order-level discount: it adds to the order's
// discount_amount and applied_discount_amount and lowers total_amount, as in
// Voucherify's responses.
//
// A negative balance or credits is a *core.Error with code core.CodeInvalid;
// credits above balance is a *core.Error with code core.CodeConditionFailed
// wrapping ErrInsufficientBalance. On error the Calculation is unchanged.
func (c *Calculation) ApplyGift(balance, credits int64) (Applied, error) {
	if err := nonNegative("gift.balance", balance); err != nil {
		return Applied{}, err
	}
	if err := nonNegative("gift.credits", credits); err != nil {
		return Applied{}, err
	}
	if credits > balance {
		return Applied{}, &core.Error{
			Code:    core.CodeConditionFailed,
			Message: fmt.Sprintf("gift.credits (%d) exceed the gift card's balance (%d)", credits, balance),
			Err:     ErrInsufficientBalance,
		}
	}
	pay := balance
	if credits > 0 {
		pay = credits
	}
	return c.commit(step{order: min(pay, c.total())}), nil
}
