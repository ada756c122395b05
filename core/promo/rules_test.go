package promo_test

import (
	"context"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/core/promo/rules"
	"github.com/promorelay/promorelay/internal/enginetest"
)

// TestRulesGateRedemption: a campaign rule "order ≥ $50 and at most one
// redemption per customer" refuses a small order and a second redemption,
// names the rule and the reason, and a rollback gives the customer's use back.
func TestRulesGateRedemption(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		rule, err := svc.CreateRule(ctx, proj, []byte(`{"name":"Big orders, once each","rules":{
			"1":{"name":"order.amount","conditions":{"$more_than_or_equal":[5000]},"rules":{}},
			"2":{"name":"campaign.redemptions.count.per_customer","conditions":{"$less_than_or_equal":[1]},"rules":{}},
			"logic":"1 and 2"}}`))
		if err != nil {
			t.Fatal(err)
		}
		c, err := svc.CreateCampaign(ctx, proj, promo.CampaignInput{Name: "Spring", CampaignType: promo.CampaignDiscountCoupons,
			Voucher: promo.CampaignVoucher{Discount: &promo.Discount{Type: "AMOUNT", AmountOff: ptr(int64(1000))}}, VouchersCount: 3,
			ValidationRules: []string{rule.ID}})
		if err != nil {
			t.Fatal(err)
		}
		pg, err := svc.ListVouchers(ctx, proj, c.ID, 10, "")
		if err != nil || len(pg.Vouchers) != 3 {
			t.Fatalf("codes: %v %v", pg.Vouchers, err)
		}
		a, b := pg.Vouchers[0].Code, pg.Vouchers[1].Code
		val, err := svc.Validate(ctx, proj, promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: a}},
			Order: &promo.Order{Amount: 4000}, Customer: &promo.Customer{SourceID: "michael"}})
		if err != nil {
			t.Fatal(err)
		}
		if val.Valid {
			t.Fatal("a $40 order passed a $50 minimum")
		}
		e := val.InapplicableRedeemables[0].Result.Error
		if e.Key != rules.ViolatedKey || e.RuleID != rule.ID || e.Reason != "order_amount_too_low" {
			t.Fatalf("failure %+v, want redemption_rules_violated naming %s with order_amount_too_low", e, rule.ID)
		}
		first, err := redeemOne(ctx, svc, a, "michael", 6000, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = redeemOne(ctx, svc, b, "michael", 6000, 0)
		if core.ErrorKey(err) != rules.ViolatedKey {
			t.Fatalf("second redemption in the campaign: %v, want %s", err, rules.ViolatedKey)
		}
		if _, err := redeemOne(ctx, svc, b, "dwight", 6000, 0); err != nil {
			t.Fatalf("another customer: %v", err)
		}
		if _, err := svc.Rollback(ctx, proj, first.Redemptions[0].ID, promo.RollbackInput{Reason: "returned"}); err != nil {
			t.Fatal(err)
		}
		if _, err := redeemOne(ctx, svc, pg.Vouchers[2].Code, "michael", 6000, 0); err != nil {
			t.Fatalf("after the rollback the customer's use is back: %v", err)
		}
		sum, err := svc.Summary(ctx, proj, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sum.RedemptionsSucceeded != 3 || sum.RedemptionsFailed != 1 || sum.RollbacksSucceeded != 1 ||
			sum.DiscountedAmount != 3000 || sum.RolledbackDiscountedAmount != 1000 || sum.OrdersAmount != 18000 || sum.VouchersCreated != 3 {
			t.Fatalf("summary %+v", sum)
		}
		asg, _, err := svc.ListAssignments(ctx, proj, rule.ID, 10, "")
		if err != nil || len(asg) != 1 || asg[0].RelatedObjectID != c.ID {
			t.Fatalf("assignments %+v %v", asg, err)
		}
	})
}

// TestGiftTransactionsRecordExactBalances: debits, a refund and a top-up each
// record the balance after them.
func TestGiftTransactionsRecordExactBalances(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		if _, err := svc.CreateVoucher(ctx, proj, promo.VoucherInput{Code: "CARD", Type: promo.TypeGift, Gift: &promo.Gift{Amount: 2500}}); err != nil {
			t.Fatal(err)
		}
		r1, err := redeemOne(ctx, svc, "CARD", "michael", 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := redeemOne(ctx, svc, "CARD", "michael", 5000, 700); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Rollback(ctx, proj, r1.Redemptions[0].ID, promo.RollbackInput{}); err != nil {
			t.Fatal(err)
		}
		v, err := svc.AddBalance(ctx, proj, "CARD", promo.BalanceChange{Amount: 500})
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance != 2300 || v.Total != 3000 || v.Amount != 500 {
			t.Fatalf("balance %+v, want +500 → 2300 of 3000", v)
		}
		txs, _, err := svc.ListTransactions(ctx, proj, "CARD", 10, "")
		if err != nil {
			t.Fatal(err)
		}
		type step struct {
			typ             string
			amount, balance int64
		}
		want := []step{{promo.TxCreditsAddition, 500, 2300}, {promo.TxCreditsRefund, 1000, 1800}, {promo.TxCreditsRedemption, -700, 800}, {promo.TxCreditsRedemption, -1000, 1500}}
		if len(txs) != len(want) {
			t.Fatalf("%d transactions, want %d", len(txs), len(want))
		}
		for i, w := range want {
			b := txs[i].Details.Balance
			if txs[i].Type != w.typ || b.Amount != w.amount || b.Balance != w.balance {
				t.Errorf("transaction %d: %s %d → %d, want %s %d → %d", i, txs[i].Type, b.Amount, b.Balance, w.typ, w.amount, w.balance)
			}
		}
	})
}

// TestCampaignTransactionsMergeShards: a campaign's log lists every card's
// balance changes newest first across pages.
func TestCampaignTransactionsMergeShards(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		ctx := context.Background()
		svc := newService(s)
		c := staticCampaign(t, svc, "Cards", 6, false)
		pg, err := svc.ListVouchers(ctx, proj, c.ID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range pg.Vouchers {
			for range 2 {
				if _, err := redeemOne(ctx, svc, v.Code, "", int64(100+i), 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		var all []promo.Transaction
		cursor := ""
		for pages := 0; ; pages++ {
			txs, next, err := svc.ListCampaignTransactions(ctx, proj, c.ID, 5, cursor)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, txs...)
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			cursor = next
		}
		if len(all) != 12 {
			t.Fatalf("%d transactions, want 12", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i-1].ID <= all[i].ID {
				t.Fatalf("not newest first at %d: %s then %s", i, all[i-1].ID, all[i].ID)
			}
		}
	})
}
