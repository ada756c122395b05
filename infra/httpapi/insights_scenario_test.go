package httpapi_test

import (
	"net/http"
	"net/url"
	"time"
)

// The insight routes (insightRoutes): gift card transactions, validation
// rules and their assignments, campaign summaries, qualifications,
// publication listings and validation sessions. They run after every other
// part of the scenario, whose state they read.

// insightIDs are the ids the insight steps learn.
type insightIDs struct {
	rule   string // "Orders from 100.00", assigned to the Big Basket campaign
	basket string // the Big Basket campaign
}

func (s *scenario) insights(c campaignIDs) {
	s.giftTransactions()
	// Everything made from here on is newer than the rest of the scenario:
	// qualifications sorted by creation date put it first.
	s.h.clock.Advance(time.Minute)
	ids := s.validationRules()
	s.summaries(c, ids)
	s.qualifications(ids)
	s.publicationLists()
	s.sessions()
}

// giftTransactions changes the balance of GIFT-ALICE, a campaign gift card
// that bob's stacked redemption debited by 3000 and its rollback refunded.
func (s *scenario) giftTransactions() {
	s.do(step{name: "vouchers_balance_add_campaign_gift_card", want: http.StatusOK,
		expect: map[string]any{"amount": 1000, "total": 6000, "balance": 6000},
		req: srv("POST", "/v1/vouchers/GIFT-ALICE/balance", obj{
			"amount": 1000, "source_id": "topup-1", "reason": "loyalty bonus",
		})})
	// Newest first. The reference names a redemption's debit
	// CREDITS_REDEMPTION (CREDITS_REMOVAL is a manual subtraction), with
	// source, reason and source_id null; a balance change keeps the
	// source_id and reason it was given. balance is what is left after the
	// change, total what the card has been given in all, amount the change.
	s.do(step{name: "vouchers_transactions", want: http.StatusOK,
		expect: map[string]any{
			"has_more":                       false,
			"data.0.type":                    "CREDITS_ADDITION",
			"data.0.source":                  "API",
			"data.0.source_id":               "topup-1",
			"data.0.reason":                  "loyalty bonus",
			"data.0.details.balance.amount":  1000,
			"data.0.details.balance.balance": 6000,
			"data.0.details.balance.total":   6000,
			"data.1.type":                    "CREDITS_REFUND",
			"data.1.details.balance.amount":  3000,
			"data.1.details.balance.balance": 5000,
			"data.2.type":                    "CREDITS_REDEMPTION",
			"data.2.source":                  nil,
			"data.2.source_id":               nil,
			"data.2.reason":                  nil,
			"data.2.details.balance.amount":  -3000,
			"data.2.details.balance.balance": 2000,
		},
		req: srv("GET", "/v1/vouchers/GIFT-ALICE/transactions", nil)})
	s.refused("errors_unknown_voucher_transactions", http.StatusNotFound, "not_found",
		srv("GET", "/v1/vouchers/NO-SUCH-CODE/transactions", nil))
}

// ordersFrom100 is the definition of the rule the Big Basket campaign gets.
func ordersFrom100(name, message string) obj {
	return obj{
		"name": name,
		"rules": obj{
			"1":     obj{"name": "order.amount", "conditions": obj{"$more_than_or_equal": []any{10000}}},
			"logic": "1",
		},
		"error": obj{"message": message},
	}
}

