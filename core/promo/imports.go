package promo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/calc"
)

// Imports are Voucherify's POST /v1/vouchers/import and importCSV (standalone
// codes) and POST /v1/campaigns/{id}/import and importCSV (codes of one
// campaign). They are all or nothing:
//
//  1. Before anything is stored, every row is checked (type, value, dates,
//     limits, code syntax, codes repeated within the file) and all bad rows
//     are reported at once, by line, with nothing written. Imports of up to
//     MaxInlineCodes rows also look their codes up and refuse existing ones
//     the same way.
//  2. A job then writes the codes in transactions of at most 33 codes (the
//     code, its list entry and pool place, the campaign counter, and one
//     marker item listing the batch's codes, all in one transaction). When
//     a batch meets a code that exists already (a large import, or a code
//     created meanwhile), the job deletes every code whose marker exists,
//     then reports every existing code of the file by line: nothing of the
//     import remains.
//  3. If the process stops mid-import, the codes written so far stay until
//     the next start, when ResumeJobs deletes them (the markers survive the
//     crash because they commit with the codes) and marks the job FAILED:
//     the rows lived only in the request, so the file must be sent again.
//
// Imported codes, like generated ones, emit no outbox events (a million
// voucher.created messages would cost more than the codes). A code redeemed
// or published between being written and being removed by a failing import
// is removed all the same; its redemption and publication records stay.

// Limits of one import.
const (
	MaxImportRows     = 100_000 // codes per import, Voucherify's limit per file
	MaxImportProblems = 100     // problems listed; the total is counted
)

const (
	importBatchCodes = 33
	importWorkers    = 4
	importMarkerTTL  = 30 * 24 * time.Hour
	importMarkers    = "w#" // sort-key prefix of markers in the job's partition
)

func isImport(kind string) bool {
	switch kind {
	case JobImport, JobImportCSV, JobCampaignImport, JobCampaignImportCSV:
		return true
	}
	return false
}

// ImportProblem is one bad row: its line in the file (for JSON, the line
// where the item starts, and Item its 1-based position in the array).
type ImportProblem struct {
	Line   int    `json:"line,omitempty"`
	Item   int    `json:"item,omitempty"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason"`
}

