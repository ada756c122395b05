package promo

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/codegen"
)

// VoucherID is a code's voucher id: "v_" and the code in base32, so an id
// names its code without an index item (no extra write per code).
func VoucherID(code string) string {
	return "v_" + strings.ToLower(b32.EncodeToString([]byte(code)))
}

// CodeOfVoucherID returns the code a voucher id names.
func CodeOfVoucherID(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, "v_")
	if !ok {
		return "", false
	}
	b, err := b32.DecodeString(strings.ToUpper(rest))
	if err != nil || ValidateCode(string(b)) != nil {
		return "", false
	}
	return string(b), true
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ValidateCode reports whether code can be stored (codegen's one rule).
func ValidateCode(code string) error {
	if err := codegen.ValidCode(code); err != nil {
		return core.Errorf(core.CodeInvalid, "%v", err)
	}
	return nil
}

// VoucherInput is what creating a code takes (Voucherify's create voucher body).
type VoucherInput struct {
	Code            string           `json:"code,omitempty"`
	Campaign        string           `json:"campaign,omitempty"` // name or id
	CampaignID      string           `json:"campaign_id,omitempty"`
	Category        string           `json:"category,omitempty"`
	Type            string           `json:"type"`
	Discount        *Discount        `json:"discount,omitempty"`
	Gift            *Gift            `json:"gift,omitempty"`
	Redemption      *RedemptionLimit `json:"redemption,omitempty"`
	CodeConfig      *CodeConfig      `json:"code_config,omitempty"`
	Active          *bool            `json:"active,omitempty"`
	AdditionalInfo  string           `json:"additional_info,omitempty"`
	Metadata        map[string]any   `json:"metadata,omitempty"`
	ValidationRules []string         `json:"validation_rules,omitempty"`
	Validity
}

func (in VoucherInput) validate() error {
	var probs []string
	switch in.Type {
	case TypeDiscount:
		if in.Discount == nil {
			probs = append(probs, "discount is required for a DISCOUNT_VOUCHER")
		} else if err := ValidateDiscount(*in.Discount); err != nil {
			probs = append(probs, core.ErrorMessage(err))
		}
		if in.Gift != nil {
			probs = append(probs, "gift is only for a GIFT_VOUCHER")
		}
	case TypeGift:
		if in.Gift == nil || in.Gift.Amount <= 0 {
			probs = append(probs, "gift.amount must be a positive number of cents for a GIFT_VOUCHER")
		}
		if in.Discount != nil {
			probs = append(probs, "discount is only for a DISCOUNT_VOUCHER")
		}
	case "":
		probs = append(probs, "type is required: DISCOUNT_VOUCHER or GIFT_VOUCHER")
	default:
		probs = append(probs, fmt.Sprintf("type %q: want DISCOUNT_VOUCHER or GIFT_VOUCHER", in.Type))
	}
	if in.Redemption != nil && in.Redemption.Quantity != nil && *in.Redemption.Quantity < 1 {
		probs = append(probs, "redemption.quantity must be at least 1 (omit it for unlimited)")
	}
	if in.StartDate != nil && in.ExpirationDate != nil && !in.ExpirationDate.After(*in.StartDate) {
		probs = append(probs, "expiration_date must be after start_date")
	}
	if err := validateValidity(in.Validity); err != nil {
		probs = append(probs, core.ErrorMessage(err))
	}
	return joinProblems(probs)
}

func joinProblems(probs []string) error {
	if len(probs) == 0 {
		return nil
	}
	msg := probs[0]
	for _, p := range probs[1:] {
		msg += "; " + p
	}
	return core.Errorf(core.CodeInvalid, "%s", msg)
}

// newVoucher builds a voucher from input (and its campaign's template).
func (s *Service) newVoucher(in VoucherInput, code string, c *Campaign) Voucher {
	now := s.now()
	v := Voucher{
		ID: VoucherID(code), Code: code, Category: in.Category, Type: in.Type,
		Discount: in.Discount, Gift: in.Gift, Validity: in.Validity,
		Active: in.Active == nil || *in.Active, AdditionalInfo: in.AdditionalInfo,
		Metadata: in.Metadata, ValidationRules: in.ValidationRules, CreatedAt: now, Object: "voucher",
	}
	if in.Redemption != nil {
		v.Redemption.Quantity = in.Redemption.Quantity
	}
	if c != nil {
		v.Campaign, v.CampaignID = c.Name, c.ID
	}
	if v.Gift != nil {
		g := *v.Gift
		g.Balance, g.SubtractedAmount = g.Amount, 0
		v.Gift = &g
	}
	v.decorate()
	return v
}

// voucherOps are the writes that create v: the code (unique), its list
// entry, and for campaign codes its place in the campaign's free pool.
func voucherOps(p string, v Voucher) ([]core.Op, error) {
	body := v
	body.Redemption.RedeemedQuantity, body.Publish.Count = 0, 0
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	nums := map[string]int64{numRedeemed: 0, numUsed: 0}
	if v.Gift != nil {
		nums[numBalance] = v.Gift.Amount
		nums[numAvailable] = v.Gift.Amount
	}
	ops := []core.Op{
		core.Put(core.Item{Key: voucherKey(p, v.Code), Version: 1, Data: data, Nums: nums}, core.IfNotExists()),
		core.Put(core.Item{Key: voucherListKey(p, v.CampaignID, v.Code), Version: 1}),
	}
	if v.CampaignID != "" {
		ops = append(ops, core.Put(core.Item{Key: poolKey(p, v.CampaignID, v.Code), Version: 1}))
	}
	return ops, nil
}

// CreateVoucher creates a standalone code (or one in the named campaign). A
// missing code is generated from code_config. An existing code is a conflict.
func (s *Service) CreateVoucher(ctx context.Context, p string, in VoucherInput) (Voucher, error) {
	var camp *Campaign
	if ref := firstNonEmpty(in.CampaignID, in.Campaign); ref != "" {
		_, c, err := s.resolveCampaign(ctx, p, ref)
		if err != nil {
			return Voucher{}, err
		}
		camp = &c
		in = c.fill(in)
	}
	if err := in.validate(); err != nil {
		return Voucher{}, err
	}
	if err := s.checkRules(ctx, p, in.ValidationRules); err != nil {
		return Voucher{}, err
	}
	code := in.Code
	if code == "" {
		g, err := newGenerator(in.CodeConfig)
		if err != nil {
			return Voucher{}, err
		}
		if code, err = g.Code(); err != nil {
			return Voucher{}, err
		}
	}
	if err := ValidateCode(code); err != nil {
		return Voucher{}, err
	}
	v := s.newVoucher(in, code, camp)
	ops, err := voucherOps(p, v)
	if err != nil {
		return Voucher{}, err
	}
	ev, err := s.eventOp(p, "voucher.created", "", v.Code, map[string]any{"voucher": v})
	if err != nil {
		return Voucher{}, err
	}
	ops = append(ops, ev)
	for _, id := range v.ValidationRules {
		more, err := assignmentOps(p, Assignment{ID: s.IDs.New("asgm"), RuleID: id, RelatedObjectID: v.Code,
			RelatedObjectType: "voucher", CreatedAt: v.CreatedAt, Object: "validation_rules_assignment"})
		if err != nil {
			return Voucher{}, err
		}
		ops = append(ops, more...)
	}
	if camp != nil {
		ops = append(ops, codesAddedOps(p, camp.ID, 1, giftAmount(v), v.Code)...)
	}
	if err := s.commit(ctx, v, ops...); err != nil {
		if core.FailedIndex(err) == 0 {
			return Voucher{}, core.KeyedError(core.CodeConflict, "duplicate_found", "voucher %s already exists", code)
		}
		return Voucher{}, err
	}
	return v, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// GetVoucher returns the code with its current counters.
func (s *Service) GetVoucher(ctx context.Context, p, code string) (Voucher, error) {
	st, err := s.loadVoucher(ctx, p, code)
	return st.v, err
}

// VoucherUpdate is the changeable part of a code (Voucherify's update body).
type VoucherUpdate struct {
	Category        *string          `json:"category,omitempty"`
	Active          *bool            `json:"active,omitempty"`
	AdditionalInfo  *string          `json:"additional_info,omitempty"`
	Metadata        map[string]any   `json:"metadata,omitempty"`
	StartDate       *time.Time       `json:"start_date,omitempty"`
	ExpirationDate  *time.Time       `json:"expiration_date,omitempty"`
	Discount        *Discount        `json:"discount,omitempty"`
	ValidationRules []string         `json:"validation_rules,omitempty"`
	Redemption      *RedemptionLimit `json:"redemption,omitempty"`
}

// UpdateVoucher changes a code's settings (not its counters), retrying when a
// redemption changed the item meanwhile.
func (s *Service) UpdateVoucher(ctx context.Context, p, code string, u VoucherUpdate) (Voucher, error) {
	return s.modifyVoucher(ctx, p, code, "voucher.updated", func(v *Voucher) error {
		if u.Category != nil {
			v.Category = *u.Category
		}
		if u.Active != nil {
			v.Active = *u.Active
		}
		if u.AdditionalInfo != nil {
			v.AdditionalInfo = *u.AdditionalInfo
		}
		if u.Metadata != nil {
			v.Metadata = u.Metadata
		}
		if u.StartDate != nil {
			v.StartDate = u.StartDate
		}
		if u.ExpirationDate != nil {
			v.ExpirationDate = u.ExpirationDate
		}
		if u.Discount != nil {
			if v.Type != TypeDiscount {
				return core.Errorf(core.CodeInvalid, "discount applies to DISCOUNT_VOUCHER codes only")
			}
			if err := ValidateDiscount(*u.Discount); err != nil {
				return err
			}
			v.Discount = u.Discount
		}
		if u.ValidationRules != nil && !slices.Equal(u.ValidationRules, v.ValidationRules) {
			return core.Errorf(core.CodeInvalid, "change a code's validation rules with POST/DELETE /v1/validation-rules/{id}/assignments")
		}
		if u.Redemption != nil {
			if q := u.Redemption.Quantity; q != nil && *q < v.Redemption.RedeemedQuantity {
				return core.Errorf(core.CodeInvalid, "redemption.quantity %d is below the %d redemptions already made", *q, v.Redemption.RedeemedQuantity)
			}
			v.Redemption.Quantity = u.Redemption.Quantity
		}
		if v.StartDate != nil && v.ExpirationDate != nil && !v.ExpirationDate.After(*v.StartDate) {
			return core.Errorf(core.CodeInvalid, "expiration_date must be after start_date")
		}
		return nil
	})
}

// SetVoucherActive enables or disables a code.
func (s *Service) SetVoucherActive(ctx context.Context, p, code string, active bool) (Voucher, error) {
	typ := "voucher.disabled"
	if active {
		typ = "voucher.enabled"
	}
	return s.modifyVoucher(ctx, p, code, typ, func(v *Voucher) error { v.Active = active; return nil })
}

// modifyVoucher is the optimistic read-modify-write of a code's JSON: the
// update carries no counters, so it never undoes a concurrent redemption; it
// retries when the version moved.
func (s *Service) modifyVoucher(ctx context.Context, p, code, event string, change func(*Voucher) error, extra ...func() ([]core.Op, error)) (Voucher, error) {
	for attempt := 0; ; attempt++ {
		st, err := s.loadVoucher(ctx, p, code)
		if err != nil {
			return Voucher{}, err
		}
		v := st.v
		if err := change(&v); err != nil {
			return Voucher{}, err
		}
		now := s.now()
		v.UpdatedAt = &now
		body := v
		body.Redemption.RedeemedQuantity, body.Publish.Count = 0, 0
		data, err := json.Marshal(body)
		if err != nil {
			return Voucher{}, err
		}
		ev, err := s.eventOp(p, event, v.HolderID, v.Code, map[string]any{"voucher": v})
		if err != nil {
			return Voucher{}, err
		}
		ops := []core.Op{core.UpdateOp(core.Update{Key: st.item.Key, Data: data, Conds: []core.Cond{core.IfVersion(st.item.Version)}}), ev}
		for _, x := range extra {
			more, err := x()
			if err != nil {
				return Voucher{}, err
			}
			ops = append(ops, more...)
		}
		err = s.commit(ctx, v, ops...)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || core.FailedIndex(err) != 0 {
			return Voucher{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return Voucher{}, err
		}
	}
}

// DeleteVoucher removes a code, its list entry and its pool place.
func (s *Service) DeleteVoucher(ctx context.Context, p, code string) error {
	st, err := s.loadVoucher(ctx, p, code)
	if err != nil {
		return err
	}
	ev, err := s.eventOp(p, "voucher.deleted", st.v.HolderID, code, map[string]any{"voucher": st.v})
	if err != nil {
		return err
	}
	ops := []core.Op{
		core.Delete(st.item.Key),
		core.Delete(voucherListKey(p, st.v.CampaignID, code)),
		ev,
	}
	if st.v.CampaignID != "" {
		deleted := stats{}
		deleted.add(st.v.CampaignID, statDeleted, 1)
		if st.v.Gift != nil {
			deleted.add(st.v.CampaignID, statGiftDeleted, st.v.Gift.Balance)
		}
		ops = append(ops, deleted.ops(p, code)...)
		ops = append(ops,
			core.Delete(poolKey(p, st.v.CampaignID, code)),
			core.UpdateOp(core.Update{Key: campaignKey(p, st.v.CampaignID), Adds: []core.Add{core.AddBy("vouchers", -1)}, Conds: []core.Cond{core.IfExists()}}))
	}
	err = s.commit(ctx, struct{}{}, ops...)
	if errors.Is(err, core.ErrConditionFailed) && core.FailedIndex(err) == len(ops)-1 {
		// The campaign is gone already; delete without counting.
		return s.commit(ctx, struct{}{}, ops[:len(ops)-1]...)
	}
	return err
}

// AddBalance adds credits (cents; negative removes, down to a zero balance)
// to a gift card: Voucherify's POST /vouchers/{code}/balance. It records a
// transaction with the exact balance after the change, retrying when a
// redemption changed the card meanwhile.
// BalanceChange is a manual change of a gift card's balance.
type BalanceChange struct {
	Amount   int64  `json:"amount"`
	SourceID string `json:"source_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Service) AddBalance(ctx context.Context, p, code string, change BalanceChange) (Balance, error) {
	amount := change.Amount
	if len(change.SourceID) > 200 || len(change.Reason) > 500 {
		return Balance{}, core.Errorf(core.CodeInvalid, "source_id (200) or reason (500 characters) too long")
	}
	if amount == 0 {
		return Balance{}, core.Errorf(core.CodeInvalid, "amount must not be zero")
	}
	for attempt := 0; ; attempt++ {
		st, err := s.loadVoucher(ctx, p, code)
		if err != nil {
			return Balance{}, err
		}
		if st.v.Type != TypeGift {
			return Balance{}, core.Errorf(core.CodeInvalid, "voucher %s is not a gift card", code)
		}
		v := st.v
		if v.Gift.Balance+amount < 0 {
			return Balance{}, core.KeyedError(core.CodeInvalid, KeyGiftAmountExceed, "gift card %s holds %d; cannot remove %d", code, v.Gift.Balance, -amount)
		}
		v.Gift.Balance += amount
		v.Gift.Amount += amount
		body := v
		body.Redemption.RedeemedQuantity, body.Publish.Count = 0, 0
		data, err := json.Marshal(body)
		if err != nil {
			return Balance{}, err
		}
		typ := TxCreditsAddition
		if amount < 0 {
			typ = TxCreditsRemoval
		}
		txop, err := s.giftTx(p, v, typ, amount, v.Gift.Balance, change, TransactionDetails{})
		if err != nil {
			return Balance{}, err
		}
		payload := map[string]any{"voucher": v, "balance": amount}
		ops := []core.Op{
			// The amount lives in the JSON, the balance in the counter: both
			// change only if nothing else changed the card meanwhile.
			core.UpdateOp(core.Update{Key: st.item.Key, Data: data, Adds: []core.Add{core.AddDownTo(numBalance, amount, 0), core.AddDownTo(numAvailable, amount, 0)}, Conds: []core.Cond{core.IfVersion(st.item.Version)}}),
		}
		ops = append(ops, txop...)
		gs := stats{}
		if amount > 0 {
			gs.add(v.CampaignID, statGiftAdded, amount)
		} else {
			gs.add(v.CampaignID, statGiftSubtracted, -amount)
		}
		ops = append(ops, gs.ops(p, v.Code)...)
		types := []string{"voucher.gift.balance_added"}
		if v.HolderID != "" {
			types = append(types, "customer.voucher.gift.balance_added")
		}
		op, err := s.eventsOp(p, types, v.HolderID, code, payload)
		if err != nil {
			return Balance{}, err
		}
		ops = append(ops, op)
		res := Balance{Amount: amount, Total: v.Gift.Amount, Balance: v.Gift.Balance, Type: "gift_voucher", OperationType: "MANUAL",
			Object: "balance", RelatedObject: IDRef{ID: v.ID, Type: "voucher"}}
		err = s.commit(ctx, res, ops...)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || core.FailedIndex(err) != 0 {
			return Balance{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return Balance{}, err
		}
	}
}

// Balance answers a balance change: Voucherify's balance object.
type Balance struct {
	Amount        int64  `json:"amount"` // the change
	Total         int64  `json:"total"`  // the card's value after it
	Balance       int64  `json:"balance"`
	Type          string `json:"type"` // gift_voucher
	OperationType string `json:"operation_type"`
	Object        string `json:"object"` // balance
	RelatedObject IDRef  `json:"related_object"`
}

// VoucherPage is one page of a code listing.
type VoucherPage struct {
	Vouchers []Voucher
	Next     string
}

// ListVouchers lists a campaign's codes ("" for standalone codes), shard by
// shard; cursor continues a listing.
func (s *Service) ListVouchers(ctx context.Context, p, campaign string, limit int, cursor string) (VoucherPage, error) {
	campaignID := ""
	if campaign != "" {
		_, c, err := s.resolveCampaign(ctx, p, campaign)
		if err != nil {
			return VoucherPage{}, err
		}
		campaignID = c.ID
	}
	keys, next, err := listSharded(ctx, s.Store, func(shard int) string { return voucherListPartition(p, campaignID, shard) }, listShards, limit, cursor)
	if err != nil {
		return VoucherPage{}, err
	}
	vk := make([]core.Key, len(keys))
	for i, k := range keys {
		vk[i] = voucherKey(p, k.SK)
	}
	items, err := s.Store.BatchGet(ctx, vk)
	if err != nil {
		return VoucherPage{}, err
	}
	page := VoucherPage{Next: next}
	for _, k := range vk {
		it, ok := items[k]
		if !ok {
			continue // deleted between list and read
		}
		v, err := decodeVoucher(it)
		if err != nil {
			return VoucherPage{}, err
		}
		page.Vouchers = append(page.Vouchers, v)
	}
	return page, nil
}

// listSharded pages over n shard partitions in shard order. The cursor is
// "<shard>.<store cursor>".
func listSharded(ctx context.Context, st core.Store, partition func(int) string, n, limit int, cursor string) ([]core.Key, string, error) {
	if limit <= 0 || limit > core.MaxBatchGet {
		limit = 10
	}
	shard, inner := 0, ""
	if cursor != "" {
		if _, err := fmt.Sscanf(cursor, "%d.", &shard); err != nil || shard < 0 || shard >= n {
			return nil, "", core.Errorf(core.CodeInvalid, "bad cursor")
		}
		_, inner, _ = cutDot(cursor)
	}
	var keys []core.Key
	for ; shard < n; shard, inner = shard+1, "" {
		pg, err := st.Query(ctx, core.Query{PK: partition(shard), Limit: limit - len(keys), Cursor: inner})
		if err != nil {
			return nil, "", err
		}
		for _, it := range pg.Items {
			keys = append(keys, it.Key)
		}
		if len(keys) == limit {
			switch {
			case pg.Next != "":
				return keys, fmt.Sprintf("%d.%s", shard, pg.Next), nil
			case shard+1 < n:
				return keys, fmt.Sprintf("%d.", shard+1), nil
			}
			return keys, "", nil
		}
	}
	return keys, "", nil
}

func cutDot(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
