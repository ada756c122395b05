package rules

import (
	"math"
	"time"
)

// Context is everything a rule can look at. The caller fills it; the
// evaluator reads nothing else (no storage, no clock). Fields a rule does not
// use may stay zero: CountersNeeded says which counters and whether Now is
// needed.
type Context struct {
	// Now is the time of the validation or redemption. Only the metadata date
	// operators relative to today ($more_than_ago, $is_days_in_future, …)
	// read it; they fail when it is zero.
	Now        time.Time
	Customer   Customer
	Order      Order
	Redemption Redemption
	// CustomEvent is the event that triggered a distribution or earning
	// rule, for custom_event.metadata; zero otherwise.
	CustomEvent CustomEvent
	Counters    Counters
}

// Customer is the customer validating or redeeming.
type Customer struct {
	// ID and SourceID identify the customer; both empty means no customer is
	// known, and the per-customer redemption rules then fail with
	// KeyCustomerRequired (so that an anonymous request cannot dodge them).
	ID       string
	SourceID string
	// Segments are the ids of the segments the customer is in now.
	Segments []string
	Metadata map[string]any
	// IsHolder says the code being validated is published to (held by)
	// this customer.
	IsHolder bool
}

// Order is the order the code is validated or redeemed against. Amounts are
// in cents.
type Order struct {
	// Amount is Voucherify's order.amount: the order's amount before this
	// code's discount.
	Amount int64
	// InitialAmount is the amount before any discount.
	InitialAmount int64
	Items         []Item
	Metadata      map[string]any
}

// Item is one order line. A line of a SKU carries its product's id too, so
// that product rules match it.
type Item struct {
	ProductID       string
	ProductSourceID string
	SKUID           string
	SKUSourceID     string
	// CollectionIDs are the ids of the product collections the item is in,
	// for rules naming a products_collection.
	CollectionIDs []string
	// Quantity is the number of units on the line; zero or less counts as 1.
	Quantity int64
	// Price is the unit price; when zero it is Amount / Quantity.
	Price int64
	// Amount is the line's amount; when zero it is Price × Quantity.
	Amount   int64
	Metadata map[string]any
}

// Redemption is the redemption (or validation) being decided.
type Redemption struct {
	// Metadata is the request's metadata, for redemption.metadata.
	Metadata map[string]any
	// Discount is the discount in cents this redemption would give. The
	// budget rule campaign.orders.amount_discounted holds when the campaign's
	// discounted total plus Discount meets it, e.g. total + Discount ≤ cap
	// for $less_than_or_equal.
	Discount int64
}

// CustomEvent is a custom event (a Segment track call) that triggered the
// validation.
type CustomEvent struct {
	Type     string
	Metadata map[string]any
}

// Counters are the counts and totals the redemption rules compare, read by the
// caller from storage before this redemption. The "code" is the redeemable
// being validated: a code, or a promotion tier; its "campaign" is the campaign
// it belongs to. The caller decides where days, weeks and months start (and
// must decide it the same way everywhere).
//
// Every redemption rule compares the counter plus this redemption: the count
// plus 1, or the total plus this redemption's discount or order amount. So
// "redemption.count.per_customer $less_than_or_equal [3]" lets a customer
// redeem three times, and a budget "$less_than_or_equal [cap]" holds while
// total + this ≤ cap. Only successful redemptions that were not rolled back
// count.
type Counters struct {
	CodeRedemptions          int64 // of the code, ever: redemption.count
	CodeRedemptionsToday     int64 // of the code today: redemption.count.daily
	CodeRedemptionsThisWeek  int64 // of the code this week: redemption.count.weekly
	CodeRedemptionsThisMonth int64 // of the code this month: redemption.count.monthly

	CustomerRedemptionsOfCode          int64 // of the code by this customer, ever: redemption.count.per_customer
	CustomerRedemptionsOfCodeToday     int64 // … today: redemption.count.per_customer.daily
	CustomerRedemptionsOfCodeThisWeek  int64 // … this week: redemption.count.per_customer.weekly
	CustomerRedemptionsOfCodeThisMonth int64 // … this month: redemption.count.per_customer.monthly

	CampaignRedemptions          int64 // of all the campaign's codes, ever: campaign.redemptions.count
	CampaignRedemptionsToday     int64 // … today: campaign.redemptions.count.daily
	CampaignRedemptionsThisWeek  int64 // … this week: campaign.redemptions.count.weekly
	CampaignRedemptionsThisMonth int64 // … this month: campaign.redemptions.count.monthly

	CustomerRedemptionsOfCampaign          int64 // of the campaign's codes by this customer: campaign.redemptions.count.per_customer
	CustomerRedemptionsOfCampaignToday     int64 // … today: campaign.redemptions.count.per_customer.daily
	CustomerRedemptionsOfCampaignThisWeek  int64 // … this week: campaign.redemptions.count.per_customer.weekly
	CustomerRedemptionsOfCampaignThisMonth int64 // … this month: campaign.redemptions.count.per_customer.monthly

	// CampaignDiscounted is the total discount in cents the campaign's
	// redemptions gave: campaign.orders.amount_discounted.
	CampaignDiscounted int64
	// CampaignOrderValue is the total amount in cents of the orders the
	// campaign's codes were redeemed on: campaign.orders.amount.
	CampaignOrderValue int64
}