func (p ImportProblem) String() string {
	if p.Item > 0 {
		return fmt.Sprintf("item %d (line %d): %s", p.Item, p.Line, p.Reason)
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
}

// ImportProblems is the cause (core.Error.Err) of a refused import: the
// first MaxImportProblems problems by line, and how many there were.
type ImportProblems struct {
	Problems []ImportProblem
	Total    int
}

func (e *ImportProblems) Error() string { return fmt.Sprintf("%d bad row(s)", e.Total) }

// importError is the 400 of a refused import, keyed like Voucherify's
// (invalid_voucher, duplicate_key).
func importError(key, summary string, probs []ImportProblem) error {
	sort.SliceStable(probs, func(i, j int) bool {
		if probs[i].Line != probs[j].Line {
			return probs[i].Line < probs[j].Line
		}
		return probs[i].Item < probs[j].Item
	})
	shown := probs[:min(len(probs), MaxImportProblems)]
	msg := make([]string, 0, 10)
	for _, p := range shown[:min(len(shown), 10)] {
		msg = append(msg, p.String())
	}
	text := summary + "; nothing was imported: " + strings.Join(msg, "; ")
	if len(probs) > 10 {
		text += fmt.Sprintf("; and %d more", len(probs)-10)
	}
	return &core.Error{Code: core.CodeInvalid, Key: key, Message: text,
		Err: &ImportProblems{Problems: slices.Clone(shown), Total: len(probs)}}
}

func invalidPayload(format string, args ...any) error {
	return core.KeyedError(core.CodeInvalid, "invalid_payload", format, args...)
}

// ImportRow is one code of an import file.
type ImportRow struct {
	Line int // line in the file where the row starts
	Item int // 1-based position in a JSON array; 0 for CSV
	// Voucher is the code as far as the file says; campaign imports take
	// type, discount, gift value (unless the row has one), limits and
	// validity from the campaign, as Voucherify does.
	Voucher VoucherInput
	// Value and DiscountType are a CSV row's Value and Discount Type, read
	// once the row's type is known: a gift card's amount, or the amount_off
	// (AMOUNT), percent_off (PERCENT) or fixed_amount (FIXED) of a
	// standalone discount code. Amounts are in cents, as everywhere.
	Value        string
	DiscountType string
	// RedeemedQuantity and RedeemedAmount carry over usage from another
	// system (CSV Redeemed Quantity, Redeemed Amount).
	RedeemedQuantity *int64
	RedeemedAmount   *int64
	// Problems are what the parser found wrong with the row.
	Problems []string
}

// ImportInput is a parsed import.
type ImportInput struct {
	Type     string // JobImport, JobImportCSV, JobCampaignImport or JobCampaignImportCSV
	Campaign string // id or name, for campaign imports
	Rows     []ImportRow
}

// ImportVouchers checks every row and starts the job that writes the codes
// (see the comment at the top of imports.go). Bad rows make an error with key
// invalid_voucher, existing codes one with key duplicate_key, both wrapping
// *ImportProblems; nothing is written then.
func (s *Service) ImportVouchers(ctx context.Context, p string, in ImportInput) (JobStarted, error) {
	if in.Type == "" {
		in.Type = JobImport
		if in.Campaign != "" {
			in.Type = JobCampaignImport
		}
	}
	if !isImport(in.Type) {
		return JobStarted{}, core.Errorf(core.CodeInvalid, "unknown import type %q", in.Type)
	}
	if _, err := s.runner(); err != nil {
		return JobStarted{}, err
	}
	plan, err := s.planImport(ctx, p, in)
	if err != nil {
		return JobStarted{}, err
	}
	if len(plan.codes) <= MaxInlineCodes {
		if probs, err := s.existingCodes(ctx, p, plan.codes); err != nil {
			return JobStarted{}, err
		} else if len(probs) > 0 {
			return JobStarted{}, importError("duplicate_key", fmt.Sprintf("%d voucher code(s) already exist", len(probs)), probs)
		}
	}
	js, err := s.newJob(ctx, p, "", in.Type, int64(len(plan.codes)))
	if err != nil {
		return JobStarted{}, err
	}
	id := js.rec.ID
	js.fn = func(ctx context.Context, progress *JobProgress) (JobResult, error) {
		return s.runImport(ctx, p, id, plan, progress)
	}
	return s.storeAndLaunch(ctx, js)
}

// importCode is a checked row, ready to write.
type importCode struct {
	line, item  int
	in          VoucherInput
	camp        *Campaign
	redeemedQty int64
	redeemedAmt int64
}

type importPlan struct {
	codes   []importCode
	batches [][2]int // [from, to) into codes
}

// planImport checks every row and reports all bad ones at once.
func (s *Service) planImport(ctx context.Context, p string, in ImportInput) (*importPlan, error) {
	switch {
	case len(in.Rows) == 0:
		return nil, invalidPayload("the import has no codes")
	case len(in.Rows) > MaxImportRows:
		return nil, invalidPayload("%d codes in one import; the limit is %d", len(in.Rows), MaxImportRows)
	}
	var camp *Campaign
	if in.Campaign != "" {
		_, c, err := s.resolveCampaign(ctx, p, in.Campaign)
		if err != nil {
			return nil, err
		}
		camp = &c
	}
	camps := map[string]*Campaign{}
	type place struct{ line, item int }
	first := make(map[string]place, len(in.Rows))
	plan := &importPlan{codes: make([]importCode, 0, len(in.Rows))}
	var probs []ImportProblem
	for _, row := range in.Rows {
		code, reasons, err := s.planRow(ctx, p, row, camp, camps)
		if err != nil {
			return nil, err
		}
		if c := row.Voucher.Code; c != "" {
			if prev, dup := first[c]; dup {
				where := fmt.Sprintf("line %d", prev.line)
				if prev.item > 0 {
					where = fmt.Sprintf("item %d", prev.item)
				}
				reasons = append(reasons, fmt.Sprintf("code %s repeats %s", c, where))
			} else {
				first[c] = place{row.Line, row.Item}
			}
		}
		if len(reasons) > 0 {
			probs = append(probs, ImportProblem{Line: row.Line, Item: row.Item, Code: row.Voucher.Code, Reason: strings.Join(reasons, "; ")})
			continue
		}
		plan.codes = append(plan.codes, code)
	}
	if len(probs) > 0 {
		return nil, importError("invalid_voucher", fmt.Sprintf("%d of %d rows are invalid", len(probs), len(in.Rows)), probs)
	}
	plan.pack(len(voucherOpsShape(p, false)), len(voucherOpsShape(p, true)))
	return plan, nil
}

// voucherOpsShape returns the writes of one code, to size transactions.
func voucherOpsShape(p string, inCampaign bool) []core.Op {
	v := Voucher{Code: "x"}
	if inCampaign {
		v.CampaignID = "c"
	}
	ops, _ := voucherOps(p, v)
	return ops
}

// planRow turns a row into a code ready to write, or the reasons it is bad.
// camp is the import's campaign; camps caches campaigns rows name.
func (s *Service) planRow(ctx context.Context, p string, row ImportRow, camp *Campaign, camps map[string]*Campaign) (importCode, []string, error) {
	reasons := slices.Clone(row.Problems)
	in := row.Voucher
	out := importCode{line: row.Line, item: row.Item}
	if in.Code == "" {
		reasons = append(reasons, "code is required")
	} else if err := ValidateCode(in.Code); err != nil {
		reasons = append(reasons, core.ErrorMessage(err))
	}
	if camp == nil {
		if ref := firstNonEmpty(in.CampaignID, in.Campaign); ref != "" {
			c, ok := camps[ref]
			if !ok {
				_, found, err := s.resolveCampaign(ctx, p, ref)
				switch {
				case err == nil:
					c = &found
				case !errors.Is(err, core.ErrNotFound):
					return out, nil, err
				}
				camps[ref] = c
			}
			if c == nil {
				return out, append(reasons, fmt.Sprintf("campaign %s not found", ref)), nil
			}
			camp = c
		}
	}
	if camp != nil {
		if in.Type != "" && in.Type != camp.Voucher.Type {
			reasons = append(reasons, fmt.Sprintf("type %s does not match the campaign's %s", in.Type, camp.Voucher.Type))
		}
		own := in.Gift
		in = camp.fill(in)
		if camp.Voucher.Type == TypeGift {
			switch {
			case own != nil:
				in.Gift = &Gift{Amount: own.Amount}
			case row.Value != "":
				amount, err := parseCents("Value", row.Value)
				if err != nil {
					reasons = append(reasons, err.Error())
				}
				in.Gift = &Gift{Amount: amount}
			}
		}
	} else if row.Value != "" || row.DiscountType != "" {
		switch in.Type {
		case TypeGift:
			if in.Gift == nil {
				amount, err := parseCents("Value", row.Value)
				if err != nil {
					reasons = append(reasons, err.Error())
				}
				in.Gift = &Gift{Amount: amount}
			}
		case TypeDiscount:
			if in.Discount == nil {
				d, err := csvDiscount(row.DiscountType, row.Value)
				if err != nil {
					reasons = append(reasons, err.Error())
				}
				in.Discount = d
			}
		}
	}
	if err := in.validate(); err != nil {
		reasons = append(reasons, core.ErrorMessage(err))
	}
	if q := row.RedeemedQuantity; q != nil {
		switch {
		case *q < 0:
			reasons = append(reasons, "redeemed quantity must not be negative")
		case in.Redemption != nil && in.Redemption.Quantity != nil && *q > *in.Redemption.Quantity:
			reasons = append(reasons, fmt.Sprintf("redeemed quantity %d exceeds the redemption limit %d", *q, *in.Redemption.Quantity))
		}
		out.redeemedQty = *q
	}
	if a := row.RedeemedAmount; a != nil {
		switch {
		case in.Type != TypeGift:
			reasons = append(reasons, "redeemed amount applies to gift cards only")
		case in.Gift != nil && (*a < 0 || *a > in.Gift.Amount):
			reasons = append(reasons, fmt.Sprintf("redeemed amount must be 0 to the gift amount %d", in.Gift.Amount))
		}
		out.redeemedAmt = *a
	}
	out.in, out.camp = in, camp
	return out, reasons, nil
}

// csvDiscount builds a standalone code's discount from CSV cells.
func csvDiscount(typ, value string) (*Discount, error) {
	if typ == "" {
		return nil, errors.New("discount type is required for a DISCOUNT_VOUCHER: AMOUNT, PERCENT or FIXED")
	}
	if value == "" {
		return nil, fmt.Errorf("value is required for a %s discount", typ)
	}
	switch typ {
	case calc.DiscountAmount, calc.DiscountFixed:
		n, err := parseCents("Value", value)
		if err != nil {
			return nil, err
		}
		if typ == calc.DiscountAmount {
			return &Discount{Type: typ, AmountOff: &n}, nil
		}
		return &Discount{Type: typ, FixedAmount: &n}, nil
	case calc.DiscountPercent:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("value %q is not a percentage", value)
		}
		return &Discount{Type: typ, PercentOff: &f}, nil
	case calc.DiscountUnit:
		return nil, errors.New("UNIT discounts need a unit_type: import them as JSON")
	}
	return nil, fmt.Errorf("discount type %q: want AMOUNT, PERCENT or FIXED", typ)
}

