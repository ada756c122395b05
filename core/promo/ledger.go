package promo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Campaign statistics live in statsShards items of the campaign's partition,
// each redemption adding to one chosen by its id: no single item takes every
// redemption of a busy campaign. A summary sums the shards.
const statsShards = 8

// Counters of a campaign's statistics items.
const (
	statRedeemed           = "redemptions_succeeded"
	statFailed             = "redemptions_failed"
	statRolledBack         = "rollbacks_succeeded"
	statOrders             = "orders_amount"
	statOrdersRolledBack   = "orders_rolledback_amount"
	statDiscounted         = "discounted_amount"
	statRolledBackDiscount = "rolledback_discounted_amount"
	statGiftPaid           = "amount_redeemed"
	statGiftRefunded       = "amount_rolledback"
	statGiftCreated        = "created_vouchers_amount"
	statGiftAdded          = "amount_added"
	statGiftSubtracted     = "amount_subtracted"
	statGiftDeleted        = "amount_deleted"
	statPublished          = "publications_succeeded"
	statDeleted            = "vouchers_deleted"
)

func statsKey(p, campaignID, seed string) core.Key {
	return core.Key{PK: campaignKey(p, campaignID).PK, SK: fmt.Sprintf("stats#%d", shardOf(seed, statsShards))}
}

// stats accumulates counter changes per campaign for one transaction (one
// update per campaign: a transaction may not touch an item twice).
type stats map[string]map[string]int64

func (st stats) add(campaignID, counter string, n int64) {
	if campaignID == "" || n == 0 {
		return
	}
	if st[campaignID] == nil {
		st[campaignID] = map[string]int64{}
	}
	st[campaignID][counter] += n
}

func (st stats) ops(p, seed string) []core.Op {
	var ops []core.Op
	for id, adds := range st {
		u := core.Update{Key: statsKey(p, id, seed)}
		for name, n := range adds {
			u.Adds = append(u.Adds, core.AddBy(name, n))
		}
		ops = append(ops, core.UpdateOp(u))
	}
	return ops
}

// codesAddedOps count n new codes of a campaign: its code counter and, for
// gift cards of giftAmount each, the value created.
func codesAddedOps(p, campaignID string, n, giftAmount int64, seed string) []core.Op {
	ops := []core.Op{core.UpdateOp(core.Update{Key: campaignKey(p, campaignID), Adds: []core.Add{core.AddBy("vouchers", n)}, Conds: []core.Cond{core.IfExists()}})}
	st := stats{}
	st.add(campaignID, statGiftCreated, n*giftAmount)
	return append(ops, st.ops(p, seed)...)
}

func giftAmount(v Voucher) int64 {
	if v.Gift == nil {
		return 0
	}
	return v.Gift.Amount
}

// CampaignSummary is Voucherify's campaign summary (validations are not
// counted: counting them would turn every read-only validation into a write).
type CampaignSummary struct {
	Object                     string   `json:"object"` // campaign_summary
	Campaign                   Campaign `json:"campaign"`
	Redemptions                int64    `json:"redemptions"`
	RedemptionsSucceeded       int64    `json:"redemptions_succeeded"`
	RedemptionsFailed          int64    `json:"redemptions_failed"`
	Rollbacks                  int64    `json:"rollbacks"`
	RollbacksSucceeded         int64    `json:"rollbacks_succeeded"`
	RollbacksFailed            int64    `json:"rollbacks_failed"`
	OrdersAmount               int64    `json:"orders_amount"`
	OrdersRolledbackAmount     int64    `json:"orders_rolledback_amount"`
	VouchersCreated            int64    `json:"vouchers_created"`
	VouchersDeleted            int64    `json:"vouchers_deleted"`
	Publications               int64    `json:"publications"`
	PublicationsSucceeded      int64    `json:"publications_succeeded"`
	PublicationsFailed         int64    `json:"publications_failed"`
	DiscountedAmount           int64    `json:"discounted_amount"`
	RolledbackDiscountedAmount int64    `json:"rolledback_discounted_amount"`
	// Gift card campaigns (Voucherify's gift summary), in cents.
	CreatedVouchersAmount int64 `json:"created_vouchers_amount"`
	AmountAdded           int64 `json:"amount_added"`
	AmountDeleted         int64 `json:"amount_deleted"`
	AmountRedeemed        int64 `json:"amount_redeemed"`
	AmountRolledback      int64 `json:"amount_rolledback"`
	AmountSubtracted      int64 `json:"amount_subtracted"`
}