func (s *scenario) validationRules() insightIDs {
	var ids insightIDs
	// No type or context_type: the reference defaults them to expression
	// and global, and requires both in the answer.
	ex := s.do(step{name: "validation_rules_create", want: http.StatusOK,
		expect: map[string]any{"name": "Orders from 100.00", "type": "expression", "context_type": "global", "object": "validation_rules"},
		req:    srv("POST", "/v1/validation-rules", ordersFrom100("Orders from 100.00", "Spend at least 100.00"))})
	ids.rule = s.field(ex, "id")
	ex = s.ok("validation_rules_create_second", srv("POST", "/v1/validation-rules", obj{
		"name": "Two items or more", "type": "basic", "context_type": "voucher.discount_voucher",
		"rules": obj{
			"1":     obj{"name": "order.items.count", "conditions": obj{"$more_than_or_equal": []any{2}}},
			"logic": "1",
		},
	}))
	temp := s.field(ex, "id")
	s.do(step{name: "validation_rules_list", want: http.StatusOK, expect: map[string]any{"total": 2},
		req: srv("GET", "/v1/validation-rules", nil)})
	s.ok("validation_rules_get", srv("GET", "/v1/validation-rules/"+ids.rule, nil))
	s.do(step{name: "validation_rules_update", want: http.StatusOK,
		expect: map[string]any{"id": ids.rule, "name": "Orders from 100.00 (web)"},
		req: srv("PUT", "/v1/validation-rules/"+ids.rule,
			ordersFrom100("Orders from 100.00 (web)", "Spend at least 100.00 to use this code"))})
	// Three problems at once: an unknown rule name, an unknown operator and
	// logic naming a condition that is not there.
	s.do(step{name: "validation_rules_create_invalid", want: http.StatusBadRequest, refKey: "invalid_validation_rules",
		writes: writesNothing, mentions: []string{"order.no_such_rule", "$bogus", "rules.logic"},
		req: srv("POST", "/v1/validation-rules", obj{
			"name": "Broken",
			"rules": obj{
				"1":     obj{"name": "order.no_such_rule", "conditions": obj{"$is": []any{1}}},
				"2":     obj{"name": "order.amount", "conditions": obj{"$bogus": []any{100}}},
				"logic": "1 and 3",
			},
		})})
	s.refused("validation_rules_get_unknown", http.StatusNotFound, "not_found",
		srv("GET", "/v1/validation-rules/val_01jwx0000000000000000000zz", nil))

	ex = s.ok("campaigns_create_rule_target", srv("POST", "/v1/campaigns", obj{
		"name": "Big Basket", "campaign_type": "DISCOUNT_COUPONS", "type": "STATIC",
		"voucher": obj{"type": "DISCOUNT_VOUCHER", "discount": obj{"type": "AMOUNT", "amount_off": 1500}},
	}))
	ids.basket = s.field(ex, "id")
	s.ok("campaigns_add_rule_target_code", srv("POST", "/v1/campaigns/"+ids.basket+"/vouchers/BASKET-1", obj{}))
	assign := srv("POST", "/v1/validation-rules/"+ids.rule+"/assignments", obj{
		"related_object_type": "campaign", "related_object_id": ids.basket,
	})
	s.do(step{name: "validation_rules_assign_campaign", want: http.StatusOK,
		expect: map[string]any{"rule_id": ids.rule, "related_object_type": "campaign", "related_object_id": ids.basket},
		req:    assign})
	s.refused("validation_rules_assign_duplicate", http.StatusConflict, "duplicate_found", assign)
	// The reference's related_object_id is the object's id (v_… for a
	// code), in the request as in the answer; promorelay also takes the
	// shorthand {"voucher": code}.
	voucherID := map[string]string{}
	for _, target := range []struct{ step, code string }{
		{"vouchers_get_rule_target_once", "ONCE"},
		{"vouchers_get_rule_target_idem", "IDEM-1"},
	} {
		ex = s.ok(target.step, srv("GET", "/v1/vouchers/"+target.code, nil))
		voucherID[target.code] = s.field(ex, "id")
	}
	s.do(step{name: "validation_rules_assign_voucher_by_id", want: http.StatusOK,
		expect: map[string]any{"rule_id": temp, "related_object_type": "voucher", "related_object_id": voucherID["ONCE"]},
		req: srv("POST", "/v1/validation-rules/"+temp+"/assignments", obj{
			"related_object_type": "voucher", "related_object_id": voucherID["ONCE"],
		})})
	ex = s.do(step{name: "validation_rules_assign_voucher", want: http.StatusOK,
		expect: map[string]any{"rule_id": temp, "related_object_type": "voucher", "related_object_id": voucherID["IDEM-1"]},
		req:    srv("POST", "/v1/validation-rules/"+temp+"/assignments", obj{"voucher": "IDEM-1"})})
	asgm := s.field(ex, "id")
	s.do(step{name: "validation_rules_assignments_list", want: http.StatusOK, expect: map[string]any{"total": 1},
		req: srv("GET", "/v1/validation-rules/"+ids.rule+"/assignments", nil)})
	s.do(step{name: "validation_rules_assignments_by_rule", want: http.StatusOK, expect: map[string]any{"total": 1},
		req: srv("GET", "/v1/validation-rules-assignments?rule="+ids.rule, nil)})
	s.do(step{name: "validation_rules_assignments_unfiltered", want: http.StatusOK, writes: writesNothing,
		req: srv("GET", "/v1/validation-rules-assignments", nil)})
	unassign := srv("DELETE", "/v1/validation-rules/"+temp+"/assignments/"+asgm, nil)
	s.do(step{name: "validation_rules_assignment_delete", want: http.StatusNoContent, req: unassign})
	s.refused("validation_rules_assignment_delete_again", http.StatusNotFound, "not_found", unassign)
	s.do(step{name: "validation_rules_delete", want: http.StatusNoContent, req: srv("DELETE", "/v1/validation-rules/"+temp, nil)})
	s.refused("validation_rules_get_deleted", http.StatusNotFound, "not_found", srv("GET", "/v1/validation-rules/"+temp, nil))

	// The rule refuses orders under 100.00. The reference's error object
	// carries the rule's configured message in error.message.
	basket := func(amount int) obj {
		return obj{
			"redeemables": []any{obj{"object": "voucher", "id": "BASKET-1"}},
			"order":       obj{"amount": amount},
			"customer":    obj{"source_id": "carol"},
		}
	}
	const violation = "inapplicable_redeemables.0.result.error."
	s.do(step{name: "validations_rule_violated", want: http.StatusOK,
		expect: map[string]any{
			"valid":                     false,
			violation + "code":          400,
			violation + "key":           "redemption_rules_violated",
			violation + "error.message": "Spend at least 100.00 to use this code",
		},
		own: map[string]any{
			violation + "rule_id":   ids.rule,
			violation + "rule_name": "Orders from 100.00 (web)",
			violation + "reason":    "order_amount_too_low",
		},
		req: srv("POST", "/v1/validations", basket(5000))})
	s.do(step{name: "redeem_rule_violated", want: http.StatusBadRequest, refKey: "redemption_rules_violated",
		writes: writesFailedRedemption, req: srv("POST", "/v1/redemptions", basket(5000))})
	s.ok("redeem_rule_met", srv("POST", "/v1/redemptions", basket(12000)))
	return ids
}

