package promo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/promo/calc"
	"github.com/promorelay/promorelay/core/promo/rules"
)

// MaxStack is how many redeemables one validation or redemption may carry:
// each costs about six writes, and one transaction holds at most 100.
const MaxStack = 10

// Failure keys of a redeemable (Voucherify's).
const (
	KeyNotFound          = "resource_not_found"
	KeyVoucherDisabled   = "voucher_disabled"
	KeyCampaignDisabled  = "campaign_disabled"
	KeyQuantityExceeded  = "quantity_exceeded"
	KeyGiftAmountExceed  = "gift_amount_exceeded"
	KeyNoBalance         = "gift_balance_empty"
	KeyMissingOrder      = "missing_order"
	KeyAlreadyRolledBack = "already_rolled_back"
)

// Redeemable names one thing to validate or redeem.
type Redeemable struct {
	Object string       `json:"object"` // "voucher"
	ID     string       `json:"id"`     // the code
	Gift   *GiftCredits `json:"gift,omitempty"`
}

// GiftCredits asks a gift card for a specific amount.
type GiftCredits struct {
	Credits int64 `json:"credits"`
}

// StackInput is the body of POST /v1/validations and /v1/redemptions.
type StackInput struct {
	Redeemables []Redeemable   `json:"redeemables"`
	Order       *Order         `json:"order,omitempty"`
	Customer    *Customer      `json:"customer,omitempty"`
	TrackingID  string         `json:"tracking_id,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	// Session: in a validation, {"type":"LOCK"} holds the uses (and gift
	// credits) for a while; in a redemption, {"key":…} uses what it holds.
	Session *Session `json:"session,omitempty"`
	Channel string   `json:"-"`
}

// RedeemableError explains why a redeemable cannot be used.
type RedeemableError struct {
	Code    int    `json:"code"`
	Key     string `json:"key"`
	Message string `json:"message"`
	Details string `json:"details,omitempty"`
	// promorelay's additions for a violated validation rule: which rule,
	// and the machine-readable reason (e.g. order_amount_too_low).
	RuleID   string `json:"rule_id,omitempty"`
	RuleName string `json:"rule_name,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Error carries the message the rule's author configured.
	Error *RuleMessage `json:"error,omitempty"`
}

// RuleMessage is a validation rule's configured message.
type RuleMessage struct {
	Message string `json:"message"`
}

// RedeemableResult is one redeemable's outcome.
type RedeemableResult struct {
	Status   string           `json:"status"` // APPLICABLE, INAPPLICABLE, SKIPPED
	ID       string           `json:"id"`
	Object   string           `json:"object"`
	Order    *CalculatedOrder `json:"order,omitempty"`
	Result   ResultDetail     `json:"result"`
	Metadata map[string]any   `json:"metadata,omitempty"`
}

// ResultDetail is what a redeemable gives, or why it does not.
type ResultDetail struct {
	Discount *Discount        `json:"discount,omitempty"`
	Gift     *GiftResult      `json:"gift,omitempty"`
	Error    *RedeemableError `json:"error,omitempty"`
}

// GiftResult is what a gift card pays in this request.
type GiftResult struct {
	Credits int64 `json:"credits"`
	Balance int64 `json:"balance"`
	Amount  int64 `json:"amount"` // the card's total value
}

// ValidationResult answers a stacked validation.
type ValidationResult struct {
	Valid                   bool               `json:"valid"`
	Redeemables             []RedeemableResult `json:"redeemables"`
	InapplicableRedeemables []RedeemableResult `json:"inapplicable_redeemables,omitempty"`
	SkippedRedeemables      []RedeemableResult `json:"skipped_redeemables,omitempty"`
	Order                   *CalculatedOrder   `json:"order,omitempty"`
	TrackingID              string             `json:"tracking_id,omitempty"`
	Session                 *Session           `json:"session,omitempty"`
}

// Channel is who made a redemption.
type Channel struct {
	ChannelID   string `json:"channel_id,omitempty"`
	ChannelType string `json:"channel_type"` // API, USER
}

