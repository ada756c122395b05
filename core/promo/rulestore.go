package promo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo/rules"
)

// Validation rules are stored per project; an assignment ties a rule to a
// campaign or a code (the object's validation_rules list holds the rule ids
// evaluation reads, the assignment item lists it from the rule's side).

func ruleKey(p, id string) core.Key     { return core.Key{PK: p + "#rule#" + id, SK: "r"} }
func ruleListKey(p, id string) core.Key { return core.Key{PK: p + "#rules", SK: id} }
func assignmentKey(p, ruleID, id string) core.Key {
	return core.Key{PK: p + "#rule#" + ruleID, SK: "asgm#" + id}
}

// Assignment ties a validation rule to a campaign or a code.
type Assignment struct {
	ID                string `json:"id"`
	RuleID            string `json:"rule_id"`
	RelatedObjectID   string `json:"related_object_id"`
	RelatedObjectType string `json:"related_object_type"` // campaign or voucher
	// RelatedObjectCode is the code of a voucher assignment (promorelay's
	// addition: codes, not voucher ids, address vouchers here).
	RelatedObjectCode string    `json:"related_object_code,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
	Object            string    `json:"object"` // validation_rules_assignment
}

// CreateRule stores a new validation rule from its JSON.
func (s *Service) CreateRule(ctx context.Context, p string, body []byte) (rules.Rule, error) {
	r, err := rules.Parse(body)
	if err != nil {
		return rules.Rule{}, err
	}
	r.ID, r.CreatedAt, r.Object = s.IDs.New("val"), s.now(), "validation_rules"
	ruleDefaults(&r)
	data, err := json.Marshal(r)
	if err != nil {
		return rules.Rule{}, err
	}
	ev, err := s.eventOp(p, "business_validation_rule.created", "", r.ID, map[string]any{"validation_rule": r})
	if err != nil {
		return rules.Rule{}, err
	}
	err = s.commit(ctx, r,
		core.Put(core.Item{Key: ruleKey(p, r.ID), Version: 1, Data: data}, core.IfNotExists()),
		core.Put(core.Item{Key: ruleListKey(p, r.ID), Version: 1}),
		ev)
	return r, err
}

// GetRule returns a rule with its assignment count.
func (s *Service) GetRule(ctx context.Context, p, id string) (rules.Rule, error) {
	r, _, err := s.loadRule(ctx, p, id)
	if err != nil {
		return r, err
	}
	asg, _, err := s.ListAssignments(ctx, p, id, core.MaxPageLimit, "")
	r.AssignmentsCount = len(asg)
	return r, err
}

func (s *Service) loadRule(ctx context.Context, p, id string) (rules.Rule, core.Item, error) {
	it, err := s.Store.Get(ctx, ruleKey(p, id))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return rules.Rule{}, it, core.Errorf(core.CodeNotFound, "cannot find validation rule with id %s", id)
	}
	if err != nil {
		return rules.Rule{}, it, err
	}
	r, err := rules.Parse(it.Data)
	if err != nil {
		return r, it, fmt.Errorf("stored rule %s: %w", id, err)
	}
	return r, it, nil
}

// ListRules lists rules in creation order.
func (s *Service) ListRules(ctx context.Context, p string, limit int, cursor string) ([]rules.Rule, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: p + "#rules", Limit: clampLimit(limit), Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]rules.Rule, 0, len(pg.Items))
	for _, it := range pg.Items {
		r, _, err := s.loadRule(ctx, p, it.SK)
		if err != nil {
			if errors.Is(err, core.ErrNotFound) {
				continue
			}
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, pg.Next, nil
}

// UpdateRule replaces a rule's definition, keeping its id and creation time.
func (s *Service) UpdateRule(ctx context.Context, p, id string, body []byte) (rules.Rule, error) {
	old, it, err := s.loadRule(ctx, p, id)
	if err != nil {
		return rules.Rule{}, err
	}
	r, err := rules.Parse(body)
	if err != nil {
		return rules.Rule{}, err
	}
	r.ID, r.CreatedAt, r.UpdatedAt, r.Object = old.ID, old.CreatedAt, s.now(), "validation_rules"
	ruleDefaults(&r)
	data, err := json.Marshal(r)
	if err != nil {
		return rules.Rule{}, err
	}
	ev, err := s.eventOp(p, "business_validation_rule.updated", "", r.ID, map[string]any{"validation_rule": r})
	if err != nil {
		return rules.Rule{}, err
	}
	err = s.commit(ctx, r, core.Put(core.Item{Key: it.Key, Version: it.Version + 1, Data: data}, core.IfVersion(it.Version)), ev)
	if core.FailedIndex(err) == 0 {
		return rules.Rule{}, core.Errorf(core.CodeConflict, "validation rule %s changed meanwhile; retry", id)
	}
	return r, err
}

// DeleteRule removes a rule and its assignments.
func (s *Service) DeleteRule(ctx context.Context, p, id string) error {
	asg, _, err := s.ListAssignments(ctx, p, id, core.MaxPageLimit, "")
	if err != nil {
		return err
	}
	for _, a := range asg {
		if err := s.DeleteAssignment(ctx, p, id, a.ID); err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
	}
	ev, err := s.eventOp(p, "business_validation_rule.deleted", "", id, map[string]any{"id": id})
	if err != nil {
		return err
	}
	err = s.commit(ctx, struct{}{}, core.Delete(ruleKey(p, id), core.IfExists()), core.Delete(ruleListKey(p, id)), ev)
	if core.FailedIndex(err) == 0 {
		return core.Errorf(core.CodeNotFound, "cannot find validation rule with id %s", id)
	}
	return err
}

// AssignmentInput names the object a rule is assigned to.
type AssignmentInput struct {
	Campaign string `json:"campaign,omitempty"` // Voucherify's shorthand forms
	Voucher  string `json:"voucher,omitempty"`
	// Or the explicit form:
	RelatedObjectID   string `json:"related_object_id,omitempty"`
	RelatedObjectType string `json:"related_object_type,omitempty"`
}

// CreateAssignment assigns a rule to a campaign or a code: the object's
// validation_rules list and the assignment item change in one transaction.
func (s *Service) CreateAssignment(ctx context.Context, p, ruleID string, in AssignmentInput) (Assignment, error) {
	typ, obj := in.RelatedObjectType, in.RelatedObjectID
	switch {
	case in.Campaign != "":
		typ, obj = "campaign", in.Campaign
	case in.Voucher != "":
		typ, obj = "voucher", in.Voucher
	}
	if typ != "campaign" && typ != "voucher" || obj == "" {
		return Assignment{}, core.Errorf(core.CodeInvalid, "assign the rule to a campaign or a voucher (related_object_type campaign|voucher and related_object_id)")
	}
	if _, _, err := s.loadRule(ctx, p, ruleID); err != nil {
		return Assignment{}, err
	}
	if code, ok := CodeOfVoucherID(obj); typ == "voucher" && ok {
		obj = code // named by voucher id
	}
	a := Assignment{ID: s.IDs.New("asgm"), RuleID: ruleID, RelatedObjectType: typ, CreatedAt: s.now(), Object: "validation_rules_assignment"}
	add := func(list []string) ([]string, error) {
		if slices.Contains(list, ruleID) {
			return nil, core.KeyedError(core.CodeConflict, "duplicate_found", "rule %s is already assigned to %s %s", ruleID, typ, obj)
		}
		return append(list, ruleID), nil
	}
	var err error
	if typ == "campaign" {

		_, err = s.modifyCampaign(ctx, p, obj, "campaign.updated", func(c *Campaign) (err error) {
			a.RelatedObjectID = c.ID
			c.ValidationRules, err = add(c.ValidationRules)
			return err
		}, func() ([]core.Op, error) { return assignmentOps(p, a) })

	} else {
		_, err = s.modifyVoucher(ctx, p, obj, "voucher.updated", func(v *Voucher) (err error) {
			a.RelatedObjectID, a.RelatedObjectCode = v.ID, v.Code
			v.ValidationRules, err = add(v.ValidationRules)
			return err
		}, func() ([]core.Op, error) { return assignmentOps(p, a) })
	}
	return a, err
}

func assignmentOps(p string, a Assignment) ([]core.Op, error) {
	data, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return []core.Op{core.Put(core.Item{Key: assignmentKey(p, a.RuleID, a.ID), Version: 1, Data: data}, core.IfNotExists())}, nil
}

// ruleDefaults fills what Voucherify answers for a rule that did not say.
func ruleDefaults(r *rules.Rule) {
	if r.Type == "" {
		r.Type = "expression"
	}
	if r.ContextType == "" {
		r.ContextType = "global"
	}
}

// ListAssignments lists a rule's assignments.
func (s *Service) ListAssignments(ctx context.Context, p, ruleID string, limit int, cursor string) ([]Assignment, string, error) {
	pg, err := s.Store.Query(ctx, core.Query{PK: ruleKey(p, ruleID).PK, Prefix: "asgm#", Limit: max(1, min(limit, core.MaxPageLimit)), Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]Assignment, 0, len(pg.Items))
	for _, it := range pg.Items {
		var a Assignment
		if err := json.Unmarshal(it.Data, &a); err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	return out, pg.Next, nil
}

// DeleteAssignment removes an assignment and the rule from its object.
func (s *Service) DeleteAssignment(ctx context.Context, p, ruleID, id string) error {
	it, err := s.Store.Get(ctx, assignmentKey(p, ruleID, id))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return core.Errorf(core.CodeNotFound, "cannot find assignment %s of rule %s", id, ruleID)
	}
	if err != nil {
		return err
	}
	var a Assignment
	if err := json.Unmarshal(it.Data, &a); err != nil {
		return err
	}
	del := func() ([]core.Op, error) { return []core.Op{core.Delete(it.Key, core.IfExists())}, nil }
	remove := func(list []string) []string {
		return slices.DeleteFunc(list, func(x string) bool { return x == ruleID })
	}
	if a.RelatedObjectType == "campaign" {
		_, err = s.modifyCampaign(ctx, p, a.RelatedObjectID, "campaign.updated", func(c *Campaign) error {
			c.ValidationRules = remove(c.ValidationRules)
			return nil
		}, del)
	} else {
		code := a.RelatedObjectCode
		if code == "" {
			code = a.RelatedObjectID
		}
		_, err = s.modifyVoucher(ctx, p, code, "voucher.updated", func(v *Voucher) error {
			v.ValidationRules = remove(v.ValidationRules)
			return nil
		}, del)
	}
	if errors.Is(err, core.ErrNotFound) { // the object is gone: drop the assignment alone
		return s.write(ctx, core.Delete(it.Key))
	}
	return err
}

// checkRules verifies that every id names an existing rule.
func (s *Service) checkRules(ctx context.Context, p string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > 20 {
		return core.Errorf(core.CodeInvalid, "at most 20 validation rules per object")
	}
	keys := make([]core.Key, len(ids))
	for i, id := range ids {
		keys[i] = ruleKey(p, id)
	}
	if err := core.ValidateKeys(keys); err != nil {
		return core.Errorf(core.CodeInvalid, "validation_rules: %s", core.ErrorMessage(err))
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if _, ok := items[k]; !ok {
			return core.Errorf(core.CodeNotFound, "cannot find validation rule with id %s", ids[i])
		}
	}
	return nil
}

// loadRules reads rules by id (missing ones are skipped: a deleted rule no
// longer applies).
func (s *Service) loadRules(ctx context.Context, p string, ids []string) ([]rules.Rule, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]core.Key, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, ruleKey(p, id))
		}
	}
	items, err := s.Store.BatchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]rules.Rule, 0, len(items))
	for _, k := range keys {
		it, ok := items[k]
		if !ok {
			continue
		}
		r, err := rules.Parse(it.Data)
		if err != nil {
			return nil, fmt.Errorf("stored rule %s: %w", k.PK, err)
		}
		out = append(out, r)
	}
	return out, nil
}