func (s *scenario) summaries(c campaignIDs, ids insightIDs) {
	// Gift Cards: GIFT-ALICE redeemed for 3000 in bob's order of 20000 and
	// rolled back, then topped up by 1000; GIFT-ALICE and GIFT-SPARE, of
	// 5000 each, published to alice and carol.
	s.do(step{name: "campaigns_summary_gift", want: http.StatusOK, refShape: giftSummaryShape,
		expect: map[string]any{
			"object": "campaign_summary", "campaign.id": c.gift,
			"redemptions": 1, "redemptions_succeeded": 1, "redemptions_failed": 0,
			"rollbacks": 1, "rollbacks_succeeded": 1, "rollbacks_failed": 0,
			"orders_amount": 20000, "orders_rolledback_amount": 20000,
			"vouchers_created": 2, "vouchers_deleted": 0, "publications_succeeded": 2,
			"created_vouchers_amount": 10000, "amount_added": 1000, "amount_deleted": 0,
			"amount_redeemed": 3000, "amount_rolledback": 3000, "amount_subtracted": 0,
		},
		req: srv("GET", "/v1/campaigns/"+c.gift+"/summary", nil)})
	// Big Basket: BASKET-1 refused once by its rule, then redeemed for 1500.
	s.do(step{name: "campaigns_summary_discount", want: http.StatusOK,
		expect: map[string]any{
			"object": "campaign_summary", "campaign.id": ids.basket,
			"redemptions": 2, "redemptions_succeeded": 1, "redemptions_failed": 1,
			"rollbacks": 0, "discounted_amount": 1500, "rolledback_discounted_amount": 0,
			"vouchers_created": 1, "vouchers_deleted": 0, "publications_succeeded": 0,
		},
		req: srv("GET", "/v1/campaigns/"+ids.basket+"/summary", nil)})
	s.refused("errors_unknown_campaign_summary", http.StatusNotFound, "not_found",
		srv("GET", "/v1/campaigns/"+esc("No Such Campaign")+"/summary", nil))
	s.do(step{name: "campaigns_transactions", want: http.StatusOK,
		expect: map[string]any{
			"has_more":           false,
			"data.0.type":        "CREDITS_ADDITION",
			"data.0.campaign_id": c.gift,
			"data.1.type":        "CREDITS_REFUND",
			"data.2.type":        "CREDITS_REDEMPTION",
		},
		req: srv("GET", "/v1/campaigns/"+c.gift+"/transactions", nil)})
}