// Redemption is a redemption, a failed attempt or a rollback.
type Redemption struct {
	ID                string              `json:"id"`
	Object            string              `json:"object"` // redemption or redemption_rollback
	Date              time.Time           `json:"date"`
	CustomerID        *string             `json:"customer_id"`
	TrackingID        string              `json:"tracking_id"`
	Metadata          map[string]any      `json:"metadata"`
	Amount            int64               `json:"amount"`
	Redemption        *string             `json:"redemption"` // parent (stack child) or rolled-back redemption
	Result            string              `json:"result"`     // SUCCESS or FAILURE
	Status            string              `json:"status"`     // SUCCEEDED, FAILED, ROLLED_BACK
	FailureCode       string              `json:"failure_code,omitempty"`
	FailureMessage    string              `json:"failure_message,omitempty"`
	Reason            string              `json:"reason,omitempty"` // rollbacks
	Order             *CalculatedOrder    `json:"order,omitempty"`
	Channel           Channel             `json:"channel"`
	Customer          *Customer           `json:"customer"`
	RelatedObjectType string              `json:"related_object_type"` // voucher or redemption
	RelatedObjectID   string              `json:"related_object_id"`
	Voucher           *Voucher            `json:"voucher,omitempty"`
	Gift              *RedemptionGift     `json:"gift,omitempty"`
	Related           *RelatedRedemptions `json:"related_redemptions,omitempty"`
}

// RedemptionGift is the amount a gift card paid (negative in a rollback).
type RedemptionGift struct {
	Amount int64 `json:"amount"`
}

// RelatedRedemptions links a stack's parent and children, and rollbacks.
type RelatedRedemptions struct {
	Redemptions []RelatedRef `json:"redemptions,omitempty"`
	Rollbacks   []RelatedRef `json:"rollbacks,omitempty"`
}

// RelatedRef names a related redemption.
type RelatedRef struct {
	ID   string    `json:"id"`
	Date time.Time `json:"date"`
}

// RedeemResult answers a stacked redemption.
type RedeemResult struct {
	Redemptions      []Redemption     `json:"redemptions"`
	ParentRedemption *Redemption      `json:"parent_redemption,omitempty"`
	Order            *CalculatedOrder `json:"order,omitempty"`
}

const redemptionShards = 4

// redemptionKey places a redemption in its day's partition; the id (a ULID)
// carries the day, so Get needs no index.
func redemptionKey(p, id string) (core.Key, error) {
	_, raw, ok := cutUnderscore(id)
	u, err := ulid.ParseStrict(upper(raw))
	if !ok || err != nil {
		return core.Key{}, core.Errorf(core.CodeNotFound, "cannot find redemption with id %s", id)
	}
	day := ulid.Time(u.Time()).UTC().Format("2006-01-02")
	return core.Key{PK: fmt.Sprintf("%s#red#%s#%d", p, day, shardOf(id, redemptionShards)), SK: id}, nil
}