// Summary returns a campaign's counters.
func (s *Service) Summary(ctx context.Context, p, idOrName string) (CampaignSummary, error) {
	c, err := s.GetCampaign(ctx, p, idOrName)
	if err != nil {
		return CampaignSummary{}, err
	}
	keys := make([]core.Key, statsShards)
	for i := range keys {
		keys[i] = core.Key{PK: campaignKey(p, c.ID).PK, SK: fmt.Sprintf("stats#%d", i)}
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return CampaignSummary{}, err
	}
	sum := map[string]int64{}
	for _, it := range items {
		for k, v := range it.Nums {
			sum[k] += v
		}
	}
	out := CampaignSummary{
		Object: "campaign_summary", Campaign: c,
		RedemptionsSucceeded: sum[statRedeemed], RedemptionsFailed: sum[statFailed],
		RollbacksSucceeded: sum[statRolledBack], OrdersAmount: sum[statOrders], OrdersRolledbackAmount: sum[statOrdersRolledBack],
		VouchersDeleted: sum[statDeleted], PublicationsSucceeded: sum[statPublished],
		DiscountedAmount: sum[statDiscounted], RolledbackDiscountedAmount: sum[statRolledBackDiscount],
		CreatedVouchersAmount: sum[statGiftCreated], AmountAdded: sum[statGiftAdded], AmountDeleted: sum[statGiftDeleted],
		AmountRedeemed: sum[statGiftPaid], AmountRolledback: sum[statGiftRefunded], AmountSubtracted: sum[statGiftSubtracted],
	}
	out.Redemptions = out.RedemptionsSucceeded + out.RedemptionsFailed
	out.Rollbacks = out.RollbacksSucceeded
	out.Publications = out.PublicationsSucceeded
	out.VouchersCreated = c.VouchersCount + out.VouchersDeleted
	return out, nil
}

// Gift card transaction types (Voucherify's).
const (
	TxCreditsRemoval    = "CREDITS_REMOVAL"    // a manual subtraction
	TxCreditsRedemption = "CREDITS_REDEMPTION" // paid by a redemption
	TxCreditsAddition   = "CREDITS_ADDITION"
	TxCreditsRefund     = "CREDITS_REFUND"
)

// Transaction is one change of a gift card's balance.
type Transaction struct {
	ID                   string             `json:"id"`
	SourceID             *string            `json:"source_id"`
	VoucherID            string             `json:"voucher_id"`
	CampaignID           *string            `json:"campaign_id"`
	Source               *string            `json:"source"` // "API" for manual changes; null for redemptions
	Reason               *string            `json:"reason"`
	Type                 string             `json:"type"`
	Details              TransactionDetails `json:"details"`
	RelatedTransactionID *string            `json:"related_transaction_id"`
	CreatedAt            time.Time          `json:"created_at"`
}

// TransactionDetails says what changed and why.
type TransactionDetails struct {
	Balance    TransactionBalance `json:"balance"`
	Order      *IDRef             `json:"order,omitempty"`
	Redemption *IDRef             `json:"redemption,omitempty"`
	Rollback   *IDRef             `json:"rollback,omitempty"`
}

