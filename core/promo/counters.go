package promo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/promo/rules"
)

// Redemption counters for validation rules. They are kept only where a rule
// that reads them is assigned (Needs), so a code without such rules costs no
// extra writes; a rule assigned later counts from then on. Periods are UTC
// days, ISO weeks and months; period items expire after their period.
//
// Totals that exist anyway come from elsewhere: a code's redemptions from its
// own counter, a campaign's totals from its statistics shards.

const numCount = "n"

type counterSlot struct {
	key core.Key
	exp int64 // time-to-live, 0 for totals
	set func(*rules.Counters, int64)
}

func periods(now time.Time) (day, week, month string, dayEnd, weekEnd, monthEnd int64) {
	y, w := now.ISOWeek()
	day = now.Format("2006-01-02")
	week = fmt.Sprintf("%d-W%02d", y, w)
	month = now.Format("2006-01")
	// Keep a period's item a little past its end (reads only look at the
	// current period, so the margin only guards clock skew).
	dayEnd = now.Truncate(24 * time.Hour).Add(48 * time.Hour).Unix()
	weekEnd = now.Add(9 * 24 * time.Hour).Unix()
	monthEnd = now.AddDate(0, 1, 2).Unix()
	return
}

// counterSlots lists the counter items the needs ask for.
func counterSlots(p string, v Voucher, customerID string, n rules.Needs, now time.Time) []counterSlot {
	day, week, month, dEnd, wEnd, mEnd := periods(now)
	var out []counterSlot
	family := func(pk, prefix string, total, d, w, m bool, fTotal, fD, fW, fM func(*rules.Counters, int64)) {
		if total && fTotal != nil {
			out = append(out, counterSlot{key: core.Key{PK: pk, SK: prefix}, set: fTotal})
		}
		if d {
			out = append(out, counterSlot{key: core.Key{PK: pk, SK: prefix + "#d#" + day}, exp: dEnd, set: fD})
		}
		if w {
			out = append(out, counterSlot{key: core.Key{PK: pk, SK: prefix + "#w#" + week}, exp: wEnd, set: fW})
		}
		if m {
			out = append(out, counterSlot{key: core.Key{PK: pk, SK: prefix + "#m#" + month}, exp: mEnd, set: fM})
		}
	}
	vpk := voucherKey(p, v.Code).PK
	family(vpk, "cnt", false, n.CodeRedemptionsToday, n.CodeRedemptionsThisWeek, n.CodeRedemptionsThisMonth, nil,
		func(c *rules.Counters, x int64) { c.CodeRedemptionsToday = x },
		func(c *rules.Counters, x int64) { c.CodeRedemptionsThisWeek = x },
		func(c *rules.Counters, x int64) { c.CodeRedemptionsThisMonth = x })
	if customerID != "" {
		cpk := customer.Partition(p, customerID)
		family(cpk, "cnt#v#"+v.Code, n.CustomerRedemptionsOfCode, n.CustomerRedemptionsOfCodeToday, n.CustomerRedemptionsOfCodeThisWeek, n.CustomerRedemptionsOfCodeThisMonth,
			func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCode = x },
			func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCodeToday = x },
			func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCodeThisWeek = x },
			func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCodeThisMonth = x })
		if v.CampaignID != "" {
			family(cpk, "cnt#c#"+v.CampaignID, n.CustomerRedemptionsOfCampaign, n.CustomerRedemptionsOfCampaignToday, n.CustomerRedemptionsOfCampaignThisWeek, n.CustomerRedemptionsOfCampaignThisMonth,
				func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCampaign = x },
				func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCampaignToday = x },
				func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCampaignThisWeek = x },
				func(c *rules.Counters, x int64) { c.CustomerRedemptionsOfCampaignThisMonth = x })
		}
	}
	if v.CampaignID != "" {
		family(campaignKey(p, v.CampaignID).PK, "cnt", false, n.CampaignRedemptionsToday, n.CampaignRedemptionsThisWeek, n.CampaignRedemptionsThisMonth, nil,
			func(c *rules.Counters, x int64) { c.CampaignRedemptionsToday = x },
			func(c *rules.Counters, x int64) { c.CampaignRedemptionsThisWeek = x },
			func(c *rules.Counters, x int64) { c.CampaignRedemptionsThisMonth = x })
	}
	return out
}

// ruleContext is what evaluating one redeemable's rules needs.
type ruleContext struct {
	rules []rules.Rule
	needs rules.Needs
	slots []counterSlot
}