// pack cuts the codes into transactions: at most importBatchCodes codes, and
// their writes, two updates per campaign (code counter, statistics) and the
// marker within core.MaxTransactOps.
func (plan *importPlan) pack(opsStandalone, opsCampaign int) {
	start, ops := 0, 1 // the marker
	camps := map[string]bool{}
	need := func(c importCode) int {
		if c.camp == nil {
			return opsStandalone
		}
		if camps[c.camp.ID] {
			return opsCampaign
		}
		return opsCampaign + 2
	}
	for i, c := range plan.codes {
		if i > start && (i-start == importBatchCodes || ops+need(c) > core.MaxTransactOps) {
			plan.batches = append(plan.batches, [2]int{start, i})
			start, ops = i, 1
			clear(camps)
		}
		ops += need(c)
		if c.camp != nil {
			camps[c.camp.ID] = true
		}
	}
	if start < len(plan.codes) {
		plan.batches = append(plan.batches, [2]int{start, len(plan.codes)})
	}
}

// existingCodes returns the codes that exist already, as problems.
func (s *Service) existingCodes(ctx context.Context, p string, codes []importCode) ([]ImportProblem, error) {
	var probs []ImportProblem
	for lo := 0; lo < len(codes); lo += core.MaxBatchGet {
		chunk := codes[lo:min(lo+core.MaxBatchGet, len(codes))]
		keys := make([]core.Key, len(chunk))
		for i, c := range chunk {
			keys[i] = voucherKey(p, c.in.Code)
		}
		items, err := s.Store.BatchGet(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i, c := range chunk {
			if _, ok := items[keys[i]]; ok {
				probs = append(probs, ImportProblem{Line: c.line, Item: c.item, Code: c.in.Code, Reason: fmt.Sprintf("code %s already exists", c.in.Code)})
			}
		}
	}
	return probs, nil
}

// importMarker lists the codes one batch wrote (with their ids, so that a
// code deleted and created anew by someone else is never removed).
type importMarker struct {
	Codes []string `json:"codes"`
	IDs   []string `json:"ids"`
}

func importMarkerKey(p, jobID string, batch int) core.Key {
	return core.Key{PK: jobKey(p, jobID).PK, SK: fmt.Sprintf("%s%08d", importMarkers, batch)}
}

// importCollision is a batch that met an existing code.
type importCollision struct{ code importCode }

func (e *importCollision) Error() string { return "code " + e.code.in.Code + " already exists" }

// runImport writes the plan's batches, four at a time, and undoes them all
// when one fails.
func (s *Service) runImport(ctx context.Context, p, jobID string, plan *importPlan, progress *JobProgress) (JobResult, error) {
	total := int64(len(plan.codes))
	progress.SetTotal(total)
	// A failure or ctx stops the workers between batches, never by
	// cancelling a write in flight: a cancelled DynamoDB request may still
	// commit after the undo has looked for its marker.
	wctx := context.WithoutCancel(ctx)
	var (
		next    atomic.Int64
		stopped atomic.Bool
		mu      sync.Mutex
		failure error
		wg      sync.WaitGroup
	)
	for range importWorkers {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= len(plan.batches) || stopped.Load() || ctx.Err() != nil {
					return
				}
				lo, hi := plan.batches[b][0], plan.batches[b][1]
				err := s.writeImportBatch(wctx, p, jobID, b, plan.codes[lo:hi])
				if err == nil {
					progress.Add(int64(hi - lo))
					continue
				}
				mu.Lock()
				if failure == nil {
					failure = err
				}
				mu.Unlock()
				stopped.Store(true)
				return
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return JobResult{}, ctx.Err() // the runner stops; ResumeJobs removes what was written
	}
	if failure == nil {
		return JobResult{Message: fmt.Sprintf("%d voucher(s) imported successfully", total), DoneCount: total}, nil
	}
	removed, err := s.undoImport(ctx, p, jobID)
	if err != nil {
		// The written codes must go: leave the job to ResumeJobs, which
		// removes them after the next start.
		return JobResult{}, fmt.Errorf("%w: removing a failed import's codes: %w", errJobUnfinished, err)
	}
	progress.Set(0)
	var coll *importCollision
	if !errors.As(failure, &coll) {
		return JobResult{Message: fmt.Sprintf("import failed, nothing was imported (%d written code(s) removed): %s", removed, core.ErrorMessage(failure))}, failure
	}
	probs, err := s.existingCodes(ctx, p, plan.codes)
	if err != nil {
		probs = nil // report at least the code that stopped the import
	}
	if len(probs) == 0 {
		c := coll.code
		probs = []ImportProblem{{Line: c.line, Item: c.item, Code: c.in.Code, Reason: fmt.Sprintf("code %s already exists", c.in.Code)}}
	}
	res := JobResult{Message: fmt.Sprintf("%d voucher code(s) already exist; nothing was imported", len(probs)),
		FailedCount: len(probs), Failed: probs[:min(len(probs), MaxImportProblems)]}
	return res, core.KeyedError(core.CodeInvalid, "duplicate_key", "%s", res.Message)
}

// writeImportBatch writes one batch and its marker in one transaction.
func (s *Service) writeImportBatch(ctx context.Context, p, jobID string, batch int, codes []importCode) error {
	ops := make([]core.Op, 0, core.MaxTransactOps)
	owner := make([]int, 0, core.MaxTransactOps) // code index of each code's own item, else -1
	var mk importMarker
	counts := map[string]int64{}
	var camps []string
	created := stats{}
	for i, c := range codes {
		v := s.newVoucher(c.in, c.in.Code, c.camp)
		vops, err := voucherOps(p, v)
		if err != nil {
			return err
		}
		for _, op := range vops {
			if op.Kind == core.OpPut && op.Item.Key == voucherKey(p, v.Code) {
				if c.redeemedQty > 0 {
					op.Item.Nums[numRedeemed] = c.redeemedQty
				}
				if c.redeemedAmt > 0 {
					op.Item.Nums[numBalance] = v.Gift.Amount - c.redeemedAmt
				}
				owner = append(owner, i)
			} else {
				owner = append(owner, -1)
			}
			ops = append(ops, op)
		}
		mk.Codes, mk.IDs = append(mk.Codes, v.Code), append(mk.IDs, v.ID)
		if c.camp != nil {
			if counts[c.camp.ID] == 0 {
				camps = append(camps, c.camp.ID)
			}
			counts[c.camp.ID]++
			created.add(c.camp.ID, statGiftCreated, giftAmount(v))
		}
	}
	// The campaign counters and statistics change as codesAddedOps's do;
	// the codes' gift amounts may differ, so the statistics are summed here.
	counterOf := map[int]string{}
	for _, id := range camps {
		ops = appendCounting(ops, counterOf, p, id, codesAddedOps(p, id, counts[id], 0, ""))
	}
	ops = append(ops, created.ops(p, mk.Codes[0])...)
	data, err := json.Marshal(mk)
	if err != nil {
		return err
	}
	ops = append(ops, core.Put(core.Item{Key: importMarkerKey(p, jobID, batch), Version: 1, Data: data,
		ExpiresAt: s.now().Add(importMarkerTTL).Unix()}, core.IfNotExists()))
	err = s.write(ctx, ops...)
	if !errors.Is(err, core.ErrConditionFailed) {
		return err
	}
	i := core.FailedIndex(err)
	if i >= 0 && i < len(owner) && owner[i] >= 0 {
		return &importCollision{code: codes[owner[i]]}
	}
	if id, ok := counterOf[i]; ok {
		return core.Errorf(core.CodeConflict, "campaign %s was deleted during the import", id)
	}
	return err
}

// appendCounting appends more to ops, noting in counterOf the index of the
// campaign's code counter update (the one that fails when the campaign is
// gone).
func appendCounting(ops []core.Op, counterOf map[int]string, p, campaignID string, more []core.Op) []core.Op {
	for _, op := range more {
		if op.Target() == campaignKey(p, campaignID) {
			counterOf[len(ops)] = campaignID
		}
		ops = append(ops, op)
	}
	return ops
}

// undoImport deletes every code the job's markers list, with the markers.
// It is idempotent: a marker goes with its codes in one transaction.
func (s *Service) undoImport(ctx context.Context, p, jobID string) (int64, error) {
	var removed int64
	for {
		pg, err := s.Store.Query(ctx, core.Query{PK: jobKey(p, jobID).PK, Prefix: importMarkers, Limit: core.DefaultLimit})
		if err != nil {
			return removed, err
		}
		if len(pg.Items) == 0 {
			return removed, nil
		}
		for _, m := range pg.Items {
			n, err := s.undoBatch(ctx, p, m)
			removed += n
			if err != nil {
				return removed, err
			}
		}
	}
}

// undoBatch deletes one marker's codes that are still the ones it wrote,
// adjusting their campaigns' counters.
func (s *Service) undoBatch(ctx context.Context, p string, marker core.Item) (int64, error) {
	var mk importMarker
	if err := json.Unmarshal(marker.Data, &mk); err != nil || len(mk.IDs) != len(mk.Codes) {
		return 0, fmt.Errorf("decode import marker %s: bad marker", marker.Key)
	}
	gone := map[string]bool{} // campaigns deleted meanwhile
	for attempt := 0; ; attempt++ {
		keys := make([]core.Key, len(mk.Codes))
		for i, code := range mk.Codes {
			keys[i] = voucherKey(p, code)
		}
		items, err := s.Store.BatchGet(ctx, keys)
		if err != nil {
			return 0, err
		}
		var ops []core.Op
		counts := map[string]int64{}
		var camps []string
		created := stats{}
		n := int64(0)
		for i, code := range mk.Codes {
			it, ok := items[keys[i]]
			if !ok {
				continue
			}
			var v struct {
				ID         string `json:"id"`
				CampaignID string `json:"campaign_id"`
				Gift       *Gift  `json:"gift"`
			}
			if err := json.Unmarshal(it.Data, &v); err != nil || v.ID != mk.IDs[i] {
				continue // not the code this import wrote
			}
			ops = append(ops, core.Delete(it.Key, core.IfVersion(it.Version)), core.Delete(voucherListKey(p, v.CampaignID, code)))
			if v.CampaignID != "" {
				ops = append(ops, core.Delete(poolKey(p, v.CampaignID, code)))
				if counts[v.CampaignID] == 0 && !gone[v.CampaignID] {
					camps = append(camps, v.CampaignID)
				}
				counts[v.CampaignID]++
				if v.Gift != nil && !gone[v.CampaignID] {
					created.add(v.CampaignID, statGiftCreated, -v.Gift.Amount)
				}
			}
			n++
		}
		// As if the codes had never been made: counters and statistics go
		// back (no vouchers_deleted).
		counterOf := map[int]string{}
		for _, id := range camps {
			ops = appendCounting(ops, counterOf, p, id, codesAddedOps(p, id, -counts[id], 0, ""))
		}
		ops = append(ops, created.ops(p, mk.Codes[0])...)
		ops = append(ops, core.Delete(marker.Key))
		err = s.write(ctx, ops...)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) || attempt >= 20 {
			return 0, err
		}
		// A code changed (redeemed, say) or a campaign went: read again.
		if id, ok := counterOf[core.FailedIndex(err)]; ok {
			gone[id] = true
		}
		if err := backoff(ctx, attempt); err != nil {
			return 0, err
		}
	}
}

