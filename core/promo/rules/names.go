package rules

import "slices"

// Operator is a key of Condition.Conditions.
type Operator string

// Operators of Voucherify's validation rules that promorelay evaluates. Which
// rule name takes which operators is listed in RuleNames' documentation; the
// date operators apply to metadata values only.
const (
	OpIs              Operator = "$is"                 // equals the one value
	OpIsNot           Operator = "$is_not"             // differs from the one value
	OpIn              Operator = "$in"                 // equals one of the values
	OpNotIn           Operator = "$not_in"             // equals none of the values
	OpLessThan        Operator = "$less_than"          // number or date below the value
	OpLessThanOrEqual Operator = "$less_than_or_equal" // number or date at most the value
	OpMoreThan        Operator = "$more_than"          // number or date above the value
	OpMoreThanOrEqual Operator = "$more_than_or_equal" // number or date at least the value
	OpStartsWith      Operator = "$starts_with"        // text starts with one of the values
	OpEndsWith        Operator = "$ends_with"          // text ends with one of the values
	OpContains        Operator = "$contains"           // text contains one of the values
	OpCount           Operator = "$count"              // array has exactly N elements
	OpCountMore       Operator = "$count_more"         // array has more than N elements
	OpCountLess       Operator = "$count_less"         // array has fewer than N elements
	OpAfter           Operator = "$after"              // date after the value
	OpBefore          Operator = "$before"             // date before the value
	OpMoreThanAgo     Operator = "$more_than_ago"      // date more than N days before now
	OpLessThanAgo     Operator = "$less_than_ago"      // date within the last N days
	OpIsDaysAgo       Operator = "$is_days_ago"        // date on the day N days before today (UTC)
	OpMoreThanFuture  Operator = "$more_than_future"   // date more than N days after now
	OpLessThanFuture  Operator = "$less_than_future"   // date within the next N days
	OpIsDaysInFuture  Operator = "$is_days_in_future"  // date on the day N days after today (UTC)
)

// arity says how many values an operator takes.
type arity uint8

const (
	one  arity = iota + 1 // exactly one value
	many                  // one or more values
)

var arities = map[Operator]arity{
	OpIs: one, OpIsNot: one, OpIn: many, OpNotIn: many,
	OpLessThan: one, OpLessThanOrEqual: one, OpMoreThan: one, OpMoreThanOrEqual: one,
	OpStartsWith: many, OpEndsWith: many, OpContains: many,
	OpCount: one, OpCountMore: one, OpCountLess: one,
	OpAfter: one, OpBefore: one,
	OpMoreThanAgo: one, OpLessThanAgo: one, OpIsDaysAgo: one,
	OpMoreThanFuture: one, OpLessThanFuture: one, OpIsDaysInFuture: one,
}

// unsupportedOps are operators Voucherify's rules know that promorelay does
// not evaluate; misspellings map to the operator meant.
var (
	unsupportedOps = []string{"$timeframe", "$timeframe_absolute", "$timeframe_daily_hours", "$dow", "$not_differ", "$not_intersect", "$from"}
	opSpellings    = map[string]Operator{
		"$greater_than": OpMoreThan, "$greater_than_or_equal": OpMoreThanOrEqual,
		"$more_than_equal": OpMoreThanOrEqual, "$less_than_equal": OpLessThanOrEqual,
		"$gt": OpMoreThan, "$gte": OpMoreThanOrEqual, "$lt": OpLessThan, "$lte": OpLessThanOrEqual,
		"$eq": OpIs, "$ne": OpIsNot, "$nin": OpNotIn,
	}
)

// unknownOperator explains why op is refused.
func unknownOperator(op Operator) string {
	switch {
	case slices.Contains(unsupportedOps, string(op)):
		return "operator " + string(op) + " is not supported"
	case opSpellings[string(op)] != "":
		return "unknown operator " + string(op) + " (did you mean " + string(opSpellings[string(op)]) + "?)"
	}
	return "unknown operator " + string(op)
}

