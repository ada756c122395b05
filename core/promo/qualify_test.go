package promo_test

import (
	"context"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestQualifyRanksApplicableRedeemables(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		mk := func(in promo.VoucherInput) {
			t.Helper()
			if _, err := svc.CreateVoucher(ctx, proj, in); err != nil {
				t.Fatal(err)
			}
		}
		pct := func(p float64) *promo.Discount { return &promo.Discount{Type: "PERCENT", PercentOff: &p} }
		amt := func(a int64) *promo.Discount { return &promo.Discount{Type: "AMOUNT", AmountOff: &a} }
		mk(promo.VoucherInput{Code: "TEN-PERCENT", Type: promo.TypeDiscount, Discount: pct(10)})
		mk(promo.VoucherInput{Code: "FIVE-OFF", Type: promo.TypeDiscount, Discount: amt(500)})
		mk(promo.VoucherInput{Code: "DISABLED", Type: promo.TypeDiscount, Discount: amt(3000), Active: ptr(false)})
		past := time.Now().Add(-time.Hour)
		mk(promo.VoucherInput{Code: "EXPIRED", Type: promo.TypeDiscount, Discount: amt(3000), Validity: promo.Validity{ExpirationDate: &past}})
		gifts := staticCampaign(t, svc, "Gift cards", 2, false)
		if _, err := svc.Publish(ctx, proj, promo.PublishInput{Campaign: gifts.ID, Customer: customer.Ref{SourceID: "michael"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Publish(ctx, proj, promo.PublishInput{Campaign: gifts.ID, Customer: customer.Ref{SourceID: "dwight"}}); err != nil {
			t.Fatal(err)
		}
		_, err := svc.CreateCampaign(ctx, proj, promo.CampaignInput{Name: "Twenty", CampaignType: promo.CampaignDiscountCoupons,
			Voucher: promo.CampaignVoucher{Discount: pct(20)}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Qualify(ctx, proj, promo.QualifyInput{Customer: &promo.Customer{SourceID: "michael"},
			Order: &promo.Order{Amount: 4000}, Options: &promo.QualifyOptions{Limit: 10}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, q := range res.Redeemables.Data {
			got = append(got, q.Object+":"+q.CampaignName+q.ID)
		}
		// Michael's gift card (2500) beats the campaign's 20% (800), $5 (500) and 10% (400);
		// disabled and expired codes and Dwight's card are not offered; the
		// static gift campaign has no code left.
		if len(got) != 4 || res.Redeemables.Total != 4 {
			t.Fatalf("qualified %v (total %d), want 4", got, res.Redeemables.Total)
		}
		d := res.Redeemables.Data
		if d[0].Object != "voucher" || d[0].Result.Gift == nil || d[0].Result.Gift.Credits != 2500 {
			t.Fatalf("first: %+v, want Michael's gift card paying 2500", d[0])
		}
		if d[1].Object != "campaign" || d[1].Name != "Twenty" || d[2].ID != "FIVE-OFF" || d[3].ID != "TEN-PERCENT" {
			t.Fatalf("order %v, want gift, Twenty, FIVE-OFF, TEN-PERCENT", got)
		}
		if d[1].Order.TotalAmount != 3200 {
			t.Fatalf("campaign's order total %d, want 3200", d[1].Order.TotalAmount)
		}
		// The wallet scenario shows only Michael's own code; limit 2 says there is more.
		w, err := svc.Qualify(ctx, proj, promo.QualifyInput{Customer: &promo.Customer{SourceID: "michael"}, Scenario: promo.ScenarioCustomerWallet})
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Redeemables.Data) != 1 || w.Redeemables.Data[0].Result.Gift == nil {
			t.Fatalf("wallet: %+v", w.Redeemables.Data)
		}
		l, err := svc.Qualify(ctx, proj, promo.QualifyInput{Order: &promo.Order{Amount: 4000}, Options: &promo.QualifyOptions{Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Redeemables.Data) != 2 || !l.Redeemables.HasMore {
			t.Fatalf("limit 2: %d items, has_more %v", len(l.Redeemables.Data), l.Redeemables.HasMore)
		}
		if _, err := svc.Qualify(ctx, proj, promo.QualifyInput{Scenario: "PRODUCTS_BY_CUSTOMER"}); core.ErrorCode(err) != core.CodeInvalid {
			t.Fatalf("unknown scenario: %v", err)
		}
	})
}

// TestListRedemptionsByDateCampaignResult: the project's day logs list every
// redemption newest first, narrowed by campaign and result, across pages.
func TestListRedemptionsByDateCampaignResult(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		c := staticCampaign(t, svc, "Listed", 3, false)
		pg, err := svc.ListVouchers(ctx, proj, c.ID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "SOLO", Type: promo.TypeDiscount,
			Discount: &promo.Discount{Type: "AMOUNT", AmountOff: ptr(int64(100))}, Redemption: &promo.RedemptionLimit{Quantity: ptr(int64(2))}}); err != nil {
			t.Fatal(err)
		}
		for _, v := range pg.Vouchers {
			if _, err := redeemOne(ctx, svc, v.Code, "", 1000, 0); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 { // the third fails: quantity 2
			_, _ = redeemOne(ctx, svc, "SOLO", "", 1000, 0)
		}
		all := func(f promo.RedemptionFilter) []promo.Redemption {
			t.Helper()
			var out []promo.Redemption
			for pages := 0; ; pages++ {
				rs, next, err := svc.ListRedemptions(ctx, proj, f)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, rs...)
				if next == "" || pages > 20 {
					return out
				}
				f.Cursor = next
			}
		}
		everything := all(promo.RedemptionFilter{Limit: 2})
		if len(everything) != 6 {
			t.Fatalf("%d redemptions listed by date, want 6", len(everything))
		}
		for i := 1; i < len(everything); i++ {
			if everything[i-1].ID <= everything[i].ID {
				t.Fatalf("not newest first: %s then %s", everything[i-1].ID, everything[i].ID)
			}
		}
		if got := all(promo.RedemptionFilter{Campaign: c.ID, Limit: 2}); len(got) != 3 {
			t.Fatalf("%d redemptions of the campaign, want 3", len(got))
		}
		if got := all(promo.RedemptionFilter{Result: "FAILURE"}); len(got) != 1 || got[0].FailureCode != promo.KeyQuantityExceeded {
			t.Fatalf("failures %+v, want the one quantity_exceeded", got)
		}
		if _, _, err := svc.ListRedemptions(ctx, proj, promo.RedemptionFilter{After: time.Now().Add(-60 * 24 * time.Hour)}); core.ErrorCode(err) != core.CodeInvalid {
			t.Fatalf("a 60-day range: %v, want invalid", err)
		}
	})
}