// abandonImport is the job ResumeJobs runs for an interrupted import.
func (s *Service) abandonImport(p, jobID string) JobFunc {
	return func(ctx context.Context, progress *JobProgress) (JobResult, error) {
		removed, err := s.undoImport(ctx, p, jobID)
		if err != nil {
			return JobResult{}, fmt.Errorf("%w: %w", errJobUnfinished, err)
		}
		progress.Set(0)
		return JobResult{Message: fmt.Sprintf("the import was interrupted by a restart; the %d code(s) it had written were removed and nothing was imported: send the file again", removed)},
			core.Errorf(core.CodeUnavailable, "import interrupted")
	}
}

// ---- parsing

var utf8BOM = []byte("\xef\xbb\xbf")

// ParseImportJSON reads Voucherify's JSON import body: an array of codes,
// or {"vouchers": [...]}. Fields it does not know are skipped, as Voucherify
// does. Problems of one item are kept in its row; an error means the body
// is not such JSON at all (key invalid_payload).
func ParseImportJSON(body []byte) ([]ImportRow, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	dec := json.NewDecoder(bytes.NewReader(body))
	lines := &lineCounter{body: body}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(body, err)
	}
	if tok == json.Delim('[') {
		return readImportItems(dec, body, lines)
	}
	if tok != json.Delim('{') {
		return nil, invalidPayload(`the body must be an array of codes or {"vouchers": [...]}`)
	}
	var rows []ImportRow
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, jsonSyntax(body, err)
		}
		if key != "vouchers" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, jsonSyntax(body, err)
			}
			continue
		}
		if t, err := dec.Token(); err != nil {
			return nil, jsonSyntax(body, err)
		} else if t != json.Delim('[') {
			return nil, invalidPayload("vouchers must be an array of codes")
		}
		if rows, err = readImportItems(dec, body, lines); err != nil {
			return nil, err
		}
		found = true
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonSyntax(body, err)
	}
	if !found {
		return nil, invalidPayload(`the body must be an array of codes or {"vouchers": [...]}`)
	}
	return rows, nil
}