// prepareRules loads the rules of a code and its campaign and reads the
// counters they need.
func (s *Service) prepareRules(ctx context.Context, p string, v Voucher, it core.Item, c *Campaign, customerID string, now time.Time) (*ruleContext, *rules.Counters, error) {
	ids := append([]string(nil), v.ValidationRules...)
	if c != nil {
		ids = append(ids, c.ValidationRules...)
	}
	rs, err := s.loadRules(ctx, p, ids)
	if err != nil || len(rs) == 0 {
		return nil, nil, err
	}
	rc := &ruleContext{rules: rs, needs: rules.CountersNeeded(rs)}
	var counters rules.Counters
	if !rc.needs.AnyCounter() {
		return rc, &counters, nil
	}
	counters.CodeRedemptions = it.Num(numRedeemed)
	if c != nil && (rc.needs.CampaignRedemptions || rc.needs.CampaignDiscounted || rc.needs.CampaignOrderValue) {
		sum, err := s.Summary(ctx, p, c.ID)
		if err != nil {
			return nil, nil, err
		}
		counters.CampaignRedemptions = sum.RedemptionsSucceeded - sum.RollbacksSucceeded
		counters.CampaignDiscounted = sum.DiscountedAmount + sum.AmountRedeemed - sum.RolledbackDiscountedAmount - sum.AmountRolledback
		counters.CampaignOrderValue = sum.OrdersAmount - sum.OrdersRolledbackAmount
	}
	rc.slots = counterSlots(p, v, customerID, rc.needs, now)
	if len(rc.slots) > 0 {
		keys := make([]core.Key, len(rc.slots))
		for i, sl := range rc.slots {
			keys[i] = sl.key
		}
		items, err := s.Store.BatchGet(ctx, keys)
		if err != nil {
			return nil, nil, err
		}
		for _, sl := range rc.slots {
			sl.set(&counters, items[sl.key].Num(numCount))
		}
	}
	return rc, &counters, nil
}

// counterOps add delta to every counter slot (+1 on redemption, -1 on rollback).
func counterOps(keys []core.Key, exps []int64, delta int64) []core.Op {
	ops := make([]core.Op, 0, len(keys))
	for i, k := range keys {
		u := core.Update{Key: k, Adds: []core.Add{core.AddBy(numCount, delta)}}
		if exps[i] != 0 {
			exp := exps[i]
			u.ExpiresAt = &exp
		}
		ops = append(ops, core.UpdateOp(u))
	}
	return ops
}

// ruleInput turns the request into the rules' view of it.
func ruleInput(in StackInput, cust customer.Profile, v Voucher, discount int64, now time.Time, counters rules.Counters) rules.Context {
	rc := rules.Context{Now: now, Counters: counters}
	rc.Customer = rules.Customer{ID: cust.ID, SourceID: cust.SourceID, Segments: cust.Segments, Metadata: cust.Metadata,
		IsHolder: cust.ID != "" && v.HolderID == cust.ID}
	if in.Order != nil {
		o := in.Order
		rc.Order = rules.Order{Amount: o.Amount, InitialAmount: o.InitialAmount}
		if rc.Order.InitialAmount == 0 {
			rc.Order.InitialAmount = o.Amount
		}
		if len(o.Metadata) > 0 {
			_ = json.Unmarshal(o.Metadata, &rc.Order.Metadata)
		}
		for _, it := range o.Items {
			ri := rules.Item{ProductID: it.ProductID, SKUID: it.SKUID, Quantity: it.Quantity, Price: it.Price, Amount: it.Amount}
			if it.Product != nil {
				ri.ProductSourceID = it.Product.SourceID
				if ri.ProductID == "" {
					ri.ProductID = it.Product.ID
				}
			}
			if it.SKU != nil {
				ri.SKUSourceID = it.SKU.SourceID
				if ri.SKUID == "" {
					ri.SKUID = it.SKU.ID
				}
			}
			if it.RelatedObject == "sku" && ri.SKUSourceID == "" {
				ri.SKUSourceID = it.SourceID
			} else if ri.ProductSourceID == "" {
				ri.ProductSourceID = it.SourceID
			}
			if len(it.Metadata) > 0 {
				_ = json.Unmarshal(it.Metadata, &ri.Metadata)
			}
			rc.Order.Items = append(rc.Order.Items, ri)
		}
	}
	rc.Redemption = rules.Redemption{Metadata: in.Metadata, Discount: discount}
	return rc
}
