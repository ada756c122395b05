package promo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/dynamolocal"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

const proj = "proj_test"

func ptr[T any](v T) *T { return &v }

func newService(s core.Store) *promo.Service { return app.New(s, nil).Promo }

// race runs n calls of fn concurrently, released together.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func redeemOne(ctx context.Context, svc *promo.Service, code, customerSource string, order int64, credits int64) (promo.RedeemResult, error) {
	in := promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: code}}, Order: &promo.Order{Amount: order}}
	if credits > 0 {
		in.Redeemables[0].Gift = &promo.GiftCredits{Credits: credits}
	}
	if customerSource != "" {
		in.Customer = &promo.Customer{SourceID: customerSource}
	}
	return svc.Redeem(ctx, proj, in)
}

// TestSharedCodeNeverOverRedeemed: 1,000 concurrent redemptions of a shared
// code limited to 200 uses succeed exactly 200 times; the other 800 fail
// with quantity_exceeded and are recorded as failed redemptions.
func TestSharedCodeNeverOverRedeemed(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		_, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "WELCOME15", Type: promo.TypeDiscount,
			Discount: &promo.Discount{Type: "PERCENT", PercentOff: ptr(15.0)}, Redemption: &promo.RedemptionLimit{Quantity: ptr(int64(200))}})
		if err != nil {
			t.Fatal(err)
		}
		var ok, exceeded atomic.Int64
		errs := make(chan error, 1000)
		race(1000, func(i int) {
			_, err := redeemOne(ctx, svc, "WELCOME15", "", 10000, 0)
			switch {
			case err == nil:
				ok.Add(1)
			case core.ErrorKey(err) == promo.KeyQuantityExceeded:
				exceeded.Add(1)
			default:
				errs <- err
			}
		})
		close(errs)
		for err := range errs {
			t.Fatalf("unexpected error: %v", err)
		}
		if ok.Load() != 200 || exceeded.Load() != 800 {
			t.Fatalf("%d succeeded, %d exceeded; want 200 and 800", ok.Load(), exceeded.Load())
		}
		v, err := svc.GetVoucher(ctx, proj, "WELCOME15")
		if err != nil {
			t.Fatal(err)
		}
		if v.Redemption.RedeemedQuantity != 200 {
			t.Fatalf("redeemed_quantity %d, want 200", v.Redemption.RedeemedQuantity)
		}
		succeeded, failed := 0, 0
		cursor := ""
		for {
			rs, next, err := svc.ListRedemptions(ctx, proj, promo.RedemptionFilter{Voucher: "WELCOME15", Limit: 100, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Result == "SUCCESS" {
					succeeded++
				} else if r.FailureCode == promo.KeyQuantityExceeded {
					failed++
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if succeeded != 200 || failed != 800 {
			t.Fatalf("stored %d successful and %d failed redemptions, want 200 and 800", succeeded, failed)
		}
	})
}

// TestGiftCardNeverNegative: 100 concurrent debits of a $25 gift card never
// take it below zero, and the balance is exactly $25 minus what succeeded.
func TestGiftCardNeverNegative(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		_, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "GIFT-25", Type: promo.TypeGift, Gift: &promo.Gift{Amount: 2500}})
		if err != nil {
			t.Fatal(err)
		}
		var paid, ok atomic.Int64
		errs := make(chan error, 100)
		race(100, func(i int) {
			credits := int64(300 + (i%7)*100) // $3 … $9
			res, err := redeemOne(ctx, svc, "GIFT-25", fmt.Sprintf("c%d", i%10), 5000, credits)
			switch {
			case err == nil:
				if got := res.Redemptions[0].Gift.Amount; got != credits {
					errs <- fmt.Errorf("paid %d, asked %d", got, credits)
				}
				paid.Add(credits)
				ok.Add(1)
			case core.ErrorKey(err) == promo.KeyGiftAmountExceed, core.ErrorKey(err) == promo.KeyNoBalance:
			default:
				errs <- err
			}
		})
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		v, err := svc.GetVoucher(ctx, proj, "GIFT-25")
		if err != nil {
			t.Fatal(err)
		}
		if v.Gift.Balance < 0 || v.Gift.Balance != 2500-paid.Load() {
			t.Fatalf("balance %d, paid %d: want balance = 2500 - paid ≥ 0", v.Gift.Balance, paid.Load())
		}
		if v.Gift.Balance >= 300 {
			t.Fatalf("balance %d left although every debit was at least 300 and some failed", v.Gift.Balance)
		}
		if v.Redemption.RedeemedQuantity != ok.Load() {
			t.Fatalf("redeemed_quantity %d, successes %d", v.Redemption.RedeemedQuantity, ok.Load())
		}
	})
}