// readImportItems reads array elements up to and including the closing ']'.
func readImportItems(dec *json.Decoder, body []byte, lines *lineCounter) ([]ImportRow, error) {
	rows := []ImportRow{}
	for dec.More() {
		start := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonSyntax(body, err)
		}
		for start < len(body) && strings.IndexByte(" \t\r\n,", body[start]) >= 0 {
			start++
		}
		if len(rows) == MaxImportRows {
			return nil, invalidPayload("more than %d codes in one import", MaxImportRows)
		}
		row := ImportRow{Item: len(rows) + 1, Line: lines.at(start)}
		decodeImportItem(raw, &row)
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, jsonSyntax(body, err)
	}
	return rows, nil
}

func jsonSyntax(body []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalidPayload("malformed JSON at line %d (byte %d)", (&lineCounter{body: body}).at(int(se.Offset)), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidPayload("the JSON body ends too early")
	}
	return invalidPayload("malformed JSON: %v", err)
}

// lineCounter turns increasing byte offsets into 1-based line numbers.
type lineCounter struct {
	body []byte
	pos  int
	line int
}

func (l *lineCounter) at(off int) int {
	off = min(max(off, 0), len(l.body))
	if off < l.pos {
		l.pos, l.line = 0, 0
	}
	l.line += bytes.Count(l.body[l.pos:off], []byte{'\n'})
	l.pos = off
	return l.line + 1
}