// TransactionBalance is the card's balance after the change.
type TransactionBalance struct {
	Type          string `json:"type"` // gift_voucher
	Total         int64  `json:"total"`
	Amount        int64  `json:"amount"` // the change, negative for a debit
	Object        string `json:"object"` // balance
	Balance       int64  `json:"balance"`
	RelatedObject IDRef  `json:"related_object"`
}

// IDRef names an object.
type IDRef struct {
	ID       string `json:"id"`
	Type     string `json:"type,omitempty"`
	SourceID string `json:"source_id,omitempty"`
}

// giftTx builds a transaction record of v after a change of amount that
// leaves balance; it is stored in the code's partition.
// campaignTxShards spreads a campaign's transaction log over partitions.
const campaignTxShards = 4

func campaignTxPartition(p, campaignID string, shard int) string {
	return fmt.Sprintf("%s#camp#%s#tx#%d", p, campaignID, shard)
}

// giftTx returns the writes of a transaction record: in the code's
// partition, and for campaign codes in the campaign's log too.
func (s *Service) giftTx(p string, v Voucher, typ string, amount, balance int64, change BalanceChange, d TransactionDetails) ([]core.Op, error) {
	tx := Transaction{ID: s.IDs.New("vtx"), VoucherID: v.ID, Type: typ, CreatedAt: s.now(), Details: d}
	reason := change.Reason
	if typ == TxCreditsAddition || typ == TxCreditsRemoval {
		src := "API"
		tx.Source = &src
	}
	if change.SourceID != "" {
		tx.SourceID = &change.SourceID
	}
	if v.CampaignID != "" {
		tx.CampaignID = &v.CampaignID
	}
	if reason != "" {
		tx.Reason = &reason
	}
	tx.Details.Balance = TransactionBalance{Type: "gift_voucher", Total: v.Gift.Amount, Amount: amount, Object: "balance",
		Balance: balance, RelatedObject: IDRef{ID: v.ID, Type: "voucher"}}
	data, err := json.Marshal(tx)
	if err != nil {
		return nil, err
	}
	ops := []core.Op{core.Put(core.Item{Key: core.Key{PK: voucherKey(p, v.Code).PK, SK: "t#" + tx.ID}, Version: 1, Data: data})}
	if v.CampaignID != "" {
		ops = append(ops, core.Put(core.Item{Key: core.Key{PK: campaignTxPartition(p, v.CampaignID, shardOf(tx.ID, campaignTxShards)), SK: tx.ID}, Version: 1, Data: data}))
	}
	return ops, nil
}

// ListCampaignTransactions lists the balance changes of all of a campaign's
// gift cards, newest first, merging its log's shards.
func (s *Service) ListCampaignTransactions(ctx context.Context, p, idOrName string, limit int, cursor string) ([]Transaction, string, error) {
	c, err := s.GetCampaign(ctx, p, idOrName)
	if err != nil {
		return nil, "", err
	}
	parts := make([]string, campaignTxShards)
	for i := range parts {
		parts[i] = campaignTxPartition(p, c.ID, i)
	}
	items, next, err := core.MergeNewest(ctx, s.Store, parts, clampLimit(limit), cursor, nil)
	if err != nil {
		return nil, "", err
	}
	out := make([]Transaction, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it.Data, &out[i]); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// ListTransactions lists a gift card's balance changes, newest first.
func (s *Service) ListTransactions(ctx context.Context, p, code string, limit int, cursor string) ([]Transaction, string, error) {
	if _, err := s.loadVoucher(ctx, p, code); err != nil {
		return nil, "", err
	}
	pg, err := s.Store.Query(ctx, core.Query{PK: voucherKey(p, code).PK, Prefix: "t#", Reverse: true, Limit: clampLimit(limit), Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]Transaction, 0, len(pg.Items))
	for _, it := range pg.Items {
		var tx Transaction
		if err := json.Unmarshal(it.Data, &tx); err != nil {
			return nil, "", err
		}
		out = append(out, tx)
	}
	return out, pg.Next, nil
}