func staticCampaign(t *testing.T, svc *promo.Service, name string, codes int64, joinOnce bool) promo.Campaign {
	t.Helper()
	ctx := context.Background()
	c, err := svc.CreateCampaign(ctx, proj, promo.CampaignInput{Name: name, CampaignType: promo.CampaignGiftVouchers, Type: "STATIC",
		JoinOnce: joinOnce, Voucher: promo.CampaignVoucher{Gift: &promo.Gift{Amount: 2500}, CodeConfig: &promo.CodeConfig{Pattern: "GIFT-####-####"}}})
	if err != nil {
		t.Fatal(err)
	}
	for made := int64(0); made < codes; made += promo.MaxInlineCodes {
		if _, err := svc.GenerateCodes(ctx, proj, c.ID, min(codes-made, promo.MaxInlineCodes), nil); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestPoolPublicationAssignsEachCodeOnce: 500 concurrent publications from a
// pool of 300 codes assign 300 distinct codes and fail 200 with
// no_voucher_suitable_for_publication.
func TestPoolPublicationAssignsEachCodeOnce(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		c := staticCampaign(t, svc, "Reviewers gift cards", 300, false)
		var mu sync.Mutex
		holders := map[string]string{}
		var exhausted atomic.Int64
		errs := make(chan error, 500)
		race(500, func(i int) {
			pub, err := svc.Publish(ctx, proj, promo.PublishInput{Campaign: c.ID, Customer: customer.Ref{SourceID: fmt.Sprintf("cust-%03d", i)}})
			switch {
			case err == nil:
				mu.Lock()
				defer mu.Unlock()
				if prev, dup := holders[pub.Voucher.Code]; dup {
					errs <- fmt.Errorf("code %s assigned to %s and %s", pub.Voucher.Code, prev, pub.CustomerID)
				}
				holders[pub.Voucher.Code] = pub.CustomerID
			case core.ErrorKey(err) == promo.KeyNoVoucherForPublication:
				exhausted.Add(1)
			default:
				errs <- err
			}
		})
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(holders) != 300 || exhausted.Load() != 200 {
			t.Fatalf("%d codes assigned, %d refused; want 300 and 200", len(holders), exhausted.Load())
		}
		for code, holder := range holders {
			v, err := svc.GetVoucher(ctx, proj, code)
			if err != nil {
				t.Fatal(err)
			}
			if v.HolderID != holder || v.Publish.Count != 1 {
				t.Fatalf("code %s: holder %s (want %s), published %d times", code, v.HolderID, holder, v.Publish.Count)
			}
		}
	})
}

// TestJoinOnceUnderConcurrency: one customer publishing 40 times at once from
// a join-once campaign gets one code, the same in every answer.
func TestJoinOnceUnderConcurrency(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		c := staticCampaign(t, svc, "Once", 60, true)
		codes := make([]string, 40)
		errs := make(chan error, 40)
		race(40, func(i int) {
			pub, err := svc.Publish(ctx, proj, promo.PublishInput{Campaign: c.Name, Customer: customer.Ref{SourceID: "michael"}})
			if err != nil {
				errs <- err
				return
			}
			codes[i] = pub.Voucher.Code
		})
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, code := range codes {
			if code != codes[0] {
				t.Fatalf("join-once customer got %s and %s", codes[0], code)
			}
		}
		pg, err := svc.ListVouchers(ctx, proj, c.ID, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, v := range pg.Vouchers {
			if v.HolderID != "" {
				held++
			}
		}
		if held != 1 {
			t.Fatalf("%d codes have a holder, want 1", held)
		}
	})
}