// importItem is one element of a JSON import.
type importItem struct {
	Code     string    `json:"code"`
	Type     string    `json:"type"`
	Category string    `json:"category"`
	Active   *bool     `json:"active"`
	Discount *Discount `json:"discount"`
	Gift     *struct {
		Amount *int64 `json:"amount"`
	} `json:"gift"`
	Redemption *struct {
		Quantity *int64 `json:"quantity"`
	} `json:"redemption"`
	StartDate         json.RawMessage    `json:"start_date"`
	ExpirationDate    json.RawMessage    `json:"expiration_date"`
	ValidityTimeframe *ValidityTimeframe `json:"validity_timeframe"`
	ValidityDayOfWeek []int              `json:"validity_day_of_week"`
	ValidityHours     *ValidityHours     `json:"validity_hours"`
	AdditionalInfo    string             `json:"additional_info"`
	Metadata          map[string]any     `json:"metadata"`
	Campaign          string             `json:"campaign"`
	CampaignID        string             `json:"campaign_id"`
	LoyaltyCard       json.RawMessage    `json:"loyalty_card"`
}

func decodeImportItem(raw json.RawMessage, row *ImportRow) {
	var it importItem
	if err := json.Unmarshal(raw, &it); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			row.Problems = append(row.Problems, fmt.Sprintf("field %s: expected %s, got %s", te.Field, te.Type, te.Value))
		} else {
			row.Problems = append(row.Problems, "each code must be a JSON object")
			return
		}
	}
	row.Voucher = VoucherInput{
		Code: it.Code, Type: it.Type, Category: it.Category, Active: it.Active, Discount: it.Discount,
		AdditionalInfo: it.AdditionalInfo, Metadata: it.Metadata, Campaign: it.Campaign, CampaignID: it.CampaignID,
		Validity: Validity{ValidityTimeframe: it.ValidityTimeframe, ValidityDayOfWeek: it.ValidityDayOfWeek, ValidityHours: it.ValidityHours},
	}
	if it.Gift != nil && it.Gift.Amount != nil {
		row.Voucher.Gift = &Gift{Amount: *it.Gift.Amount}
	}
	if it.Redemption != nil {
		row.Voucher.Redemption = &RedemptionLimit{Quantity: it.Redemption.Quantity}
	}
	if it.Type == TypeLoyalty || len(it.LoyaltyCard) > 0 {
		row.Problems = append(row.Problems, "loyalty cards are not supported")
	}
	for _, d := range []struct {
		name string
		raw  json.RawMessage
		dst  **time.Time
	}{{"start_date", it.StartDate, &row.Voucher.StartDate}, {"expiration_date", it.ExpirationDate, &row.Voucher.ExpirationDate}} {
		if len(d.raw) == 0 || string(d.raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(d.raw, &s); err != nil {
			row.Problems = append(row.Problems, d.name+" must be a date string such as 2026-12-31 or 2026-12-31T23:59:59Z")
			continue
		}
		t, err := parseImportDate(d.name, s)
		if err != nil {
			row.Problems = append(row.Problems, err.Error())
			continue
		}
		*d.dst = &t
	}
}

