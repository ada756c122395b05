package promo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/promo/calc"
	"github.com/promorelay/promorelay/core/promo/rules"
)

// Qualification scenarios.
const (
	ScenarioAll            = "ALL"
	ScenarioCustomerWallet = "CUSTOMER_WALLET"
	ScenarioAudienceOnly   = "AUDIENCE_ONLY"
)

// QualifyInput is the body of POST /v1/qualifications.
type QualifyInput struct {
	Customer   *Customer       `json:"customer,omitempty"`
	Order      *Order          `json:"order,omitempty"`
	Scenario   string          `json:"scenario,omitempty"`
	Options    *QualifyOptions `json:"options,omitempty"`
	TrackingID string          `json:"tracking_id,omitempty"`
}

// QualifyOptions shape the answer.
type QualifyOptions struct {
	Limit       int    `json:"limit,omitempty"`        // default 5, at most 50
	SortingRule string `json:"sorting_rule,omitempty"` // BEST_DEAL (default) or DEFAULT (newest first)
}

// Qualified is one applicable redeemable: a code, or a campaign the
// customer can get a code from.
type Qualified struct {
	ID           string           `json:"id"`
	Object       string           `json:"object"` // voucher or campaign
	CreatedAt    time.Time        `json:"created_at"`
	Result       ResultDetail     `json:"result"`
	Order        *CalculatedOrder `json:"order,omitempty"`
	Name         string           `json:"name,omitempty"`
	CampaignName string           `json:"campaign_name,omitempty"`
	CampaignID   string           `json:"campaign_id,omitempty"`
	Metadata     map[string]any   `json:"metadata,omitempty"`
	value        int64
}

// QualifiedList is Voucherify's list of qualified redeemables.
type QualifiedList struct {
	Object  string      `json:"object"`   // list
	DataRef string      `json:"data_ref"` // data
	Data    []Qualified `json:"data"`
	Total   int         `json:"total"`
	HasMore bool        `json:"has_more"`
}

// QualifyResult answers a qualification.
type QualifyResult struct {
	Redeemables QualifiedList    `json:"redeemables"`
	TrackingID  string           `json:"tracking_id,omitempty"`
	Order       *CalculatedOrder `json:"order,omitempty"`
}

// candidateLimit bounds how many codes and campaigns one qualification
// examines in each source.
const candidateLimit = 200