// qualifications ask what alice can use on an order of 100.00. Ties in
// value are broken by id, so the order of every answer is fixed: codes are
// upper case and campaign ids lower case, and no two campaigns give the
// same value here.
func (s *scenario) qualifications(ids insightIDs) {
	ask := func(scenario string, options obj) obj {
		body := obj{"customer": obj{"source_id": "alice"}, "order": obj{"amount": 10000}}
		if scenario != "" {
			body["scenario"] = scenario
		}
		if options != nil {
			body["options"] = options
		}
		return body
	}
	s.ok("qualifications_all", srv("POST", "/v1/qualifications", ask("ALL", obj{"limit": 20})))
	// On an order of 50.00 Big Basket's rule (orders from 100.00) keeps
	// the campaign out: the reference's qualifications skip only campaign
	// budgets and per-customer limits. Eight redeemables are left.
	s.do(step{name: "qualifications_rule_not_met", want: http.StatusOK,
		expect: map[string]any{"redeemables.total": 8, "redeemables.has_more": false},
		req: srv("POST", "/v1/qualifications", obj{
			"customer": obj{"source_id": "alice"}, "order": obj{"amount": 5000}, "options": obj{"limit": 20},
		})})
	s.ok("qualifications_customer_wallet", srv("POST", "/v1/qualifications", ask("CUSTOMER_WALLET", nil)))
	s.ok("qualifications_audience_only", srv("POST", "/v1/qualifications", ask("AUDIENCE_ONLY", obj{"limit": 20})))
	// The reference's total is the number of redeemables returned.
	s.do(step{name: "qualifications_limit", want: http.StatusOK,
		expect: map[string]any{"redeemables.total": 2, "redeemables.has_more": true},
		req:    srv("POST", "/v1/qualifications", ask("", obj{"limit": 2}))})
	// DEFAULT sorts by creation date, newest first: Big Basket is the
	// newest campaign, and alice's wallet holds no newer code.
	s.do(step{name: "qualifications_sorting_default", want: http.StatusOK,
		expect: map[string]any{"redeemables.data.0.id": ids.basket, "redeemables.data.0.object": "campaign"},
		req:    srv("POST", "/v1/qualifications", ask("ALL", obj{"limit": 1, "sorting_rule": "DEFAULT"}))})
	s.do(step{name: "qualifications_sorting_least_deal", want: http.StatusOK, writes: writesNothing,
		req: srv("POST", "/v1/qualifications", ask("ALL", obj{"limit": 3, "sorting_rule": "LEAST_DEAL"}))})
	s.refused("qualifications_bad_scenario", http.StatusBadRequest, "",
		srv("POST", "/v1/qualifications", ask("EVERYTHING", nil)))
	s.ok("client_qualifications", withHeader(cli("POST", "/client/v1/qualifications", ask("CUSTOMER_WALLET", nil)),
		"Origin", allowedOrigin))
	s.refused("client_qualifications_bad_scenario", http.StatusBadRequest, "",
		withHeader(cli("POST", "/client/v1/qualifications", ask("EVERYTHING", nil)), "Origin", allowedOrigin))
}

// publicationLists list what the publication steps made: alice holds
// SUM-…, WELCOME10 (published twice under one source_id: one publication)
// and GIFT-ALICE; WELCOME10 went to alice, dave and erin.
func (s *scenario) publicationLists() {
	ex := s.do(step{name: "publications_list_by_customer_source_id", want: http.StatusOK,
		expect: map[string]any{"object": "list", "data_ref": "publications", "total": 3},
		req:    srv("GET", "/v1/publications?customer=alice", nil)})
	alice := s.field(ex, "publications", 0, "customer_id")
	s.do(step{name: "publications_list_by_customer_id", want: http.StatusOK, expect: map[string]any{"total": 3},
		req: srv("GET", "/v1/publications?customer="+url.QueryEscape(alice), nil)})
	s.do(step{name: "publications_list_by_voucher", want: http.StatusOK, expect: map[string]any{"total": 3},
		req: srv("GET", "/v1/publications?voucher=WELCOME10", nil)})
	s.do(step{name: "publications_list_unfiltered", want: http.StatusOK, writes: writesNothing,
		req: srv("GET", "/v1/publications", nil)})
}

// sessions lock uses with validation sessions: one redeemed with its key,
// one released by hand.
func (s *scenario) sessions() {
	vip := func(session obj) obj {
		return obj{
			"redeemables": []any{obj{"object": "voucher", "id": "SUMMER-VIP"}},
			"order":       obj{"amount": 5000},
			"customer":    obj{"source_id": "dave"},
			"session":     session,
		}
	}
	ex := s.do(step{name: "validations_session_lock", want: http.StatusOK, refShape: lockedValidationShape,
		expect: map[string]any{"valid": true, "session.type": "LOCK", "session.ttl": 1, "session.ttl_unit": "HOURS"},
		req:    srv("POST", "/v1/validations", vip(obj{"type": "LOCK", "ttl": 1, "ttl_unit": "HOURS"}))})
	key := s.field(ex, "session", "key")
	s.ok("redeem_with_session", srv("POST", "/v1/redemptions", vip(obj{"key": key})))

	// A key of the caller's own choosing names the session.
	s.do(step{name: "validations_session_lock_own_key", want: http.StatusOK, refShape: lockedValidationShape,
		expect: map[string]any{"valid": true, "session.key": "cart-42", "session.type": "LOCK"},
		req: srv("POST", "/v1/validations", obj{
			"redeemables": []any{obj{"object": "voucher", "id": "WELCOME10"}},
			"order":       obj{"amount": 5000},
			"session":     obj{"type": "LOCK", "key": "cart-42", "ttl": 1, "ttl_unit": "HOURS"},
		})})
	release := srv("DELETE", "/v1/vouchers/WELCOME10/sessions/cart-42", nil)
	s.do(step{name: "sessions_release", want: http.StatusNoContent, req: release})
	s.refused("sessions_release_again", http.StatusNotFound, "not_found", release)
}