// importDateLayouts are the ISO 8601 forms Voucherify accepts; without a
// zone the time is UTC.
var importDateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"}

func parseImportDate(name, s string) (time.Time, error) {
	for _, layout := range importDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not an ISO 8601 date such as 2026-12-31 or 2026-12-31T23:59:59Z", name, s)
}

func parseCents(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a whole number of cents", name, s)
	}
	return n, nil
}

// CSV import fields: the targets of columns. Columns not named here (nor
// mapped) become metadata, as in Voucherify.
const (
	FieldCode             = "code"
	FieldType             = "type"
	FieldValue            = "value"
	FieldDiscountType     = "discount_type"
	FieldGiftAmount       = "gift_amount"
	FieldCategory         = "category"
	FieldStartDate        = "start_date"
	FieldExpirationDate   = "expiration_date"
	FieldRedemptionLimit  = "redemption_limit"
	FieldRedeemedQuantity = "redeemed_quantity"
	FieldRedeemedAmount   = "redeemed_amount"
	FieldActive           = "active"
	FieldAdditionalInfo   = "additional_info"
	FieldIgnore           = "ignore"         // drop the column
	FieldMetadataPrefix   = "metadata."      // metadata.<key>
	fieldLoyaltyPoints    = "loyalty_points" // Voucherify's, refused
)

// csvHeaders maps Voucherify's CSV headers (normalised: lower case, single
// spaces for '_', '-' and runs of spaces) to fields.
var csvHeaders = map[string]string{
	"code": FieldCode, "voucher code": FieldCode,
	"voucher type": FieldType, "type": FieldType,
	"value": FieldValue, "discount type": FieldDiscountType,
	"gift amount": FieldGiftAmount, "balance": FieldGiftAmount,
	"category":   FieldCategory,
	"start date": FieldStartDate, "expiration date": FieldExpirationDate, "expiration": FieldExpirationDate,
	"expiry date": FieldExpirationDate, "expiry": FieldExpirationDate,
	"redemption limit": FieldRedemptionLimit, "redeemed quantity": FieldRedeemedQuantity,
	"redeemed amount": FieldRedeemedAmount, "active": FieldActive, "additional info": FieldAdditionalInfo,
	"loyalty points": fieldLoyaltyPoints,
}

func normalizeHeader(h string) string {
	h = strings.ToLower(strings.NewReplacer("_", " ", "-", " ").Replace(h))
	return strings.Join(strings.Fields(h), " ")
}

// csvField resolves a mapping target: a field name, a Voucherify header, or
// metadata.<key>.
func csvField(target string) (string, bool) {
	if key, ok := strings.CutPrefix(target, FieldMetadataPrefix); ok {
		return target, strings.TrimSpace(key) != ""
	}
	t := normalizeHeader(target)
	if t == FieldIgnore {
		return FieldIgnore, true
	}
	f, ok := csvHeaders[t]
	return f, ok
}

type csvColumn struct {
	header string
	field  string // a Field…, or metadata.<key>
}

// csvColumns maps the header row to fields; mapping (header name to field)
// overrides the standard names.
func csvColumns(header []string, mapping map[string]string) ([]csvColumn, error) {
	var probs []string
	index := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := index[h]; dup {
			probs = append(probs, fmt.Sprintf("column %q appears twice", h))
		}
		index[h] = i
	}
	var unknown []string
	for name := range mapping {
		if _, ok := index[strings.TrimSpace(name)]; !ok {
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		probs = append(probs, "mapping names columns the file does not have: "+strings.Join(unknown, ", "))
	}
	trimmed := map[string]string{}
	for k, v := range mapping {
		trimmed[strings.TrimSpace(k)] = v
	}
	cols := make([]csvColumn, len(header))
	owner := map[string]string{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		col := csvColumn{header: h}
		if target, ok := trimmed[h]; ok {
			f, ok := csvField(target)
			if !ok {
				probs = append(probs, fmt.Sprintf("mapping of column %q: unknown field %q (use code, type, value, discount_type, gift_amount, category, start_date, expiration_date, redemption_limit, redeemed_quantity, redeemed_amount, active, additional_info, metadata.<key> or ignore)", h, target))
				continue
			}
			col.field = f
		} else if f, ok := csvHeaders[normalizeHeader(h)]; ok {
			col.field = f
		} else if h == "" {
			probs = append(probs, fmt.Sprintf("column %d has no header: name it, or map it to ignore", i+1))
			continue
		} else {
			col.field = FieldMetadataPrefix + h
		}
		if col.field == fieldLoyaltyPoints {
			probs = append(probs, fmt.Sprintf("column %q: loyalty cards are not supported", h))
		}
		if col.field != FieldIgnore {
			if prev, dup := owner[col.field]; dup {
				probs = append(probs, fmt.Sprintf("columns %q and %q both give %s", prev, h, col.field))
			}
			owner[col.field] = h
		}
		cols[i] = col
	}
	if _, ok := owner[FieldCode]; !ok && len(probs) == 0 {
		probs = append(probs, "the file has no Code column (name one Code, or map one to code)")
	}
	if len(probs) > 0 {
		return nil, invalidPayload("%s", strings.Join(probs, "; "))
	}
	return cols, nil
}