// Qualify tells which codes and campaigns apply now to the customer and the
// order, each evaluated on its own, ranked by the value it gives (discount or
// gift credits) when sorting_rule is BEST_DEAL. It consumes nothing.
func (s *Service) Qualify(ctx context.Context, p string, in QualifyInput) (QualifyResult, error) {
	scenario := in.Scenario
	if scenario == "" {
		scenario = ScenarioAll
	}
	if scenario != ScenarioAll && scenario != ScenarioCustomerWallet && scenario != ScenarioAudienceOnly {
		return QualifyResult{}, core.Errorf(core.CodeInvalid, "scenario %q: this server supports ALL, CUSTOMER_WALLET and AUDIENCE_ONLY", scenario)
	}
	limit, sorting := 5, "BEST_DEAL"
	if o := in.Options; o != nil {
		if o.Limit < 0 || o.Limit > 50 {
			return QualifyResult{}, core.Errorf(core.CodeInvalid, "options.limit must be 1 to 50")
		}
		if o.Limit > 0 {
			limit = o.Limit
		}
		if o.SortingRule != "" {
			if o.SortingRule != "BEST_DEAL" && o.SortingRule != "DEFAULT" {
				return QualifyResult{}, core.Errorf(core.CodeInvalid, "options.sorting_rule %q: want BEST_DEAL or DEFAULT", o.SortingRule)
			}
			sorting = o.SortingRule
		}
	}
	var order calc.Order
	if in.Order != nil {
		order = *in.Order
	}
	base, err := calc.NewCalculation(order)
	if err != nil {
		return QualifyResult{}, err
	}
	var cust customer.Profile
	if in.Customer != nil && (in.Customer.ID != "" || in.Customer.SourceID != "") {
		// Read only: an unknown customer simply has an empty wallet.
		if cust, err = s.Customers.Find(ctx, p, customer.Ref{ID: in.Customer.ID, SourceID: in.Customer.SourceID}); err != nil && !errors.Is(err, core.ErrNotFound) {
			return QualifyResult{}, err
		}
	}
	if scenario == ScenarioCustomerWallet && in.Customer == nil {
		return QualifyResult{}, core.Errorf(core.CodeInvalid, "the CUSTOMER_WALLET scenario needs a customer")
	}
	codes, err := s.candidateCodes(ctx, p, cust.ID, scenario)
	if err != nil {
		return QualifyResult{}, err
	}
	var out []Qualified
	qs, err := s.qualifyCodes(ctx, p, codes, cust.ID, order)
	if err != nil {
		return QualifyResult{}, err
	}
	out = append(out, qs...)
	if scenario != ScenarioCustomerWallet {
		qs, err := s.qualifyCampaigns(ctx, p, in, cust, order)
		if err != nil {
			return QualifyResult{}, err
		}
		out = append(out, qs...)
	}
	if sorting == "BEST_DEAL" {
		slices.SortStableFunc(out, func(a, b Qualified) int {
			if c := cmp.Compare(b.value, a.value); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
	} else {
		slices.SortStableFunc(out, func(a, b Qualified) int { return b.CreatedAt.Compare(a.CreatedAt) })
	}
	res := QualifyResult{TrackingID: in.TrackingID, Redeemables: QualifiedList{Object: "list", DataRef: "data"}}
	if len(out) > limit {
		res.Redeemables.HasMore = true
		out = out[:limit]
	}
	res.Redeemables.Total = len(out) // Voucherify: the number returned
	if out == nil {
		out = []Qualified{}
	}
	res.Redeemables.Data = out
	o := base.Order()
	if cust.ID != "" {
		o.CustomerID = cust.ID
	}
	res.Order = &o
	return res, nil
}

// candidateCodes are the customer's wallet (codes published to them) and,
// beyond the wallet scenario, the project's standalone codes.
func (s *Service) candidateCodes(ctx context.Context, p, customerID, scenario string) ([]string, error) {
	seen := map[string]bool{}
	var codes []string
	if customerID != "" && scenario != ScenarioAudienceOnly {
		pg, err := s.Store.Query(ctx, core.Query{PK: customer.Partition(p, customerID), Prefix: "pub#", Limit: candidateLimit, Reverse: true})
		if err != nil {
			return nil, err
		}
		for _, it := range pg.Items {
			var pub struct {
				Voucher struct {
					Code string `json:"code"`
				} `json:"voucher"`
			}
			if err := json.Unmarshal(it.Data, &pub); err != nil {
				return nil, err
			}
			if c := pub.Voucher.Code; c != "" && !seen[c] {
				seen[c] = true
				codes = append(codes, c)
			}
		}
	}
	if scenario != ScenarioCustomerWallet {
		keys, _, err := listSharded(ctx, s.Store, func(shard int) string { return voucherListPartition(p, "", shard) }, listShards, core.MaxBatchGet, "")
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if !seen[k.SK] {
				seen[k.SK] = true
				codes = append(codes, k.SK)
			}
		}
	}
	return codes, nil
}

// qualifyCodes evaluates each code on its own against a fresh copy of the order.
func (s *Service) qualifyCodes(ctx context.Context, p string, codes []string, customerID string, order calc.Order) ([]Qualified, error) {
	var out []Qualified
	now := s.now()
	for len(codes) > 0 {
		chunk := codes[:min(len(codes), core.MaxBatchGet)]
		codes = codes[len(chunk):]
		keys := make([]core.Key, len(chunk))
		for i, c := range chunk {
			keys[i] = voucherKey(p, c)
		}
		items, err := s.Store.BatchGet(ctx, keys)
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
		for i, code := range chunk {
			it, ok := items[keys[i]]
			if !ok {
				continue
			}
			v := decoded[keys[i]]
			if v.HolderID != "" && v.HolderID != customerID {
				continue // someone else's code
			}
			e := evalItem{r: Redeemable{Object: "voucher", ID: code}, st: stored{item: it, v: v}, found: true}
			if e.err = s.check(e, campaigns, now); e.err != nil {
				continue
			}
			c, err := calc.NewCalculation(order)
			if err != nil {
				return nil, err
			}
			if e.err = s.price(c, &e); e.err != nil {
				continue
			}
			o := c.Order()
			q := Qualified{ID: v.Code, Object: "voucher", CreatedAt: v.CreatedAt, Result: e.result, Order: &o,
				CampaignName: v.Campaign, CampaignID: v.CampaignID, Metadata: v.Metadata, value: e.amount}
			out = append(out, q)
		}
	}
	return out, nil
}

// qualifyCampaigns offers active campaigns that still have codes to give
// (a pool code, or AUTO_UPDATE generation), priced by their template.
func (s *Service) qualifyCampaigns(ctx context.Context, p string, in QualifyInput, cust customer.Profile, order calc.Order) ([]Qualified, error) {
	camps, _, err := s.ListCampaigns(ctx, p, core.MaxBatchGet, "")
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Qualified
	for _, c := range camps {
		if !c.Active || c.Validity.check(now) != "" {
			continue
		}
		if c.Type == "STATIC" {
			code, err := s.freeCode(ctx, p, c.ID)
			if err != nil {
				return nil, err
			}
			if code == "" {
				continue
			}
		}
		v := s.newVoucher(c.fill(VoucherInput{}), "template", &c)
		e := evalItem{r: Redeemable{Object: "voucher", ID: c.ID}, st: stored{v: v}, found: true}
		calcn, err := calc.NewCalculation(order)
		if err != nil {
			return nil, err
		}
		if e.err = s.price(calcn, &e); e.err != nil {
			continue
		}
		// The campaign's rules, as Voucherify qualifies: without redemption
		// counts and budgets (they count as zero here).
		ok, err := s.rulesHold(ctx, p, c.ValidationRules, qualifyStack(in), cust, v, e.amount)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		o := calcn.Order()
		out = append(out, Qualified{ID: c.ID, Object: "campaign", CreatedAt: c.CreatedAt, Result: e.result, Order: &o,
			Name: c.Name, CampaignName: c.Name, CampaignID: c.ID, Metadata: c.Metadata, value: e.amount})
	}
	return out, nil
}

// qualifyStack turns a qualification into the stack input rules look at.
func qualifyStack(in QualifyInput) StackInput {
	return StackInput{Order: in.Order, Customer: in.Customer, TrackingID: in.TrackingID}
}

// rulesHold evaluates rules with zero counters.
func (s *Service) rulesHold(ctx context.Context, p string, ids []string, in StackInput, cust customer.Profile, v Voucher, discount int64) (bool, error) {
	rs, err := s.loadRules(ctx, p, ids)
	if err != nil {
		return false, err
	}
	input := ruleInput(in, cust, v, discount, s.now(), rules.Counters{})
	for _, r := range rs {
		if r.Evaluate(input) != nil {
			return false, nil
		}
	}
	return true, nil
}