var (
	numberOps   = []Operator{OpIs, OpIsNot, OpIn, OpNotIn, OpLessThan, OpLessThanOrEqual, OpMoreThan, OpMoreThanOrEqual}
	setOps      = []Operator{OpIs, OpIsNot, OpIn, OpNotIn}
	boolOps     = []Operator{OpIs, OpIsNot}
	refOps      = []Operator{OpIs, OpIn}
	metadataOps = []Operator{
		OpIs, OpIsNot, OpIn, OpNotIn, OpLessThan, OpLessThanOrEqual, OpMoreThan, OpMoreThanOrEqual,
		OpStartsWith, OpEndsWith, OpContains, OpCount, OpCountMore, OpCountLess, OpAfter, OpBefore,
		OpMoreThanAgo, OpLessThanAgo, OpIsDaysAgo, OpMoreThanFuture, OpLessThanFuture, OpIsDaysInFuture,
	}
)

// domain is the kind of values a rule compares, which decides its operators
// and the type of their values.
type domain uint8

const (
	domNumber   domain = iota + 1 // amounts, counts, prices: numbers
	domStrings                    // segment, product or SKU ids: strings
	domBool                       // code holder: true or false
	domRefs                       // order-items rules: {object, id, source_id} objects
	domMetadata                   // metadata values of any JSON scalar or array
)

func (d domain) ops() []Operator {
	switch d {
	case domNumber:
		return numberOps
	case domStrings:
		return setOps
	case domBool:
		return boolOps
	case domRefs:
		return refOps
	}
	return metadataOps
}

// kind says how a rule name is evaluated.
type kind uint8

const (
	kSegment      kind = iota + 1 // the customer's segments
	kHolder                       // the customer holds the code
	kMetadata                     // a metadata value of customer, order, redemption or event
	kNumber                       // an order number: amount, initial amount, units
	kCounter                      // a counter the caller read, plus this redemption
	kItemNumber                   // every or any item's unit price
	kItemMetadata                 // every or any item's metadata value
	kItems                        // the order contains (or lacks) items, with nested conditions
	kItemIDs                      // product.id / sku.id: the order contains items by id
	kAttr                         // nested: an attribute of one matched item
)

// metaSource is where a metadata rule reads.
type metaSource uint8

const (
	metaCustomer metaSource = iota + 1
	metaOrder
	metaRedemption
	metaEvent
	metaItem
)

// numSource is the order number a kNumber rule reads.
type numSource uint8

const (
	numAmount numSource = iota + 1
	numInitialAmount
	numUnits
)

// itemsMode says how an order-items rule combines items.
type itemsMode uint8

const (
	modeAny           itemsMode = iota + 1 // some matching item meets the nested conditions
	modeEvery                              // every listed product has an item meeting them
	modeNone                               // no matching item meets them
	modeCheapest                           // the cheapest item matches and meets them
	modeMostExpensive                      // the most expensive item matches and meets them
	modeEach                               // (price_each, metadata_each) every item meets the operators
)

// attr is the item attribute a nested condition reads.
type attr uint8

const (
	attrQuantity           attr = iota + 1 // units on the item's line
	attrAggregatedQuantity                 // units on all lines matching the parent
	attrPrice                              // unit price
	attrAggregatedAmount                   // amount of all lines matching the parent
	attrMetadata                           // item metadata[property]
)

// spec describes one rule name.
type spec struct {
	kind     kind
	dom      domain
	fam      family
	label    string // what the rule looks at, for default messages
	property bool   // needs Condition.Property
	nested   bool   // only inside an order-items rule
	meta     metaSource
	num      numSource
	ctr      counter
	mode     itemsMode
	object   string // kItemIDs: product or sku
	attr     attr
}