// counter names one field of Counters.
type counter uint8

const (
	ctrNone counter = iota
	ctrCode
	ctrCodeToday
	ctrCodeWeek
	ctrCodeMonth
	ctrCustomerCode
	ctrCustomerCodeToday
	ctrCustomerCodeWeek
	ctrCustomerCodeMonth
	ctrCampaign
	ctrCampaignToday
	ctrCampaignWeek
	ctrCampaignMonth
	ctrCustomerCampaign
	ctrCustomerCampaignToday
	ctrCustomerCampaignWeek
	ctrCustomerCampaignMonth
	ctrCampaignDiscounted
	ctrCampaignOrderValue
)

func (c counter) isBudget() bool { return c == ctrCampaignDiscounted || c == ctrCampaignOrderValue }

func (c counter) perCustomer() bool {
	return c >= ctrCustomerCode && c <= ctrCustomerCodeMonth || c >= ctrCustomerCampaign && c <= ctrCustomerCampaignMonth
}

// value is what a counter rule compares: the stored counter plus this
// redemption.
func (c counter) value(ctx *Context) int64 {
	k := &ctx.Counters
	var n int64
	switch c {
	case ctrCode:
		n = k.CodeRedemptions
	case ctrCodeToday:
		n = k.CodeRedemptionsToday
	case ctrCodeWeek:
		n = k.CodeRedemptionsThisWeek
	case ctrCodeMonth:
		n = k.CodeRedemptionsThisMonth
	case ctrCustomerCode:
		n = k.CustomerRedemptionsOfCode
	case ctrCustomerCodeToday:
		n = k.CustomerRedemptionsOfCodeToday
	case ctrCustomerCodeWeek:
		n = k.CustomerRedemptionsOfCodeThisWeek
	case ctrCustomerCodeMonth:
		n = k.CustomerRedemptionsOfCodeThisMonth
	case ctrCampaign:
		n = k.CampaignRedemptions
	case ctrCampaignToday:
		n = k.CampaignRedemptionsToday
	case ctrCampaignWeek:
		n = k.CampaignRedemptionsThisWeek
	case ctrCampaignMonth:
		n = k.CampaignRedemptionsThisMonth
	case ctrCustomerCampaign:
		n = k.CustomerRedemptionsOfCampaign
	case ctrCustomerCampaignToday:
		n = k.CustomerRedemptionsOfCampaignToday
	case ctrCustomerCampaignWeek:
		n = k.CustomerRedemptionsOfCampaignThisWeek
	case ctrCustomerCampaignMonth:
		n = k.CustomerRedemptionsOfCampaignThisMonth
	case ctrCampaignDiscounted:
		return addSat(k.CampaignDiscounted, ctx.Redemption.Discount)
	case ctrCampaignOrderValue:
		return addSat(k.CampaignOrderValue, ctx.Order.Amount)
	}
	return addSat(n, 1)
}

// addSat adds without wrapping around, so that a huge counter can never
// turn into a small one and pass a limit.
func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

func (c counter) label() string {
	switch c {
	case ctrCode:
		return "redemptions of the code"
	case ctrCodeToday:
		return "redemptions of the code today"
	case ctrCodeWeek:
		return "redemptions of the code this week"
	case ctrCodeMonth:
		return "redemptions of the code this month"
	case ctrCustomerCode:
		return "customer's redemptions of the code"
	case ctrCustomerCodeToday:
		return "customer's redemptions of the code today"
	case ctrCustomerCodeWeek:
		return "customer's redemptions of the code this week"
	case ctrCustomerCodeMonth:
		return "customer's redemptions of the code this month"
	case ctrCampaign:
		return "redemptions in the campaign"
	case ctrCampaignToday:
		return "redemptions in the campaign today"
	case ctrCampaignWeek:
		return "redemptions in the campaign this week"
	case ctrCampaignMonth:
		return "redemptions in the campaign this month"
	case ctrCustomerCampaign:
		return "customer's redemptions in the campaign"
	case ctrCustomerCampaignToday:
		return "customer's redemptions in the campaign today"
	case ctrCustomerCampaignWeek:
		return "customer's redemptions in the campaign this week"
	case ctrCustomerCampaignMonth:
		return "customer's redemptions in the campaign this month"
	case ctrCampaignDiscounted:
		return "campaign's total discount"
	case ctrCampaignOrderValue:
		return "campaign's total order value"
	}
	return ""
}