// TestRollbackRacedWithRedemption: a single-use code is redeemed, then its
// rollback and a new redemption race, many times over; the usage count
// always equals successful redemptions minus rollbacks, and never exceeds 1.
func TestRollbackRacedWithRedemption(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		_, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "ONCE", Type: promo.TypeDiscount,
			Discount: &promo.Discount{Type: "AMOUNT", AmountOff: ptr(int64(500))}, Redemption: &promo.RedemptionLimit{Quantity: ptr(int64(1))}})
		if err != nil {
			t.Fatal(err)
		}
		first, err := redeemOne(ctx, svc, "ONCE", "", 2000, 0)
		if err != nil {
			t.Fatal(err)
		}
		live := first.Redemptions[0].ID
		var redeemed, rolledBack int64 = 1, 0
		for range 15 {
			var rbErr, redErr error
			var res promo.RedeemResult
			race(2, func(i int) {
				if i == 0 {
					_, rbErr = svc.Rollback(ctx, proj, live, promo.RollbackInput{Reason: "race"})
				} else {
					res, redErr = redeemOne(ctx, svc, "ONCE", "", 2000, 0)
				}
			})
			if rbErr != nil {
				t.Fatalf("rollback: %v", rbErr)
			}
			rolledBack++
			switch {
			case redErr == nil:
				redeemed++
				live = res.Redemptions[0].ID
			case core.ErrorKey(redErr) == promo.KeyQuantityExceeded:
				// The redemption looked before the rollback freed the use: redeem now.
				res, err := redeemOne(ctx, svc, "ONCE", "", 2000, 0)
				if err != nil {
					t.Fatalf("redeem after rollback: %v", err)
				}
				redeemed++
				live = res.Redemptions[0].ID
			default:
				t.Fatalf("redeem: %v", redErr)
			}
			v, err := svc.GetVoucher(ctx, proj, "ONCE")
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Redemption.RedeemedQuantity; got != redeemed-rolledBack || got != 1 {
				t.Fatalf("redeemed_quantity %d after %d redemptions and %d rollbacks", got, redeemed, rolledBack)
			}
		}
		// Rolling the same redemption back twice at once succeeds once.
		var okRB, already atomic.Int64
		race(8, func(int) {
			_, err := svc.Rollback(ctx, proj, live, promo.RollbackInput{})
			switch {
			case err == nil:
				okRB.Add(1)
			case core.ErrorKey(err) == promo.KeyAlreadyRolledBack:
				already.Add(1)
			default:
				t.Errorf("rollback: %v", err)
			}
		})
		if okRB.Load() != 1 || already.Load() != 7 {
			t.Fatalf("%d rollbacks succeeded, %d refused; want 1 and 7", okRB.Load(), already.Load())
		}
		v, _ := svc.GetVoucher(ctx, proj, "ONCE")
		if v.Redemption.RedeemedQuantity != 0 {
			t.Fatalf("redeemed_quantity %d after final rollback, want 0", v.Redemption.RedeemedQuantity)
		}
	})
}

// TestEventsCommitWithState: a redemption writes its events to the outbox
// in the same transaction; a refused one writes redemption.failed only.
func TestEventsCommitWithState(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		_, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "TEN", Type: promo.TypeDiscount,
			Discount: &promo.Discount{Type: "AMOUNT", AmountOff: ptr(int64(1000))}, Redemption: &promo.RedemptionLimit{Quantity: ptr(int64(1))}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := redeemOne(ctx, svc, "TEN", "michael", 5000, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := redeemOne(ctx, svc, "TEN", "michael", 5000, 0); core.ErrorKey(err) != promo.KeyQuantityExceeded {
			t.Fatalf("second redemption: %v", err)
		}
		types := outboxTypes(t, s)
		for typ, want := range map[string]int{"voucher.created": 1, "redemption.succeeded": 1, "customer.redemption.succeeded": 1, "redemption.failed": 1} {
			if types[typ] != want {
				t.Errorf("%d %s events, want %d (all: %v)", types[typ], typ, want, types)
			}
		}
	})
}

func outboxTypes(t *testing.T, s core.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for shard := range core.OutboxShards {
		pg, err := s.Query(context.Background(), core.Query{PK: fmt.Sprintf("%s#outbox#%02d", proj, shard), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range pg.Items {
			var ev core.Event
			if err := json.Unmarshal(it.Data, &ev); err != nil {
				t.Fatal(err)
			}
			for _, typ := range ev.Types() {
				out[typ]++
			}
		}
	}
	return out
}

func newServiceClock(s core.Store, clock core.Clock) *promo.Service { return app.New(s, clock).Promo }