// Rule names. All are Voucherify's but the counter rules marked as
// promorelay's own.
const (
	NameCustomerSegment  = "customer.segment"                          // $is/$is_not/$in/$not_in segment ids
	NameCustomerMetadata = "customer.metadata"                         // property; metadata operators
	NameOrderMetadata    = "order.metadata"                            // property; metadata operators
	NameRedemptionMeta   = "redemption.metadata"                       // property; metadata operators
	NameCustomEventMeta  = "custom_event.metadata"                     // property; metadata operators
	NameHolderOnly       = "publication.redeemable_by_linked_customer" // only the code's holder may redeem; $is [true] or no operator
	NameOrderAmount      = "order.amount"                              // cents
	NameOrderInitial     = "order.initial_amount"                      // cents, before any discount
	NameOrderItemsCount  = "order.items.count"                         // units in the order (sum of quantities)
	NameItemsPriceAny    = "order.items.price_any"                     // some item's unit price
	NameItemsPriceEach   = "order.items.price_each"                    // every item's unit price
	NameItemsMetaAny     = "order.items.metadata_any"                  // property; some item's metadata
	NameItemsMetaEach    = "order.items.metadata_each"                 // property; every item's metadata

	NameItemsAny           = "order.items.any"            // $is/$in products; nested conditions
	NameItemsEvery         = "order.items.every"          // $is/$in products; nested conditions
	NameItemsNone          = "order.items.none"           // $is/$in products; nested conditions
	NameItemsCheapest      = "order.items.cheapest"       // $is/$in products; nested conditions
	NameItemsMostExpensive = "order.items.most_expensive" // $is/$in products; nested conditions
	NameProductID          = "product.id"                 // product ids; nested product.* conditions
	NameSKUID              = "sku.id"                     // SKU ids; nested sku.* conditions

	NameItemQuantity    = "order.items.quantity"            // nested: units on the line
	NameItemAggQuantity = "order.items.aggregated_quantity" // nested: units on all matching lines
	NameItemPrice       = "order.items.price"               // nested: unit price
	NameItemAggAmount   = "order.items.aggregated_amount"   // nested: amount of all matching lines
	NameItemMetadata    = "order.items.metadata"            // nested; property
	NameProductQuantity = "product.quantity"                // nested: units on the line
	NameProductPrice    = "product.price"                   // nested: unit price
	NameProductMetadata = "product.metadata"                // nested; property
	NameSKUQuantity     = "sku.quantity"                    // nested: units on the line
	NameSKUPrice        = "sku.price"                       // nested: unit price

	// Counter rules (see Counters), Voucherify's names.
	NameCodeRedemptionsDaily       = "redemption.count.daily"
	NameCodeRedemptionsMonthly     = "redemption.count.monthly"
	NameCustomerRedemptions        = "redemption.count.per_customer"
	NameCustomerRedemptionsDaily   = "redemption.count.per_customer.daily"
	NameCustomerRedemptionsMonthly = "redemption.count.per_customer.monthly"
	NameCampaignRedemptions        = "campaign.redemptions.count"
	NameCampaignRedemptionsDaily   = "campaign.redemptions.count.daily"
	NameCampaignRedemptionsMonthly = "campaign.redemptions.count.monthly"
	NameCampaignDiscounted         = "campaign.orders.amount_discounted" // budget: cents discounted
	NameCampaignOrderValue         = "campaign.orders.amount"            // budget: cents of orders

	// Counter rules Voucherify has no name for: promorelay's own.
	NameCodeRedemptions                 = "redemption.count"
	NameCodeRedemptionsWeekly           = "redemption.count.weekly"
	NameCustomerRedemptionsWeekly       = "redemption.count.per_customer.weekly"
	NameCampaignRedemptionsWeekly       = "campaign.redemptions.count.weekly"
	NameCampaignCustomerRedemptions     = "campaign.redemptions.count.per_customer"
	NameCampaignCustomerRedemptionsDay  = "campaign.redemptions.count.per_customer.daily"
	NameCampaignCustomerRedemptionsWeek = "campaign.redemptions.count.per_customer.weekly"
	NameCampaignCustomerRedemptionsMon  = "campaign.redemptions.count.per_customer.monthly"
)

