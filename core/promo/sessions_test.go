package promo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/internal/enginetest"
)

// TestSessionLockHoldsUses: a code with 3 uses; 10 concurrent LOCK
// validations hold exactly 3; redemptions without a session are refused
// while the holds last; each holder redeems with its key; after expiry or
// release the uses come back.
func TestSessionLockHoldsUses(t *testing.T) {
	clock := core.NewManualClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	enginetest.Run(t, clock, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newServiceClock(s, clock)
		if _, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "THREE", Type: promo.TypeDiscount,
			Discount: &promo.Discount{Type: "AMOUNT", AmountOff: ptr(int64(100))}, Redemption: &promo.RedemptionLimit{Quantity: ptr(int64(3))}}); err != nil {
			t.Fatal(err)
		}
		validate := func(key string) (promo.ValidationResult, error) {
			return svc.Validate(ctx, proj, promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: "THREE"}},
				Order: &promo.Order{Amount: 1000}, Session: &promo.Session{Type: "LOCK", Key: key, TTL: 10, TTLUnit: "MINUTES"}})
		}
		var mu sync.Mutex
		var holders []string
		var refused atomic.Int64
		race(10, func(i int) {
			res, err := validate("")
			switch {
			case err != nil:
				t.Error(err)
			case res.Valid:
				mu.Lock()
				holders = append(holders, res.Session.Key)
				mu.Unlock()
			default:
				refused.Add(1)
			}
		})
		if len(holders) != 3 || refused.Load() != 7 {
			t.Fatalf("%d sessions hold a use, %d refused; want 3 and 7", len(holders), refused.Load())
		}
		if _, err := redeemOne(ctx, svc, "THREE", "", 1000, 0); core.ErrorKey(err) != promo.KeyQuantityExceeded {
			t.Fatalf("redeem without a session while all uses are held: %v", err)
		}
		redeemWith := func(key string) error {
			_, err := svc.Redeem(ctx, proj, promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: "THREE"}},
				Order: &promo.Order{Amount: 1000}, Session: &promo.Session{Key: key}})
			return err
		}
		if err := redeemWith(holders[0]); err != nil {
			t.Fatalf("redeem with a held session: %v", err)
		}
		if err := redeemWith(holders[0]); core.ErrorKey(err) != promo.KeyQuantityExceeded {
			t.Fatalf("the same session again: %v", err)
		}
		if err := svc.ReleaseSession(ctx, proj, "THREE", holders[1]); err != nil {
			t.Fatal(err)
		}
		if _, err := redeemOne(ctx, svc, "THREE", "", 1000, 0); err != nil {
			t.Fatalf("redeem after a release: %v", err)
		}
		clock.Advance(11 * time.Minute) // the third hold expires
		if _, err := redeemOne(ctx, svc, "THREE", "", 1000, 0); err != nil {
			t.Fatalf("redeem after the hold expired: %v", err)
		}
		if err := redeemWith(holders[2]); core.ErrorKey(err) != promo.KeyQuantityExceeded {
			t.Fatalf("expired session: %v", err)
		}
		v, _ := svc.GetVoucher(ctx, proj, "THREE")
		if v.Redemption.RedeemedQuantity != 3 {
			t.Fatalf("redeemed %d, want 3", v.Redemption.RedeemedQuantity)
		}
	})
}

// TestSessionLockHoldsGiftCredits: a held gift card pays only what is not held.
func TestSessionLockHoldsGiftCredits(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		if _, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "CARD", Type: promo.TypeGift, Gift: &promo.Gift{Amount: 2500}}); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Validate(ctx, proj, promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: "CARD"}},
			Order: &promo.Order{Amount: 2000}, Session: &promo.Session{Type: "LOCK"}})
		if err != nil || !res.Valid {
			t.Fatalf("lock: %+v %v", res, err)
		}
		other, err := redeemOne(ctx, svc, "CARD", "", 2000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := other.Redemptions[0].Gift.Amount; got != 500 {
			t.Fatalf("an unlocked redemption paid %d, want the 500 not held", got)
		}
		mine, err := svc.Redeem(ctx, proj, promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: "CARD"}},
			Order: &promo.Order{Amount: 2000}, Session: &promo.Session{Key: res.Session.Key}})
		if err != nil {
			t.Fatal(err)
		}
		if got := mine.Redemptions[0].Gift.Amount; got != 2000 {
			t.Fatalf("the session's redemption paid %d, want its held 2000", got)
		}
		v, _ := svc.GetVoucher(ctx, proj, "CARD")
		if v.Gift.Balance != 0 {
			t.Fatalf("balance %d, want 0", v.Gift.Balance)
		}
	})
}