// ParseImportCSV reads a CSV import: a header row, then one code per row.
// Columns are recognised by Voucherify's header names (Code, Voucher Type,
// Value, Discount Type, Gift Amount, Category, Start Date, Expiration Date,
// Redemption Limit, Redeemed Quantity, Redeemed Amount, Active, Additional
// Info; case, '_' and '-' do not matter) or by mapping (header name to a
// Field… name, a Voucherify header, "metadata.<key>" or "ignore"); other
// columns become metadata (string values). Blank rows are skipped. Problems
// of one row are kept in it; an error means the file cannot be read as such
// CSV (key invalid_payload).
func ParseImportCSV(data []byte, mapping map[string]string) ([]ImportRow, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalidPayload("the CSV file is empty: it needs a header row such as Code,Value,Expiration Date")
	}
	if err != nil {
		return nil, csvSyntax(err)
	}
	cols, err := csvColumns(header, mapping)
	if err != nil {
		return nil, err
	}
	var rows []ImportRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, csvSyntax(err)
		}
		if blank(rec) {
			continue
		}
		if len(rows) == MaxImportRows {
			return nil, invalidPayload("more than %d codes in one import", MaxImportRows)
		}
		line, _ := r.FieldPos(0)
		row := ImportRow{Line: line}
		if len(rec) != len(cols) {
			row.Problems = append(row.Problems, fmt.Sprintf("%d fields, but the header has %d", len(rec), len(cols)))
		}
		for i, v := range rec[:min(len(rec), len(cols))] {
			cols[i].assign(&row, strings.TrimSpace(v))
		}
		rows = append(rows, row)
	}
}

func csvSyntax(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalidPayload("malformed CSV at line %d: %v", pe.StartLine, pe.Err)
	}
	return invalidPayload("malformed CSV: %v", err)
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func (c csvColumn) assign(row *ImportRow, v string) {
	if v == "" {
		return
	}
	bad := func(format string, args ...any) {
		row.Problems = append(row.Problems, c.header+": "+fmt.Sprintf(format, args...))
	}
	integer := func() (int64, bool) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad("%q is not a whole number", v)
		}
		return n, err == nil
	}
	in := &row.Voucher
	switch c.field {
	case FieldCode:
		in.Code = v
	case FieldType:
		switch strings.ToUpper(v) {
		case TypeGift, "GIFT":
			in.Type = TypeGift
		case TypeDiscount, "DISCOUNT":
			in.Type = TypeDiscount
		case TypeLoyalty:
			bad("loyalty cards are not supported")
		default:
			bad("%q: want DISCOUNT_VOUCHER or GIFT_VOUCHER", v)
		}
	case FieldValue:
		row.Value = v
	case FieldDiscountType:
		row.DiscountType = strings.ToUpper(v)
	case FieldGiftAmount:
		if n, ok := integer(); ok {
			in.Gift = &Gift{Amount: n}
		}
	case FieldCategory:
		in.Category = v
	case FieldStartDate, FieldExpirationDate:
		t, err := parseImportDate(c.header, v)
		if err != nil {
			row.Problems = append(row.Problems, err.Error())
		} else if c.field == FieldStartDate {
			in.StartDate = &t
		} else {
			in.ExpirationDate = &t
		}
	case FieldRedemptionLimit:
		if n, ok := integer(); ok {
			in.Redemption = &RedemptionLimit{Quantity: &n}
		}
	case FieldRedeemedQuantity:
		if n, ok := integer(); ok {
			row.RedeemedQuantity = &n
		}
	case FieldRedeemedAmount:
		if n, ok := integer(); ok {
			row.RedeemedAmount = &n
		}
	case FieldActive:
		switch strings.ToLower(v) {
		case "true", "1", "yes":
			in.Active = ptrTo(true)
		case "false", "0", "no":
			in.Active = ptrTo(false)
		default:
			bad("%q: want true or false", v)
		}
	case FieldAdditionalInfo:
		in.AdditionalInfo = v
	case FieldIgnore:
	default:
		if key, ok := strings.CutPrefix(c.field, FieldMetadataPrefix); ok {
			if in.Metadata == nil {
				in.Metadata = map[string]any{}
			}
			in.Metadata[key] = v
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