var specs = map[string]spec{
	NameCustomerSegment:  {kind: kSegment, dom: domStrings, fam: famSegment, label: "customer's segments"},
	NameCustomerMetadata: {kind: kMetadata, dom: domMetadata, fam: famCustomerMeta, label: "customer metadata", property: true, meta: metaCustomer},
	NameOrderMetadata:    {kind: kMetadata, dom: domMetadata, fam: famOrderMeta, label: "order metadata", property: true, meta: metaOrder},
	NameRedemptionMeta:   {kind: kMetadata, dom: domMetadata, fam: famRedemptionMeta, label: "redemption metadata", property: true, meta: metaRedemption},
	NameCustomEventMeta:  {kind: kMetadata, dom: domMetadata, fam: famEventMeta, label: "event metadata", property: true, meta: metaEvent},
	NameHolderOnly:       {kind: kHolder, dom: domBool, fam: famHolder, label: "customer holds the code"},
	NameOrderAmount:      {kind: kNumber, dom: domNumber, fam: famAmount, label: "order amount", num: numAmount},
	NameOrderInitial:     {kind: kNumber, dom: domNumber, fam: famAmount, label: "order initial amount", num: numInitialAmount},
	NameOrderItemsCount:  {kind: kNumber, dom: domNumber, fam: famQuantity, label: "number of units in the order", num: numUnits},
	NameItemsPriceAny:    {kind: kItemNumber, dom: domNumber, fam: famPrice, label: "price of some item", mode: modeAny},
	NameItemsPriceEach:   {kind: kItemNumber, dom: domNumber, fam: famPrice, label: "price of every item", mode: modeEach},
	NameItemsMetaAny:     {kind: kItemMetadata, dom: domMetadata, fam: famItemMeta, label: "metadata of some item", property: true, mode: modeAny},
	NameItemsMetaEach:    {kind: kItemMetadata, dom: domMetadata, fam: famItemMeta, label: "metadata of every item", property: true, mode: modeEach},

	NameItemsAny:           {kind: kItems, dom: domRefs, fam: famItems, mode: modeAny},
	NameItemsEvery:         {kind: kItems, dom: domRefs, fam: famItems, mode: modeEvery},
	NameItemsNone:          {kind: kItems, dom: domRefs, fam: famItems, mode: modeNone},
	NameItemsCheapest:      {kind: kItems, dom: domRefs, fam: famItems, mode: modeCheapest},
	NameItemsMostExpensive: {kind: kItems, dom: domRefs, fam: famItems, mode: modeMostExpensive},
	NameProductID:          {kind: kItemIDs, dom: domStrings, fam: famItems, object: "product"},
	NameSKUID:              {kind: kItemIDs, dom: domStrings, fam: famItems, object: "sku"},

	NameItemQuantity:    {kind: kAttr, dom: domNumber, fam: famQuantity, label: "item quantity", nested: true, attr: attrQuantity},
	NameItemAggQuantity: {kind: kAttr, dom: domNumber, fam: famQuantity, label: "total quantity of matching items", nested: true, attr: attrAggregatedQuantity},
	NameItemPrice:       {kind: kAttr, dom: domNumber, fam: famPrice, label: "item price", nested: true, attr: attrPrice},
	NameItemAggAmount:   {kind: kAttr, dom: domNumber, fam: famPrice, label: "total amount of matching items", nested: true, attr: attrAggregatedAmount},
	NameItemMetadata:    {kind: kAttr, dom: domMetadata, fam: famItemMeta, label: "item metadata", property: true, nested: true, attr: attrMetadata},
	NameProductQuantity: {kind: kAttr, dom: domNumber, fam: famQuantity, label: "product quantity", nested: true, attr: attrQuantity},
	NameProductPrice:    {kind: kAttr, dom: domNumber, fam: famPrice, label: "product price", nested: true, attr: attrPrice},
	NameProductMetadata: {kind: kAttr, dom: domMetadata, fam: famItemMeta, label: "product metadata", property: true, nested: true, attr: attrMetadata},
	NameSKUQuantity:     {kind: kAttr, dom: domNumber, fam: famQuantity, label: "SKU quantity", nested: true, attr: attrQuantity},
	NameSKUPrice:        {kind: kAttr, dom: domNumber, fam: famPrice, label: "SKU price", nested: true, attr: attrPrice},

	NameCodeRedemptions:                 counterSpec(ctrCode),
	NameCodeRedemptionsDaily:            counterSpec(ctrCodeToday),
	NameCodeRedemptionsWeekly:           counterSpec(ctrCodeWeek),
	NameCodeRedemptionsMonthly:          counterSpec(ctrCodeMonth),
	NameCustomerRedemptions:             counterSpec(ctrCustomerCode),
	NameCustomerRedemptionsDaily:        counterSpec(ctrCustomerCodeToday),
	NameCustomerRedemptionsWeekly:       counterSpec(ctrCustomerCodeWeek),
	NameCustomerRedemptionsMonthly:      counterSpec(ctrCustomerCodeMonth),
	NameCampaignRedemptions:             counterSpec(ctrCampaign),
	NameCampaignRedemptionsDaily:        counterSpec(ctrCampaignToday),
	NameCampaignRedemptionsWeekly:       counterSpec(ctrCampaignWeek),
	NameCampaignRedemptionsMonthly:      counterSpec(ctrCampaignMonth),
	NameCampaignCustomerRedemptions:     counterSpec(ctrCustomerCampaign),
	NameCampaignCustomerRedemptionsDay:  counterSpec(ctrCustomerCampaignToday),
	NameCampaignCustomerRedemptionsWeek: counterSpec(ctrCustomerCampaignWeek),
	NameCampaignCustomerRedemptionsMon:  counterSpec(ctrCustomerCampaignMonth),
	NameCampaignDiscounted:              counterSpec(ctrCampaignDiscounted),
	NameCampaignOrderValue:              counterSpec(ctrCampaignOrderValue),
}

