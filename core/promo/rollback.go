package promo

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/promorelay/promorelay/core"
)

// RollbackInput is the body of a rollback.
type RollbackInput struct {
	Reason     string         `json:"reason,omitempty"`
	TrackingID string         `json:"tracking_id,omitempty"`
	Metadata   map[string]any `json:"metadata,omitempty"`
}

// RollbackResult answers a rollback: one rollback per redemption undone, and
// for a stack the parent's rollback.
type RollbackResult struct {
	Rollbacks      []Redemption `json:"rollbacks"`
	ParentRollback *Redemption  `json:"parent_rollback,omitempty"`
}

// Rollback undoes a successful redemption exactly once: the code's usage
// count goes down by one and a gift card gets back what it paid. Rolling back
// a stack's parent undoes every child in one transaction; rolling back a
// child undoes only that one (a partial rollback of the stack).
func (s *Service) Rollback(ctx context.Context, p, id string, in RollbackInput) (RollbackResult, error) {
	if len(in.Reason) > 500 {
		return RollbackResult{}, core.Errorf(core.CodeInvalid, "reason longer than 500 characters")
	}
	for attempt := 0; ; attempt++ {
		res, ops, err := s.rollbackOps(ctx, p, id, in)
		if err != nil {
			return RollbackResult{}, err
		}
		err = s.commit(ctx, res, ops...)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || attempt >= 20 {
			return RollbackResult{}, err
		}
		// A redemption record changed under us (a concurrent rollback): look
		// again; the next look reports "already rolled back".
		if err := backoff(ctx, attempt); err != nil {
			return RollbackResult{}, err
		}
	}
}

