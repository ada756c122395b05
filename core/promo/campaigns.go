package promo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/codegen"
)

// ValidateDiscount checks a discount definition; the pricing package is the
// one judge of what a discount may say.
func ValidateDiscount(d Discount) error { return d.Validate() }

func newGenerator(cfg *CodeConfig) (*codegen.Generator, error) {
	var c codegen.Config
	if cfg != nil {
		c = codegen.Config{Length: cfg.Length, Charset: cfg.Charset, Prefix: cfg.Prefix, Postfix: cfg.Postfix, Pattern: cfg.Pattern}
	}
	g, err := codegen.New(c, rand.Reader)
	if err != nil {
		return nil, core.Errorf(core.CodeInvalid, "code_config: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return g, nil
}

// CampaignInput is Voucherify's create campaign body (codes campaigns).
type CampaignInput struct {
	Name            string          `json:"name"`
	Description     string          `json:"description,omitempty"`
	CampaignType    string          `json:"campaign_type"`
	Type            string          `json:"type,omitempty"` // AUTO_UPDATE (default) or STATIC
	JoinOnce        bool            `json:"join_once,omitempty"`
	AutoJoin        bool            `json:"auto_join,omitempty"`
	Voucher         CampaignVoucher `json:"voucher"`
	VouchersCount   int64           `json:"vouchers_count,omitempty"`
	Active          *bool           `json:"active,omitempty"`
	Category        string          `json:"category,omitempty"`
	Metadata        map[string]any  `json:"metadata,omitempty"`
	ValidationRules []string        `json:"validation_rules,omitempty"`
	Validity
}

// MaxInlineCodes is how many codes a create-campaign call generates before
// answering; larger counts are generated in the background (async action).
const MaxInlineCodes = 1000

func (in CampaignInput) validate() error {
	var probs []string
	if in.Name == "" || len(in.Name) > 200 {
		probs = append(probs, "name is required (up to 200 characters)")
	}
	switch in.CampaignType {
	case CampaignDiscountCoupons:
		if in.Voucher.Type == "" {
			in.Voucher.Type = TypeDiscount
		}
		if in.Voucher.Type != TypeDiscount {
			probs = append(probs, "voucher.type must be DISCOUNT_VOUCHER for DISCOUNT_COUPONS")
		}
	case CampaignGiftVouchers:
		if in.Voucher.Type == "" {
			in.Voucher.Type = TypeGift
		}
		if in.Voucher.Type != TypeGift {
			probs = append(probs, "voucher.type must be GIFT_VOUCHER for GIFT_VOUCHERS")
		}
	case "":
		probs = append(probs, "campaign_type is required: DISCOUNT_COUPONS or GIFT_VOUCHERS")
	default:
		probs = append(probs, fmt.Sprintf("campaign_type %q is not supported: use DISCOUNT_COUPONS or GIFT_VOUCHERS", in.CampaignType))
	}
	if in.Type != "" && in.Type != "AUTO_UPDATE" && in.Type != "STATIC" {
		probs = append(probs, fmt.Sprintf("type %q: want AUTO_UPDATE or STATIC", in.Type))
	}
	if in.VouchersCount < 0 || in.VouchersCount > 1_000_000 {
		probs = append(probs, "vouchers_count must be 0 to 1000000")
	}
	tmpl := VoucherInput{Type: in.Voucher.Type, Discount: in.Voucher.Discount, Gift: in.Voucher.Gift, Redemption: in.Voucher.Redemption, Validity: in.Validity}
	if tmpl.Type == "" {
		tmpl.Type = map[string]string{CampaignDiscountCoupons: TypeDiscount, CampaignGiftVouchers: TypeGift}[in.CampaignType]
	}
	if tmpl.Type != "" {
		if err := tmpl.validate(); err != nil {
			probs = append(probs, core.ErrorMessage(err))
		}
	}
	if in.Voucher.CodeConfig != nil {
		if _, err := newGenerator(in.Voucher.CodeConfig); err != nil {
			probs = append(probs, core.ErrorMessage(err))
		}
	}
	return joinProblems(probs)
}

// fill completes a code's input from the campaign's template.
func (c Campaign) fill(in VoucherInput) VoucherInput {
	in.Type = c.Voucher.Type
	in.Discount, in.Gift = c.Voucher.Discount, c.Voucher.Gift
	if in.Redemption == nil {
		in.Redemption = c.Voucher.Redemption
	}
	if in.CodeConfig == nil {
		in.CodeConfig = c.Voucher.CodeConfig
	}
	if in.StartDate == nil && in.ExpirationDate == nil && in.ValidityTimeframe == nil {
		in.Validity = c.Validity
	}
	if in.Category == "" {
		in.Category = c.Category
	}
	return in
}

// CreateCampaign creates a campaign and, when vouchers_count ≤
// MaxInlineCodes, its codes in the same call; above, a generation job stored
// in the campaign's own transaction makes them in the background
// (CreateCampaignAsync tells its id). Names are unique per project.
func (s *Service) CreateCampaign(ctx context.Context, p string, in CampaignInput) (Campaign, error) {
	if err := in.validate(); err != nil {
		return Campaign{}, err
	}
	if err := s.checkRules(ctx, p, in.ValidationRules); err != nil {
		return Campaign{}, err
	}
	if in.Voucher.Type == "" {
		in.Voucher.Type = map[string]string{CampaignDiscountCoupons: TypeDiscount, CampaignGiftVouchers: TypeGift}[in.CampaignType]
	}
	if in.Type == "" {
		in.Type = "AUTO_UPDATE"
	}
	c := Campaign{
		ID: s.IDs.New("camp"), Name: in.Name, Description: in.Description, CampaignType: in.CampaignType,
		Type: in.Type, JoinOnce: in.JoinOnce, AutoJoin: in.AutoJoin, Voucher: in.Voucher,
		Validity: in.Validity, Active: in.Active == nil || *in.Active, Category: in.Category,
		Metadata: in.Metadata, ValidationRules: in.ValidationRules, CreatedAt: s.now(), Object: "campaign",
	}
	data, err := json.Marshal(c)
	if err != nil {
		return Campaign{}, err
	}
	ev, err := s.eventOp(p, "campaign.created", "", c.ID, map[string]any{"campaign": c})
	if err != nil {
		return Campaign{}, err
	}
	ops := []core.Op{
		core.Put(core.Item{Key: campaignNameKey(p, c.Name), Version: 1, Data: []byte(c.ID)}, core.IfNotExists()),
		core.Put(core.Item{Key: campaignKey(p, c.ID), Version: 1, Data: data}, core.IfNotExists()),
		core.Put(core.Item{Key: campaignListKey(p, c.ID), Version: 1}),
		ev,
	}
	for _, id := range c.ValidationRules {
		more, err := assignmentOps(p, Assignment{ID: s.IDs.New("asgm"), RuleID: id, RelatedObjectID: c.ID,
			RelatedObjectType: "campaign", CreatedAt: c.CreatedAt, Object: "validation_rules_assignment"})
		if err != nil {
			return Campaign{}, err
		}
		ops = append(ops, more...)
	}
	job, err := s.campaignCodesJob(ctx, p, c, in.VouchersCount)
	if err != nil {
		return Campaign{}, err
	}
	jobOps, err := job.ops()
	if err != nil {
		return Campaign{}, err
	}
	err = s.commit(ctx, CampaignCreated{Campaign: c, AsyncActionID: job.id()}, append(ops, jobOps...)...)
	if err != nil {
		if core.FailedIndex(err) == 0 {
			return Campaign{}, core.KeyedError(core.CodeConflict, "duplicate_found", "a campaign named %q already exists", c.Name)
		}
		return Campaign{}, err
	}
	if job != nil {
		s.launch(job)
	} else if in.VouchersCount > 0 {
		if _, err := s.GenerateCodes(ctx, p, c.ID, in.VouchersCount, nil); err != nil {
			return Campaign{}, fmt.Errorf("campaign %s created, generating its codes failed: %w", c.ID, err)
		}
	}
	return s.GetCampaign(ctx, p, c.ID)
}

// GetCampaign returns a campaign (by id or name) with its code count.
func (s *Service) GetCampaign(ctx context.Context, p, idOrName string) (Campaign, error) {
	it, c, err := s.resolveCampaign(ctx, p, idOrName)
	c.VouchersCount = it.Num("vouchers")
	return c, err
}

// ListCampaigns lists campaigns in creation order.
func (s *Service) ListCampaigns(ctx context.Context, p string, limit int, cursor string) ([]Campaign, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: p + "#camps", Limit: clampLimit(limit), Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	keys := make([]core.Key, len(pg.Items))
	for i, it := range pg.Items {
		keys[i] = campaignKey(p, it.SK)
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, "", err
	}
	out := make([]Campaign, 0, len(keys))
	for _, k := range keys {
		it, ok := items[k]
		if !ok {
			continue
		}
		var c Campaign
		if err := json.Unmarshal(it.Data, &c); err != nil {
			return nil, "", err
		}
		c.VouchersCount = it.Num("vouchers")
		c.Object = "campaign"
		out = append(out, c)
	}
	return out, pg.Next, nil
}

func clampLimit(l int) int {
	if l <= 0 {
		return 10
	}
	return min(l, core.MaxBatchGet)
}

// CampaignUpdate is the changeable part of a campaign.
type CampaignUpdate struct {
	Description     *string        `json:"description,omitempty"`
	Category        *string        `json:"category,omitempty"`
	Metadata        map[string]any `json:"metadata,omitempty"`
	StartDate       *time.Time     `json:"start_date,omitempty"`
	ExpirationDate  *time.Time     `json:"expiration_date,omitempty"`
	JoinOnce        *bool          `json:"join_once,omitempty"`
	AutoJoin        *bool          `json:"auto_join,omitempty"`
	ValidationRules []string       `json:"validation_rules,omitempty"`
}

// UpdateCampaign changes a campaign's settings.
func (s *Service) UpdateCampaign(ctx context.Context, p, id string, u CampaignUpdate) (Campaign, error) {
	return s.modifyCampaign(ctx, p, id, "campaign.updated", func(c *Campaign) error {
		if u.Description != nil {
			c.Description = *u.Description
		}
		if u.Category != nil {
			c.Category = *u.Category
		}
		if u.Metadata != nil {
			c.Metadata = u.Metadata
		}
		if u.StartDate != nil {
			c.StartDate = u.StartDate
		}
		if u.ExpirationDate != nil {
			c.ExpirationDate = u.ExpirationDate
		}
		if u.JoinOnce != nil {
			c.JoinOnce = *u.JoinOnce
		}
		if u.AutoJoin != nil {
			c.AutoJoin = *u.AutoJoin
		}
		if u.ValidationRules != nil && !slices.Equal(u.ValidationRules, c.ValidationRules) {
			return core.Errorf(core.CodeInvalid, "change a campaign's validation rules with POST/DELETE /v1/validation-rules/{id}/assignments")
		}
		if c.StartDate != nil && c.ExpirationDate != nil && !c.ExpirationDate.After(*c.StartDate) {
			return core.Errorf(core.CodeInvalid, "expiration_date must be after start_date")
		}
		return nil
	})
}

// SetCampaignActive enables or disables a campaign (and so all its codes).
func (s *Service) SetCampaignActive(ctx context.Context, p, id string, active bool) (Campaign, error) {
	typ := "campaign.disabled"
	if active {
		typ = "campaign.enabled"
	}
	return s.modifyCampaign(ctx, p, id, typ, func(c *Campaign) error { c.Active = active; return nil })
}

func (s *Service) modifyCampaign(ctx context.Context, p, id, event string, change func(*Campaign) error, extra ...func() ([]core.Op, error)) (Campaign, error) {
	for attempt := 0; ; attempt++ {
		it, c, err := s.resolveCampaign(ctx, p, id)
		if err != nil {
			return Campaign{}, err
		}
		if err := change(&c); err != nil {
			return Campaign{}, err
		}
		now := s.now()
		c.UpdatedAt = &now
		c.VouchersCount = 0
		data, err := json.Marshal(c)
		if err != nil {
			return Campaign{}, err
		}
		c.VouchersCount = it.Num("vouchers")
		ev, err := s.eventOp(p, event, "", c.ID, map[string]any{"campaign": c})
		if err != nil {
			return Campaign{}, err
		}
		ops := []core.Op{core.UpdateOp(core.Update{Key: it.Key, Data: data, Conds: []core.Cond{core.IfVersion(it.Version)}}), ev}
		for _, x := range extra {
			more, err := x()
			if err != nil {
				return Campaign{}, err
			}
			ops = append(ops, more...)
		}
		err = s.commit(ctx, c, ops...)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || core.FailedIndex(err) != 0 {
			return Campaign{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return Campaign{}, err
		}
	}
}

// DeleteCampaign removes the campaign. Its codes stop validating at once (they
// name a campaign that no longer exists) and are no longer listed.
func (s *Service) DeleteCampaign(ctx context.Context, p, id string) error {
	it, c, err := s.resolveCampaign(ctx, p, id)
	if err != nil {
		return err
	}
	ev, err := s.eventOp(p, "campaign.deleted", "", c.ID, map[string]any{"campaign": c})
	if err != nil {
		return err
	}
	return s.commit(ctx, struct{}{},
		core.Delete(it.Key, core.IfVersion(it.Version)),
		core.Delete(campaignNameKey(p, c.Name)),
		core.Delete(campaignListKey(p, c.ID)),
		ev)
}

// GenerateCodes adds n generated codes to a campaign, in batches of 25 per
// transaction (four batches in flight, so the embedded engine's group commit
// and DynamoDB's partitions share the load), calling progress after each
// batch. A code that already exists is replaced by a fresh draw, so exactly
// n new codes are created; a code space too small for n is a 400 before
// anything is written.
func (s *Service) GenerateCodes(ctx context.Context, p, campaignID string, n int64, progress func(done int64)) ([]string, error) {
	_, c, err := s.resolveCampaign(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	g, err := newGenerator(c.Voucher.CodeConfig)
	if err != nil {
		return nil, err
	}
	if n > int64(g.MaxBatch()) {
		return nil, core.Errorf(core.CodeInvalid, "code_config allows about %.0f distinct codes; %d would crowd it (at most %d)", g.Space(), n, g.MaxBatch())
	}
	in := c.fill(VoucherInput{})
	const batch, workers, maxCollisions = 25, 4, 1000
	var (
		mu         sync.Mutex
		used       = make(map[string]struct{}, n) // every code drawn by this job
		created    []string
		inFlight   int64
		collisions int
	)
	// draw takes up to 25 codes this job has never drawn.
	draw := func() ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		want := min(int64(batch), n-int64(len(created))-inFlight)
		if want <= 0 {
			return nil, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		codes, err := g.Batch(int(want), func(code string) bool { _, ok := used[code]; return ok })
		if err != nil {
			if errors.Is(err, codegen.ErrSpaceTooSmall) {
				return nil, core.Errorf(core.CodeInvalid, "code_config: %v", err)
			}
			return nil, fmt.Errorf("generate codes: %w", err)
		}
		for _, code := range codes {
			used[code] = struct{}{}
		}
		inFlight += int64(len(codes))
		return codes, nil
	}
	write := func(codes []string) error {
		ops := make([]core.Op, 0, 3*len(codes)+1)
		for _, code := range codes {
			vops, err := voucherOps(p, s.newVoucher(in, code, &c))
			if err != nil {
				return err
			}
			ops = append(ops, vops...)
		}
		ops = append(ops, codesAddedOps(p, c.ID, int64(len(codes)), giftAmount(s.newVoucher(in, "x", &c)), codes[0])...)
		// A job of many transactions: no idempotency record. A write in
		// flight is never cancelled (ctx stops the next draw instead): a
		// cancelled DynamoDB request may still commit, after a resumed job
		// has counted the campaign's codes.
		return s.write(context.WithoutCancel(ctx), ops...)
	}
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				codes, err := draw()
				if err != nil {
					errc <- err
					return
				}
				if len(codes) == 0 {
					return
				}
				err = write(codes)
				mu.Lock()
				inFlight -= int64(len(codes))
				switch {
				case err == nil:
					created = append(created, codes...)
					if progress != nil {
						progress(int64(len(created)))
					}
				case errors.Is(err, core.ErrConditionFailed) && core.FailedIndex(err) < 3*len(codes):
					// A code exists already (made elsewhere): the batch wrote nothing;
					// its codes stay marked as drawn and fresh ones replace them.
					collisions++
					if collisions > maxCollisions {
						err = core.Errorf(core.CodeConflict, "code_config keeps producing codes that exist already; widen it")
					} else {
						err = nil
					}
				}
				mu.Unlock()
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return created, err
	}
	return created, nil
}