func counterSpec(c counter) spec {
	fam := famRedemptions
	if c.isBudget() {
		fam = famBudget
	}
	return spec{kind: kCounter, dom: domNumber, fam: fam, label: c.label(), ctr: c}
}

// unsupportedNames are Voucherify rule names promorelay does not evaluate.
var unsupportedNames = []string{
	"redemption.gift.amount", "redemption.api_key", "redemption.count.per_api_key",
	"redemption.user.login", "redemption.count.per_user", "redemption.reward.pay_with_points.points_used",
	"campaign.redemptions.customers_count", "campaign.redemptions.customers_count.daily",
	"campaign.redemptions.customers_count.monthly",
	"product.discount_applicable", "product.metadata.aggregated_quantity", "product.metadata.aggregated_amount",
	"product.metadata.discount_applicable", "product.metadata.match_all", "sku.discount_applicable",
}

// RuleNames returns the rule names the evaluator supports, sorted.
//
// Top-level rules and their operators:
//   - customer.segment: $is, $is_not, $in, $not_in with segment ids.
//   - customer.metadata, order.metadata, redemption.metadata,
//     custom_event.metadata (property required): every operator of this
//     package; numbers, strings, booleans, dates, arrays.
//   - publication.redeemable_by_linked_customer: no operator, or $is/$is_not
//     with true or false; true means only the code's holder may redeem it.
//   - order.amount, order.initial_amount, order.items.count,
//     order.items.price_any, order.items.price_each: $is, $is_not, $in,
//     $not_in, $less_than, $less_than_or_equal, $more_than,
//     $more_than_or_equal with numbers (amounts in cents).
//   - order.items.metadata_any, order.items.metadata_each (property
//     required): metadata operators.
//   - order.items.any, .every, .none, .cheapest, .most_expensive: $is (one) or
//     $in (several) {"object": "product"|"sku"|"products_collection", "id",
//     "source_id"} objects, with nested order.items.quantity,
//     .aggregated_quantity, .price, .aggregated_amount and .metadata.
//   - product.id, sku.id: $is, $in (the order contains it) or $is_not,
//     $not_in (it does not) with ids, with nested product.quantity,
//     product.price, product.metadata, sku.quantity, sku.price (or the
//     order.items.* nested names).
//   - redemption.count.daily, .monthly, redemption.count.per_customer (and
//     .daily, .monthly), campaign.redemptions.count (and .daily, .monthly),
//     campaign.orders.amount_discounted, campaign.orders.amount: number
//     operators; see Counters for what each counts. promorelay adds
//     redemption.count, the .weekly variants and
//     campaign.redemptions.count.per_customer (and .daily, .weekly, .monthly).
func RuleNames() []string {
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// unknownName explains why a rule name is refused.
func unknownName(name string) string {
	switch {
	case name == "":
		return "name is required"
	case slices.Contains(unsupportedNames, name):
		return "rule " + quote(name) + " is not supported"
	}
	return "unknown rule name " + quote(name)
}
