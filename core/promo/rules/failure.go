package rules

import "fmt"

// ViolatedKey is Voucherify's error key for a validation or redemption
// refused by a validation rule; Failure.Key says more precisely why.
const ViolatedKey = "redemption_rules_violated"

// Failure keys: a stable, machine-readable reason in Failure.Key. Where a
// rule compares a number, the operator that failed picks among the keys of
// its kind: a lower bound ($more_than, $more_than_or_equal) gives the
// "too low" key, an upper bound ($less_than, $less_than_or_equal) the
// "too high"/"exceeded" key, any other operator the "mismatch" key.
const (
	// customer.segment: the customer is not in a required segment ($is, $in)…
	KeyCustomerNotInSegment = "customer_not_in_segment"
	// … or is in an excluded one ($is_not, $not_in).
	KeyCustomerInExcludedSegment = "customer_in_excluded_segment"
	// publication.redeemable_by_linked_customer: the customer does not hold
	// the code (or, with $is [false], does).
	KeyNotHolder = "not_holder"

	// order.amount, order.initial_amount.
	KeyOrderAmountTooLow  = "order_amount_too_low"
	KeyOrderAmountTooHigh = "order_amount_too_high"
	KeyOrderAmount        = "order_amount_mismatch"

	// order.items.count and the nested quantity rules.
	KeyQuantityTooLow   = "quantity_too_low"
	KeyQuantityExceeded = "quantity_exceeded"
	KeyQuantity         = "quantity_mismatch"

	// order.items.price_any, price_each and the nested price and
	// aggregated_amount rules.
	KeyPriceTooLow  = "price_too_low"
	KeyPriceTooHigh = "price_too_high"
	KeyPrice        = "price_mismatch"

	// Order-items rules: required items are missing (or the order has no
	// items) …
	KeyItemsMissing = "items_missing"
	// … or an excluded item is present (order.items.none, product.id $is_not).
	KeyItemsExcluded = "items_excluded"

	// The metadata rules.
	KeyCustomerMetadata    = "customer_metadata_mismatch"
	KeyOrderMetadata       = "order_metadata_mismatch"
	KeyRedemptionMetadata  = "redemption_metadata_mismatch"
	KeyCustomEventMetadata = "custom_event_metadata_mismatch"
	KeyItemMetadata        = "item_metadata_mismatch"

	// Redemption counters: an upper bound is reached, or another operator
	// on a count failed.
	KeyRedemptionLimitExceeded = "redemption_limit_exceeded"
	KeyRedemptionCount         = "redemption_count_mismatch"
	// A per-customer counter rule, but no customer is known.
	KeyCustomerRequired = "customer_required"

	// Budgets (campaign.orders.amount_discounted, campaign.orders.amount):
	// the cap would be passed, or another operator failed.
	KeyBudgetExceeded = "budget_exceeded"
	KeyBudget         = "budget_mismatch"

	// A condition under "not" in the logic held.
	KeyNegatedConditionMet = "negated_condition_met"
	// The rule is invalid (only for rules built as literals, never parsed).
	KeyInvalidRule = "invalid_rule"
)

// Failure says why a rule refused a redemption. It is an error, so that it
// can be wrapped; use errors.As to get it back.
type Failure struct {
	RuleID   string
	RuleName string
	// Condition is the number of the failing top-level condition ("2") and
	// ConditionName its rule name ("order.amount"); both empty only for
	// KeyInvalidRule.
	Condition     string
	ConditionName string
	// Nested and NestedName name the failing condition nested in an
	// order-items condition (Condition), when one failed; empty otherwise.
	Nested     string
	NestedName string
	// Operator is the operator that failed, when one did.
	Operator Operator
	// Key is one of the Key… constants.
	Key string
	// Message is for people: the configured error.message of the innermost
	// failing condition that has one, else the rule's, else a description
	// of what failed.
	Message string
	// Configured says Message is one the rule's author wrote (Voucherify
	// shows it as error.error.message).
	Configured bool
}

func (f *Failure) Error() string {
	where := f.RuleID
	if where == "" {
		where = f.RuleName
	}
	if f.Condition != "" {
		where += " condition " + f.Condition
		if f.Nested != "" {
			where += "." + f.Nested
		}
	}
	return fmt.Sprintf("validation rule %s failed: %s: %s", where, f.Key, f.Message)
}

// family is a group of rule names that share their failure keys.
type family uint8

const (
	famSegment family = iota + 1
	famHolder
	famAmount
	famQuantity
	famPrice
	famItems
	famCustomerMeta
	famOrderMeta
	famRedemptionMeta
	famEventMeta
	famItemMeta
	famRedemptions
	famBudget
)

// key is the failure key of a condition of this family whose operator op
// failed.
func (f family) key(op Operator) string {
	low := op == OpMoreThan || op == OpMoreThanOrEqual
	high := op == OpLessThan || op == OpLessThanOrEqual
	pick := func(lowKey, highKey, other string) string {
		switch {
		case low:
			return lowKey
		case high:
			return highKey
		}
		return other
	}
	switch f {
	case famSegment:
		if op == OpIs || op == OpIn {
			return KeyCustomerNotInSegment
		}
		return KeyCustomerInExcludedSegment
	case famHolder:
		return KeyNotHolder
	case famAmount:
		return pick(KeyOrderAmountTooLow, KeyOrderAmountTooHigh, KeyOrderAmount)
	case famQuantity:
		return pick(KeyQuantityTooLow, KeyQuantityExceeded, KeyQuantity)
	case famPrice:
		return pick(KeyPriceTooLow, KeyPriceTooHigh, KeyPrice)
	case famCustomerMeta:
		return KeyCustomerMetadata
	case famOrderMeta:
		return KeyOrderMetadata
	case famRedemptionMeta:
		return KeyRedemptionMetadata
	case famEventMeta:
		return KeyCustomEventMetadata
	case famItemMeta:
		return KeyItemMetadata
	case famRedemptions:
		return pick(KeyRedemptionCount, KeyRedemptionLimitExceeded, KeyRedemptionCount)
	case famBudget:
		return pick(KeyBudget, KeyBudgetExceeded, KeyBudget)
	}
	if op == OpIsNot || op == OpNotIn {
		return KeyItemsExcluded
	}
	return KeyItemsMissing
}

// FailureKeys returns every key a Failure can carry.
func FailureKeys() []string {
	return []string{
		KeyCustomerNotInSegment, KeyCustomerInExcludedSegment, KeyNotHolder,
		KeyOrderAmountTooLow, KeyOrderAmountTooHigh, KeyOrderAmount,
		KeyQuantityTooLow, KeyQuantityExceeded, KeyQuantity,
		KeyPriceTooLow, KeyPriceTooHigh, KeyPrice,
		KeyItemsMissing, KeyItemsExcluded,
		KeyCustomerMetadata, KeyOrderMetadata, KeyRedemptionMetadata, KeyCustomEventMetadata, KeyItemMetadata,
		KeyRedemptionLimitExceeded, KeyRedemptionCount, KeyCustomerRequired,
		KeyBudgetExceeded, KeyBudget,
		KeyNegatedConditionMet, KeyInvalidRule,
	}
}