func (s *Service) rollbackOps(ctx context.Context, p, id string, in RollbackInput) (RollbackResult, []core.Op, error) {
	var res RollbackResult
	it, err := s.getRedemptionItem(ctx, p, id)
	if err != nil {
		return res, nil, err
	}
	var r Redemption
	if err := json.Unmarshal(it.Data, &r); err != nil {
		return res, nil, err
	}
	if err := rollbackable(r); err != nil {
		return res, nil, err
	}
	targets := []core.Item{it}
	if r.RelatedObjectType == "redemption" && r.Related != nil { // a stack's parent
		targets = targets[:0]
		for _, ref := range r.Related.Redemptions {
			cit, err := s.getRedemptionItem(ctx, p, ref.ID)
			if err != nil {
				return res, nil, err
			}
			var child Redemption
			if err := json.Unmarshal(cit.Data, &child); err != nil {
				return res, nil, err
			}
			if child.Status == "SUCCEEDED" {
				targets = append(targets, cit)
			}
		}
	}
	now := s.now()
	var ops []core.Op
	var total int64
	st := stats{}
	countedOrder := map[string]bool{}
	for _, t := range targets {
		var red Redemption
		if err := json.Unmarshal(t.Data, &red); err != nil {
			return res, nil, err
		}
		rb := Redemption{ID: s.IDs.New("rr"), Object: "redemption_rollback", Date: now, CustomerID: red.CustomerID,
			TrackingID: firstNonEmpty(in.TrackingID, red.TrackingID), Metadata: in.Metadata, Amount: -red.Amount,
			Redemption: &red.ID, Result: "SUCCESS", Status: "SUCCEEDED", Reason: in.Reason, Order: red.Order,
			Channel: red.Channel, Customer: red.Customer, RelatedObjectType: red.RelatedObjectType, RelatedObjectID: red.RelatedObjectID, Voucher: red.Voucher}
		code := ""
		if red.Voucher != nil {
			code = red.Voucher.Code
			u := core.Update{Key: voucherKey(p, code), Adds: []core.Add{core.AddDownTo(numRedeemed, -1, 0), core.AddDownTo(numUsed, -1, 0)}, Conds: []core.Cond{core.IfExists()}}
			campaignID := red.Voucher.CampaignID
			if red.Gift != nil && red.Gift.Amount > 0 {
				cur, err := s.loadVoucher(ctx, p, code)
				if err != nil {
					return res, nil, err
				}
				// As for debits: the refund records the exact balance after it.
				u.Adds = append(u.Adds, core.AddBy(numBalance, red.Gift.Amount), core.AddBy(numAvailable, red.Gift.Amount))
				u.Conds = append(u.Conds, core.IfNum(numBalance, core.EQ, cur.v.Gift.Balance))
				rb.Gift = &RedemptionGift{Amount: -red.Gift.Amount}
				txop, err := s.giftTx(p, cur.v, TxCreditsRefund, red.Gift.Amount, cur.v.Gift.Balance+red.Gift.Amount, BalanceChange{Reason: in.Reason},
					TransactionDetails{Redemption: &IDRef{ID: red.ID}, Rollback: &IDRef{ID: rb.ID}, Order: orderRef(red.Order)})
				if err != nil {
					return res, nil, err
				}
				ops = append(ops, txop...)
				st.add(campaignID, statGiftRefunded, red.Gift.Amount)
			} else {
				st.add(campaignID, statRolledBackDiscount, red.Amount)
			}
			st.add(campaignID, statRolledBack, 1)
			if idx, err := s.Store.Get(ctx, core.Key{PK: voucherKey(p, code).PK, SK: "r#" + red.ID}); err == nil && len(idx.Data) > 0 {
				var counted countedCounters
				if err := json.Unmarshal(idx.Data, &counted); err != nil {
					return res, nil, err
				}
				ops = append(ops, counterOps(counted.Keys, counted.Exps, -1)...)
			} else if err != nil && !errors.Is(err, core.ErrNotFound) {
				return res, nil, err
			}
			if red.Order != nil && !countedOrder[campaignID] {
				countedOrder[campaignID] = true
				st.add(campaignID, statOrdersRolledBack, red.Order.Amount)
			}
			ops = append(ops, core.UpdateOp(u))
		}
		red.Status = "ROLLED_BACK"
		if red.Related == nil {
			red.Related = &RelatedRedemptions{}
		}
		red.Related.Rollbacks = append(red.Related.Rollbacks, RelatedRef{ID: rb.ID, Date: now})
		data, err := json.Marshal(red)
		if err != nil {
			return res, nil, err
		}
		// The version check makes the rollback happen exactly once.
		ops = append(ops, core.UpdateOp(core.Update{Key: t.Key, Data: data, Conds: []core.Cond{core.IfVersion(t.Version)}}))
		more, err := s.recordOps(p, rb, code)
		if err != nil {
			return res, nil, err
		}
		ops = append(ops, more...)
		res.Rollbacks = append(res.Rollbacks, rb)
		total += red.Amount
	}
	if len(targets) > 0 && targets[0].SK != it.SK { // the parent itself
		rb := Redemption{ID: s.IDs.New("rr"), Object: "redemption_rollback", Date: now, CustomerID: r.CustomerID,
			TrackingID: firstNonEmpty(in.TrackingID, r.TrackingID), Metadata: in.Metadata, Amount: -total, Redemption: &r.ID,
			Result: "SUCCESS", Status: "SUCCEEDED", Reason: in.Reason, Order: r.Order, Channel: r.Channel, Customer: r.Customer,
			RelatedObjectType: "redemption", RelatedObjectID: r.ID}
		r.Status = "ROLLED_BACK"
		r.Related.Rollbacks = append(r.Related.Rollbacks, RelatedRef{ID: rb.ID, Date: now})
		data, err := json.Marshal(r)
		if err != nil {
			return res, nil, err
		}
		ops = append(ops, core.UpdateOp(core.Update{Key: it.Key, Data: data, Conds: []core.Cond{core.IfVersion(it.Version)}}))
		more, err := s.recordOps(p, rb, "")
		if err != nil {
			return res, nil, err
		}
		ops = append(ops, more...)
		res.ParentRollback = &rb
	}
	if len(ops) == 0 {
		return res, nil, core.KeyedError(core.CodeInvalid, KeyAlreadyRolledBack, "redemption %s has nothing left to roll back", id)
	}
	return res, append(ops, st.ops(p, id)...), nil
}

func rollbackable(r Redemption) error {
	switch {
	case r.Object != "redemption":
		return core.Errorf(core.CodeInvalid, "%s is a rollback, not a redemption", r.ID)
	case r.Result != "SUCCESS":
		return core.KeyedError(core.CodeInvalid, "redemption_failed", "redemption %s failed; there is nothing to roll back", r.ID)
	case r.Status == "ROLLED_BACK":
		return core.KeyedError(core.CodeInvalid, KeyAlreadyRolledBack, "redemption %s is already rolled back", r.ID)
	}
	return nil
}