func cutUnderscore(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '_' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// evaluation is the outcome of checking a stack against current state.
type evaluation struct {
	in       StackInput
	customer customer.Profile
	items    []evalItem
	order    *CalculatedOrder
	failed   int // index of the first inapplicable redeemable, -1 if none
	// customerOps create the customer when it is new; a redemption (or a
	// stored failure) writes them in its own transaction, a validation never.
	customerOps []core.Op
}

type evalItem struct {
	r      Redeemable
	st     stored
	found  bool
	amount int64 // discount or gift credits
	err    *RedeemableError
	result ResultDetail
	rules  *ruleContext // nil when no rule applies
	lock   *lock        // the request's session lock on this code, if any
}

func (in StackInput) validate() error {
	var probs []string
	if len(in.Redeemables) == 0 || len(in.Redeemables) > MaxStack {
		probs = append(probs, fmt.Sprintf("redeemables: give 1 to %d", MaxStack))
	}
	seen := map[string]bool{}
	for i, r := range in.Redeemables {
		if r.Object != "voucher" {
			probs = append(probs, fmt.Sprintf("redeemables[%d].object %q: only \"voucher\" is supported", i, r.Object))
		}
		if r.ID == "" {
			probs = append(probs, fmt.Sprintf("redeemables[%d].id is required", i))
		}
		if seen[r.ID] {
			return core.KeyedError(core.CodeInvalid, "duplicated_redeemables", "redeemables[%d]: %s appears twice", i, r.ID)
		}
		seen[r.ID] = true
		if r.Gift != nil && r.Gift.Credits < 0 {
			probs = append(probs, fmt.Sprintf("redeemables[%d].gift.credits must not be negative", i))
		}
	}
	if len(in.TrackingID) > 200 {
		probs = append(probs, "tracking_id longer than 200 characters")
	}
	return joinProblems(probs)
}

func failure(key, format string, args ...any) *RedeemableError {
	return &RedeemableError{Code: 400, Key: key, Message: keyMessage(key), Details: fmt.Sprintf(format, args...)}
}

func keyMessage(key string) string {
	switch key {
	case KeyNotFound:
		return "Resource not found"
	case KeyQuantityExceeded:
		return "quantity exceeded"
	case KeyVoucherDisabled:
		return "voucher is disabled"
	case KeyCampaignDisabled:
		return "campaign is disabled"
	case KeyGiftAmountExceed:
		return "gift amount exceeded"
	case KeyNoBalance:
		return "gift card balance is empty"
	case reasonExpired:
		return "voucher expired"
	case reasonNotActiveYet:
		return "voucher not active"
	case reasonOutsideTime:
		return "voucher not active now"
	}
	return key
}

// evaluate checks every redeemable against current state and prices the
// order, applying the redeemables in their order.
func (s *Service) evaluate(ctx context.Context, p string, in StackInput) (*evaluation, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var order calc.Order
	if in.Order != nil {
		order = *in.Order
	}
	calcn, err := calc.NewCalculation(order)
	if err != nil {
		return nil, err
	}
	ev := &evaluation{in: in, failed: -1}
	if in.Customer != nil && (in.Customer.ID != "" || in.Customer.SourceID != "") {
		ev.customer, ev.customerOps, err = s.Customers.Prepare(ctx, p, customer.Ref{ID: in.Customer.ID, SourceID: in.Customer.SourceID,
			Name: in.Customer.Name, Email: in.Customer.Email, Phone: in.Customer.Phone, Metadata: in.Customer.Metadata})
		if err != nil {
			return nil, err
		}
	}
	keys := make([]core.Key, len(in.Redeemables))
	for i, r := range in.Redeemables {
		if err := ValidateCode(r.ID); err != nil {
			keys[i] = voucherKey(p, "-invalid-"+fmt.Sprint(i))
			continue
		}
		keys[i] = voucherKey(p, r.ID)
	}
	now := s.now()
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	// Codes with held uses or credits first give back expired holds.
	for k, it := range items {
		if it.Num(numLocked) > 0 || it.Num(numLockedCredits) > 0 {
			code := k.PK[len(voucherKey(p, "").PK):]
			released, err := s.releaseExpired(ctx, p, code, now)
			if err != nil {
				return nil, err
			}
			if released {
				if items[k], err = s.Store.Get(ctx, k); err != nil {
					return nil, err
				}
			}
		}
	}
	locks, err := s.loadLocks(ctx, p, in, now)
	if err != nil {
		return nil, err
	}
	decoded, campaignIDs, err := decodeVouchers(items)
	if err != nil {
		return nil, err
	}
	campaigns, err := s.campaignsByID(ctx, p, campaignIDs)
	if err != nil {
		return nil, err
	}
	for i, r := range in.Redeemables {
		e := evalItem{r: r, lock: locks[r.ID]}
		if it, ok := items[keys[i]]; ok {
			e.st, e.found = stored{item: it, v: decoded[keys[i]]}, true
		}
		e.err = s.check(e, campaigns, now)
		if e.err == nil {
			e.err = s.price(calcn, &e)
		}
		if e.err == nil {
			if e.err, err = s.applyRules(ctx, p, ev, &e, campaigns[e.st.v.CampaignID], now); err != nil {
				return nil, err
			}
		}
		if e.err != nil && ev.failed < 0 {
			ev.failed = i
		}
		ev.items = append(ev.items, e)
	}
	o := calcn.Order()
	if ev.customer.ID != "" {
		o.CustomerID = ev.customer.ID
	}
	ev.order = &o
	return ev, nil
}

// decodeVouchers decodes voucher items once, and lists their campaigns.
func decodeVouchers(items map[core.Key]core.Item) (map[core.Key]Voucher, []string, error) {
	out := make(map[core.Key]Voucher, len(items))
	var campaigns []string
	for k, it := range items {
		v, err := decodeVoucher(it)
		if err != nil {
			return nil, nil, err
		}
		out[k] = v
		if v.CampaignID != "" && !slices.Contains(campaigns, v.CampaignID) {
			campaigns = append(campaigns, v.CampaignID)
		}
	}
	return out, campaigns, nil
}

// campaignsByID reads campaigns by id (missing ones are absent).
func (s *Service) campaignsByID(ctx context.Context, p string, ids []string) (map[string]*Campaign, error) {
	keys := make([]core.Key, len(ids))
	for i, id := range ids {
		keys[i] = campaignKey(p, id)
	}
	out := map[string]*Campaign{}
	if len(keys) == 0 {
		return out, nil
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		var c Campaign
		if err := json.Unmarshal(it.Data, &c); err != nil {
			return nil, err
		}
		out[c.ID] = &c
	}
	return out, nil
}

// applyRules evaluates the validation rules of the code and its campaign.
func (s *Service) applyRules(ctx context.Context, p string, ev *evaluation, e *evalItem, c *Campaign, now time.Time) (*RedeemableError, error) {
	rc, counters, err := s.prepareRules(ctx, p, e.st.v, e.st.item, c, ev.customer.ID, now)
	if err != nil || rc == nil {
		return nil, err
	}
	e.rules = rc
	input := ruleInput(ev.in, ev.customer, e.st.v, e.amount, now, *counters)
	for _, r := range rc.rules {
		if f := r.Evaluate(input); f != nil {
			re := &RedeemableError{Code: 400, Key: rules.ViolatedKey, Message: "redemption does not match validation rules",
				Details: f.Message, RuleID: f.RuleID, RuleName: f.RuleName, Reason: f.Key}
			if f.Configured {
				re.Error = &RuleMessage{Message: f.Message}
			}
			return re, nil
		}
	}
	return nil, nil
}

// check applies the state rules: existence, enabled, validity, usage.
func (s *Service) check(e evalItem, campaigns map[string]*Campaign, now time.Time) *RedeemableError {
	if !e.found {
		return &RedeemableError{Code: 404, Key: KeyNotFound, Message: keyMessage(KeyNotFound), Details: "Cannot find voucher with id " + e.r.ID}
	}
	v := e.st.v
	if v.CampaignID != "" {
		c, ok := campaigns[v.CampaignID]
		if !ok {
			return &RedeemableError{Code: 404, Key: KeyNotFound, Message: keyMessage(KeyNotFound), Details: "Cannot find campaign of voucher " + v.Code}
		}
		if !c.Active {
			return failure(KeyCampaignDisabled, "campaign %s is disabled", c.Name)
		}
		if why := c.Validity.check(now); why != "" {
			return failure(why, "campaign %s is not valid now", c.Name)
		}
	}
	if !v.Active {
		return failure(KeyVoucherDisabled, "voucher %s is disabled", v.Code)
	}
	if why := v.Validity.check(now); why != "" {
		return failure(why, "voucher %s is not valid now", v.Code)
	}
	used := e.st.item.Num(numUsed)
	if e.lock != nil {
		used-- // the request's own session holds one
	}
	if q := v.Redemption.Quantity; q != nil && used >= *q {
		return failure(KeyQuantityExceeded, "voucher %s has been redeemed %d of %d times (%d more held by validation sessions)", v.Code, v.Redemption.RedeemedQuantity, *q, used-v.Redemption.RedeemedQuantity)
	}
	return nil
}

// price applies the redeemable to the running calculation.
func (s *Service) price(c *calc.Calculation, e *evalItem) *RedeemableError {
	v := e.st.v
	switch v.Type {
	case TypeGift:
		// What the card can pay: its balance less what other sessions hold.
		avail := min(v.Gift.Balance, e.st.item.Num(numAvailable))
		if e.lock != nil {
			avail = min(v.Gift.Balance, avail+e.lock.Credits)
		}
		if avail <= 0 {
			return failure(KeyNoBalance, "gift card %s has no balance left", v.Code)
		}
		var credits int64
		if e.r.Gift != nil {
			credits = e.r.Gift.Credits
		}
		if credits > avail {
			return failure(KeyGiftAmountExceed, "gift card %s: %d requested, %d available", v.Code, credits, avail)
		}
		a, err := c.ApplyGift(avail, credits)
		if err != nil {
			return failure(KeyGiftAmountExceed, "%s", core.ErrorMessage(err))
		}
		e.amount = a.Amount
		e.result = ResultDetail{Gift: &GiftResult{Credits: a.Amount, Balance: v.Gift.Balance, Amount: v.Gift.Amount}}
	case TypeDiscount:
		a, err := c.ApplyDiscount(*v.Discount)
		if err != nil {
			return failure("discount_not_applicable", "%s", core.ErrorMessage(err))
		}
		e.amount = a.Amount
		e.result = ResultDetail{Discount: v.Discount}
	default:
		return failure("unsupported_voucher_type", "voucher type %s cannot be redeemed here", v.Type)
	}
	return nil
}

func (ev *evaluation) validationResult() ValidationResult {
	res := ValidationResult{Valid: ev.failed < 0, Order: ev.order, TrackingID: ev.in.TrackingID}
	for _, e := range ev.items {
		r := RedeemableResult{ID: e.r.ID, Object: "voucher", Result: e.result}
		switch {
		case e.err != nil:
			r.Status, r.Result = "INAPPLICABLE", ResultDetail{Error: e.err}
			res.InapplicableRedeemables = append(res.InapplicableRedeemables, r)
		case ev.failed >= 0:
			r.Status = "SKIPPED"
			res.SkippedRedeemables = append(res.SkippedRedeemables, r)
		default:
			r.Status = "APPLICABLE"
			r.Order = ev.order
			if e.found {
				r.Metadata = e.st.v.Metadata
			}
		}
		res.Redeemables = append(res.Redeemables, r)
	}
	if !res.Valid {
		res.Order = nil
	}
	return res
}

// Validate checks a stack without consuming anything. With a LOCK session
// it also holds a use of each code (and the gift credits it would pay) for
// the session's time to live; the answer carries the session key to redeem with.
func (s *Service) Validate(ctx context.Context, p string, in StackInput) (ValidationResult, error) {
	if in.Session == nil {
		ev, err := s.evaluate(ctx, p, in)
		if err != nil {
			return ValidationResult{}, err
		}
		return ev.validationResult(), nil
	}
	ss := *in.Session
	if _, err := ss.duration(); err != nil {
		return ValidationResult{}, err
	}
	if ss.Key == "" {
		ss.Key = s.IDs.New("ssn")
	} else if len(ss.Key) > 100 {
		return ValidationResult{}, core.Errorf(core.CodeInvalid, "session.key longer than 100 characters")
	}
	ss.Type = "LOCK"
	in.Session = &ss
	for attempt := 0; ; attempt++ {
		ev, err := s.evaluate(ctx, p, in)
		if err != nil {
			return ValidationResult{}, err
		}
		res := ev.validationResult()
		if !res.Valid {
			return res, nil
		}
		ops, err := s.lockOps(p, ev, ss, s.now())
		if err != nil {
			return ValidationResult{}, err
		}
		err = s.write(ctx, ops...)
		if err == nil {
			res.Session = &ss
			return res, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || attempt >= 20 {
			return ValidationResult{}, err
		}
		// Another request took the last use or credits meanwhile: look again.
		if err := backoff(ctx, attempt/2); err != nil {
			return ValidationResult{}, err
		}
	}
}

func (s *Service) customerRef(ev *evaluation) (*string, *Customer) {
	if ev.customer.ID == "" {
		return nil, nil
	}
	id := ev.customer.ID
	c := ev.customer
	return &id, &Customer{ID: c.ID, SourceID: c.SourceID, Name: c.Name, Email: c.Email, Metadata: c.Metadata, Object: "customer"}
}

// Redeem validates and consumes a stack all or nothing. Usage counters and
// gift balances change by atomic bounded adds inside the transaction, so
// however many requests race, a code is never redeemed past its quantity and
// a balance never goes below zero. A refused redemption is stored as a failed
// redemption and reported as an error whose key says why and whose
// ResourceID names the stored failure.
func (s *Service) Redeem(ctx context.Context, p string, in StackInput) (RedeemResult, error) {
	if in.Channel == "" {
		in.Channel = "API"
	}
	for attempt := 0; ; attempt++ {
		ev, err := s.evaluate(ctx, p, in)
		if err != nil {
			return RedeemResult{}, err
		}
		if ev.failed >= 0 {
			return RedeemResult{}, s.recordFailure(ctx, p, ev, ev.failed, ev.items[ev.failed].err)
		}
		res, ops, err := s.redemptionOps(p, ev)
		if err != nil {
			return RedeemResult{}, err
		}
		custStart := len(ops)
		err = s.commit(ctx, res, append(ops, ev.customerOps...)...)
		if err == nil {
			return res, nil
		}
		idx := core.FailedIndex(err)
		if errors.Is(err, core.ErrConditionFailed) && idx >= custStart && idx < custStart+len(ev.customerOps) {
			continue // the customer was created concurrently: evaluate again
		}
		if !errors.Is(err, core.ErrConditionFailed) || idx < 0 || idx >= len(ev.items) {
			return RedeemResult{}, err
		}
		// A counter's bound or a gift card's balance check refused: the state
		// moved since evaluation (another request took the last use or part
		// of the balance). Evaluate again; the next look reports the real
		// reason, or succeeds.
		if attempt >= 20 {
			e := ev.items[idx]
			key := KeyQuantityExceeded
			if e.st.v.Type == TypeGift {
				key = KeyGiftAmountExceed
			}
			return RedeemResult{}, s.recordFailure(ctx, p, ev, idx, failure(key, "voucher %s: the last use or balance was taken concurrently", e.r.ID))
		}
		if err := backoff(ctx, attempt/2); err != nil {
			return RedeemResult{}, err
		}
	}
}

// redemptionOps builds the transaction of a successful stack redemption.
// The first len(ev.items) operations are the counter updates, in order.
func (s *Service) redemptionOps(p string, ev *evaluation) (RedeemResult, []core.Op, error) {
	now := s.now()
	custID, cust := s.customerRef(ev)
	var res RedeemResult
	var ops, rest []core.Op
	var parent *Redemption
	st := stats{}
	countedOrder := map[string]bool{} // a campaign counts a stacked order once
	if len(ev.items) > 1 {
		parent = &Redemption{ID: s.IDs.New("r"), Object: "redemption", Date: now, CustomerID: custID, TrackingID: ev.in.TrackingID,
			Metadata: ev.in.Metadata, Result: "SUCCESS", Status: "SUCCEEDED", Order: ev.order, Channel: Channel{ChannelType: ev.in.Channel},
			Customer: cust, RelatedObjectType: "redemption", Related: &RelatedRedemptions{}}
		parent.RelatedObjectID = parent.ID
	}
	for _, e := range ev.items {
		v := e.st.v
		u := core.Update{Key: e.st.item.Key, Adds: []core.Add{core.AddBy(numRedeemed, 1)}}
		if e.lock != nil {
			// The session's held use becomes this redemption.
			u.Adds = append(u.Adds, core.AddBy(numLocked, -1))
			rest = append(rest, core.Delete(e.lock.item.Key, core.IfVersion(e.lock.item.Version)))
		} else {
			u.Adds = append(u.Adds, usedAdd(v))
		}
		r := Redemption{ID: s.IDs.New("r"), Object: "redemption", Date: now, CustomerID: custID, TrackingID: ev.in.TrackingID,
			Metadata: ev.in.Metadata, Amount: e.amount, Result: "SUCCESS", Status: "SUCCEEDED", Order: ev.order,
			Channel: Channel{ChannelType: ev.in.Channel}, Customer: cust, RelatedObjectType: "voucher", RelatedObjectID: v.ID}
		if v.Type == TypeGift {
			// The balance must still be what evaluation saw, so the recorded
			// balance after the debit is exact; a concurrent debit makes this
			// redemption evaluate again.
			u.Adds = append(u.Adds, core.AddDownTo(numBalance, -e.amount, 0))
			u.Conds = append(u.Conds, core.IfNum(numBalance, core.EQ, v.Gift.Balance))
			held := int64(0)
			if e.lock != nil {
				held = e.lock.Credits
				u.Adds = append(u.Adds, core.AddBy(numLockedCredits, -held))
			}
			u.Adds = append(u.Adds, core.AddDownTo(numAvailable, held-e.amount, 0))
			v.Gift.Balance -= e.amount
			v.Gift.SubtractedAmount += e.amount
			r.Gift = &RedemptionGift{Amount: e.amount}
			txop, err := s.giftTx(p, v, TxCreditsRedemption, -e.amount, v.Gift.Balance, BalanceChange{},
				TransactionDetails{Redemption: &IDRef{ID: r.ID}, Order: orderRef(ev.order)})
			if err != nil {
				return res, nil, err
			}
			rest = append(rest, txop...)
			st.add(v.CampaignID, statGiftPaid, e.amount)
		} else {
			st.add(v.CampaignID, statDiscounted, e.amount)
		}
		st.add(v.CampaignID, statRedeemed, 1)
		if ev.order != nil && !countedOrder[v.CampaignID] {
			countedOrder[v.CampaignID] = true
			st.add(v.CampaignID, statOrders, ev.order.Amount)
		}
		v.Redemption.RedeemedQuantity++
		r.Voucher = &v
		if parent != nil {
			r.Redemption = &parent.ID
			parent.Related.Redemptions = append(parent.Related.Redemptions, RelatedRef{ID: r.ID, Date: now})
			parent.Amount += e.amount
		}
		ops = append(ops, core.UpdateOp(u))
		more, err := s.recordOps(p, r, v.Code)
		if err != nil {
			return res, nil, err
		}
		if e.rules != nil && len(e.rules.slots) > 0 {
			// The code's index item remembers which rule counters this
			// redemption added to, so a rollback takes back exactly those.
			var counted countedCounters
			for _, sl := range e.rules.slots {
				counted.Keys = append(counted.Keys, sl.key)
				counted.Exps = append(counted.Exps, sl.exp)
			}
			if more[1].Item.Data, err = json.Marshal(counted); err != nil {
				return res, nil, err
			}
			rest = append(rest, counterOps(counted.Keys, counted.Exps, 1)...)
		}
		rest = append(rest, more...)
		res.Redemptions = append(res.Redemptions, r)
	}
	if parent != nil {
		more, err := s.recordOps(p, *parent, "")
		if err != nil {
			return res, nil, err
		}
		rest = append(rest, more...)
		res.ParentRedemption = parent
	}
	res.Order = ev.order
	seed := res.Redemptions[0].ID
	if parent != nil {
		seed = parent.ID
	}
	rest = append(rest, st.ops(p, seed)...)
	return res, append(ops, rest...), nil
}

func orderRef(o *CalculatedOrder) *IDRef {
	if o == nil || (o.ID == "" && o.SourceID == "") {
		return nil
	}
	return &IDRef{ID: o.ID, SourceID: o.SourceID}
}

// countedCounters is the payload of a redemption's index item in its code's
// partition: the rule counters it added to.
type countedCounters struct {
	Keys []core.Key `json:"keys"`
	Exps []int64    `json:"exps"`
}

// recordOps stores a redemption (or failure or rollback) with its index
// entries and events: in its day's partition, in the code's partition, in
// the customer's partition.
func (s *Service) recordOps(p string, r Redemption, code string) ([]core.Op, error) {
	key, err := redemptionKey(p, r.ID)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	ops := []core.Op{core.Put(core.Item{Key: key, Version: 1, Data: data}, core.IfNotExists())}
	if code != "" {
		ops = append(ops, core.Put(core.Item{Key: core.Key{PK: voucherKey(p, code).PK, SK: "r#" + r.ID}, Version: 1}))
	}
	custID := ""
	if r.CustomerID != nil {
		custID = *r.CustomerID
		ops = append(ops, core.Put(core.Item{Key: core.Key{PK: customer.Partition(p, custID), SK: "r#" + r.ID}, Version: 1}))
	}
	var types []string
	switch {
	case r.Object == "redemption_rollback":
		types = []string{"redemption.rollback.succeeded", "customer.redemption.rollback.succeeded"}
	case r.Result == "FAILURE":
		types = []string{"redemption.failed"}
	case r.Redemption != nil && r.Related == nil:
		types = nil // a stack's child: the parent's events cover it
	default:
		types = []string{"redemption.succeeded", "customer.redemption.succeeded"}
	}
	if custID == "" {
		types = slices.DeleteFunc(types, func(t string) bool { return strings.HasPrefix(t, "customer.") })
	}
	if len(types) > 0 {
		// The redemption carries its customer, order and code: the payload
		// names it once, and one outbox item stands for every event type.
		op, err := s.eventsOp(p, types, custID, code, map[string]any{"redemption": r})
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// recordFailure stores a refused redemption and returns the error that
// reports it.
func (s *Service) recordFailure(ctx context.Context, p string, ev *evaluation, idx int, why *RedeemableError) error {
	custID, cust := s.customerRef(ev)
	e := ev.items[idx]
	r := Redemption{ID: s.IDs.New("r"), Object: "redemption", Date: s.now(), CustomerID: custID, TrackingID: ev.in.TrackingID,
		Metadata: ev.in.Metadata, Result: "FAILURE", Status: "FAILED", FailureCode: why.Key, FailureMessage: why.Details,
		Order: ev.order, Channel: Channel{ChannelType: ev.in.Channel}, Customer: cust, RelatedObjectType: "voucher", RelatedObjectID: e.r.ID}
	code := ""
	if e.found {
		v := e.st.v
		r.Voucher, r.RelatedObjectID, code = &v, v.ID, v.Code
	}
	ops, err := s.recordOps(p, r, code)
	if err != nil {
		return err
	}
	if e.found {
		st := stats{}
		st.add(e.st.v.CampaignID, statFailed, 1)
		ops = append(ops, st.ops(p, r.ID)...)
	}
	ops = append(ops, ev.customerOps...)
	// Not under the idempotency key: a retried refused request is evaluated
	// again, which is what a client retrying a refusal wants.
	err = s.write(ctx, ops...)
	if errors.Is(err, core.ErrConditionFailed) && len(ev.customerOps) > 0 && core.FailedIndex(err) >= len(ops)-len(ev.customerOps) {
		// The customer was created concurrently: it exists now.
		err = s.write(ctx, ops[:len(ops)-len(ev.customerOps)]...)
	}
	if err != nil {
		return fmt.Errorf("record failed redemption: %w", err)
	}
	status := core.CodeInvalid
	if why.Code == 404 {
		status = core.CodeNotFound
	}
	return &core.Error{Code: status, Key: why.Key, Message: why.Details, ResourceID: r.ID, ResourceType: "redemption"}
}

// GetRedemption returns a redemption, failure or rollback by id.
func (s *Service) GetRedemption(ctx context.Context, p, id string) (Redemption, error) {
	it, err := s.getRedemptionItem(ctx, p, id)
	if err != nil {
		return Redemption{}, err
	}
	var r Redemption
	return r, json.Unmarshal(it.Data, &r)
}

func (s *Service) getRedemptionItem(ctx context.Context, p, id string) (core.Item, error) {
	key, err := redemptionKey(p, id)
	if err != nil {
		return core.Item{}, err
	}
	it, err := s.Store.Get(ctx, key)
	if errors.Is(err, core.ErrNotFound) {
		return it, core.Errorf(core.CodeNotFound, "cannot find redemption with id %s", id)
	}
	return it, err
}

// RedemptionFilter selects a redemption listing: by code, by customer, or
// by date (the project's day logs, at most MaxRedemptionDays days, the last
// seven by default); each can be narrowed to a campaign and a result.
type RedemptionFilter struct {
	Voucher  string
	Customer string
	Campaign string    // campaign id
	Result   string    // SUCCESS or FAILURE
	After    time.Time // by date: from (inclusive)
	Before   time.Time // by date: until (exclusive)
	Limit    int
	Cursor   string
}

// MaxRedemptionDays bounds a listing by date.
const MaxRedemptionDays = 31

func (f RedemptionFilter) keeps(r Redemption) bool {
	if f.Result != "" && r.Result != f.Result {
		return false
	}
	if f.Campaign != "" && (r.Voucher == nil || r.Voucher.CampaignID != f.Campaign) {
		return false
	}
	return true
}

// ListRedemptions lists redemptions of a code or a customer, newest first.
func (s *Service) ListRedemptions(ctx context.Context, p string, f RedemptionFilter) ([]Redemption, string, error) {
	var pk string
	switch {
	case f.Voucher != "":
		pk = voucherKey(p, f.Voucher).PK
	case f.Customer != "":
		pk = customer.Partition(p, f.Customer)
	default:
		return s.redemptionsByDate(ctx, p, f)
	}
	pg, err := s.Store.Query(ctx, core.Query{PK: pk, Prefix: "r#", Reverse: true, Limit: clampLimit(f.Limit), Cursor: f.Cursor})
	if err != nil {
		return nil, "", err
	}
	keys := make([]core.Key, 0, len(pg.Items))
	for _, it := range pg.Items {
		k, err := redemptionKey(p, it.SK[2:])
		if err != nil {
			return nil, "", err
		}
		keys = append(keys, k)
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	out := make([]Redemption, 0, len(keys))
	for _, k := range keys {
		if it, ok := items[k]; ok {
			var r Redemption
			if err := json.Unmarshal(it.Data, &r); err != nil {
				return nil, "", err
			}
			if f.keeps(r) {
				out = append(out, r)
			}
		}
	}
	return out, pg.Next, nil
}

// redemptionsByDate merges the day logs of the filter's days, newest first.
func (s *Service) redemptionsByDate(ctx context.Context, p string, f RedemptionFilter) ([]Redemption, string, error) {
	before, after := f.Before, f.After
	if before.IsZero() {
		before = s.now().Add(time.Nanosecond)
	}
	if after.IsZero() {
		after = before.Add(-7 * 24 * time.Hour)
	}
	if !after.Before(before) || before.Sub(after) > MaxRedemptionDays*24*time.Hour {
		return nil, "", core.Errorf(core.CodeInvalid, "created_at: give after < before, at most %d days apart", MaxRedemptionDays)
	}
	var parts []string
	for day := before.UTC().Truncate(24 * time.Hour); !day.Before(after.UTC().Truncate(24 * time.Hour)); day = day.Add(-24 * time.Hour) {
		for shard := range redemptionShards {
			parts = append(parts, fmt.Sprintf("%s#red#%s#%d", p, day.Format("2006-01-02"), shard))
		}
	}
	var out []Redemption
	var decodeErr error
	_, next, err := core.MergeNewest(ctx, s.Store, parts, clampLimit(f.Limit), f.Cursor, func(it core.Item) bool {
		var r Redemption
		if err := json.Unmarshal(it.Data, &r); err != nil {
			decodeErr = err
			return false
		}
		if r.Date.Before(after) || !r.Date.Before(before) || !f.keeps(r) {
			return false
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return out, next, err
}
