package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = time.Date(2025, 5, 14, 12, 0, 0, 0, time.UTC)

type evalCase struct {
	name string
	cond string // JSON of condition 1, the whole logic
	ctx  Context
	key  string // "" when the rule passes
}

func runEval(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := MustParse(t, oneCond(tc.cond))
			f := r.Evaluate(tc.ctx)
			checkFailure(t, f, tc.key)
			if f != nil {
				var c Condition
				if err := json.Unmarshal([]byte(tc.cond), &c); err != nil {
					t.Fatal(err)
				}
				if f.Condition != "1" || f.ConditionName != c.Name || f.RuleName != "test" || f.Message == "" {
					t.Errorf("failure %+v does not name rule test, condition 1 %s, or lacks a message", f, c.Name)
				}
			}
		})
	}
}

func checkFailure(t *testing.T, f *Failure, key string) {
	t.Helper()
	switch {
	case key == "" && f != nil:
		t.Errorf("failed with %s: %s", f.Key, f.Message)
	case key != "" && f == nil:
		t.Errorf("passed, want failure %s", key)
	case f != nil && f.Key != key:
		t.Errorf("key %s (%s), want %s", f.Key, f.Message, key)
	}
}

func TestCustomerSegment(t *testing.T) {
	in := Context{Customer: Customer{ID: "cus_1", Segments: []string{"seg_reviewers", "seg_vip"}}}
	c := func(op, vals string) string {
		return `{"name":"customer.segment","property":null,"conditions":{"` + op + `":` + vals + `}}`
	}
	runEval(t, []evalCase{
		{"is in", c("$is", `["seg_vip"]`), in, ""},
		{"is not in", c("$is", `["seg_new"]`), in, KeyCustomerNotInSegment},
		{"is with no customer", c("$is", `["seg_vip"]`), Context{}, KeyCustomerNotInSegment},
		{"in one of", c("$in", `["seg_new","seg_reviewers"]`), in, ""},
		{"in none of", c("$in", `["seg_new","seg_old"]`), in, KeyCustomerNotInSegment},
		{"is_not holds", c("$is_not", `["seg_new"]`), in, ""},
		{"is_not fails", c("$is_not", `["seg_vip"]`), in, KeyCustomerInExcludedSegment},
		{"not_in holds", c("$not_in", `["seg_new","seg_old"]`), in, ""},
		{"not_in fails", c("$not_in", `["seg_new","seg_reviewers"]`), in, KeyCustomerInExcludedSegment},
	})
}

func TestHolder(t *testing.T) {
	holder := Context{Customer: Customer{ID: "cus_1", IsHolder: true}}
	other := Context{Customer: Customer{ID: "cus_2"}}
	bare := `{"name":"publication.redeemable_by_linked_customer","conditions":{}}`
	is := func(v string) string {
		return `{"name":"publication.redeemable_by_linked_customer","conditions":{"$is":[` + v + `]}}`
	}
	runEval(t, []evalCase{
		{"no operator, holder", bare, holder, ""},
		{"no operator, other", bare, other, KeyNotHolder},
		{"is true, holder", is("true"), holder, ""},
		{"is true, other", is("true"), other, KeyNotHolder},
		{"is false, holder", is("false"), holder, KeyNotHolder},
		{"is false, other", is("false"), other, ""},
		{"is_not true, other", `{"name":"publication.redeemable_by_linked_customer","conditions":{"$is_not":[true]}}`, other, ""},
		{"is_not true, holder", `{"name":"publication.redeemable_by_linked_customer","conditions":{"$is_not":[true]}}`, holder, KeyNotHolder},
	})
}

// metaCases runs every metadata operator against a metadata map placed in
// the context by put, expecting key on failure.
func metaCases(name string, put func(map[string]any) Context, key string) []evalCase {
	meta := map[string]any{
		"tier":    "gold",
		"age":     34,
		"score":   4.5,
		"count":   json.Number("7"),
		"vip":     true,
		"tags":    []any{"a", "b", "c"},
		"labels":  []string{"x", "y"},
		"email":   "ann@example.com",
		"joined":  "2025-05-10",                                 // 4 days before now
		"renewal": time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC), // 6 days after now (by day)
	}
	ctx := put(meta)
	c := func(prop, op, vals string) string {
		return fmt.Sprintf(`{"name":%q,"property":%q,"conditions":{%q:%s}}`, name, prop, op, vals)
	}
	cases := []struct {
		prop, op, vals string
		pass           bool
	}{
		{"tier", "$is", `["gold"]`, true},
		{"tier", "$is", `["silver"]`, false},
		{"age", "$is", `[34]`, true},
		{"count", "$is", `[7]`, true},
		{"vip", "$is", `[true]`, true},
		{"vip", "$is", `["true"]`, false},
		{"tier", "$is_not", `["silver"]`, true},
		{"tier", "$is_not", `["gold"]`, false},
		{"missing", "$is_not", `["gold"]`, true},
		{"missing", "$is", `["gold"]`, false},
		{"tier", "$in", `["silver","gold"]`, true},
		{"tier", "$in", `["silver","bronze"]`, false},
		{"tier", "$not_in", `["silver"]`, true},
		{"tier", "$not_in", `["gold"]`, false},
		{"missing", "$not_in", `["gold"]`, true},
		{"age", "$more_than", `[30]`, true},
		{"age", "$more_than", `[34]`, false},
		{"age", "$more_than_or_equal", `[34]`, true},
		{"age", "$more_than_or_equal", `[35]`, false},
		{"score", "$less_than", `[4.6]`, true},
		{"score", "$less_than", `[4.5]`, false},
		{"score", "$less_than_or_equal", `[4.5]`, true},
		{"score", "$less_than_or_equal", `[4.4]`, false},
		{"tier", "$more_than", `[1]`, false},
		{"missing", "$more_than", `[1]`, false},
		{"joined", "$more_than", `["2025-05-01"]`, true},
		{"joined", "$more_than", `["2025-05-11T00:00:00Z"]`, false},
		{"renewal", "$less_than_or_equal", `["2025-05-20"]`, true},
		{"email", "$starts_with", `["ann@"]`, true},
		{"email", "$starts_with", `["bob@"]`, false},
		{"email", "$ends_with", `["@example.org","@example.com"]`, true},
		{"email", "$ends_with", `["@example.org"]`, false},
		{"email", "$contains", `["zzz","example"]`, true},
		{"email", "$contains", `["zzz"]`, false},
		{"age", "$contains", `["3"]`, false},
		{"tags", "$count", `[3]`, true},
		{"tags", "$count", `[2]`, false},
		{"labels", "$count", `[2]`, true},
		{"tier", "$count", `[1]`, false},
		{"tags", "$count_more", `[2]`, true},
		{"tags", "$count_more", `[3]`, false},
		{"tags", "$count_less", `[4]`, true},
		{"tags", "$count_less", `[3]`, false},
		{"tags", "$is", `["b"]`, true},
		{"tags", "$is", `["z"]`, false},
		{"tags", "$is_not", `["b"]`, false},
		{"tags", "$in", `["z","c"]`, true},
		{"tags", "$not_in", `["z"]`, true},
		{"labels", "$starts_with", `["y"]`, true},
		{"joined", "$after", `["2025-05-09"]`, true},
		{"joined", "$after", `["2025-05-10T00:00:01Z"]`, false},
		{"joined", "$before", `["2025-05-11"]`, true},
		{"joined", "$before", `["2025-05-10"]`, false},
		{"tier", "$after", `["2025-05-10"]`, false},
		{"joined", "$more_than_ago", `[3]`, true},
		{"joined", "$more_than_ago", `[5]`, false},
		{"joined", "$less_than_ago", `[5]`, true},
		{"joined", "$less_than_ago", `[3]`, false},
		{"renewal", "$less_than_ago", `[30]`, false},
		{"joined", "$is_days_ago", `[4]`, true},
		{"joined", "$is_days_ago", `[3]`, false},
		{"renewal", "$more_than_future", `[5]`, true},
		{"renewal", "$more_than_future", `[6]`, false},
		{"renewal", "$less_than_future", `[6]`, true},
		{"renewal", "$less_than_future", `[5]`, false},
		{"joined", "$less_than_future", `[30]`, false},
		{"renewal", "$is_days_in_future", `[6]`, true},
		{"renewal", "$is_days_in_future", `[5]`, false},
	}
	out := make([]evalCase, 0, len(cases)+2)
	for _, tc := range cases {
		want := key
		if tc.pass {
			want = ""
		}
		out = append(out, evalCase{fmt.Sprintf("%s %s %s", tc.prop, tc.op, tc.vals), c(tc.prop, tc.op, tc.vals), ctx, want})
	}
	noNow := ctx
	noNow.Now = time.Time{}
	out = append(out,
		evalCase{"no time given", c("joined", "$more_than_ago", "[3]"), noNow, key},
		evalCase{"two operators", fmt.Sprintf(`{"name":%q,"property":"age","conditions":{"$more_than":[18],"$less_than":[30]}}`, name), ctx, key},
	)
	return out
}

func TestMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		put  func(map[string]any) Context
		key  string
	}{
		{NameCustomerMetadata, func(m map[string]any) Context { return Context{Now: now, Customer: Customer{Metadata: m}} }, KeyCustomerMetadata},
		{NameOrderMetadata, func(m map[string]any) Context { return Context{Now: now, Order: Order{Metadata: m}} }, KeyOrderMetadata},
		{NameRedemptionMeta, func(m map[string]any) Context { return Context{Now: now, Redemption: Redemption{Metadata: m}} }, KeyRedemptionMetadata},
		{NameCustomEventMeta, func(m map[string]any) Context { return Context{Now: now, CustomEvent: CustomEvent{Metadata: m}} }, KeyCustomEventMetadata},
		{NameItemsMetaAny, func(m map[string]any) Context {
			return Context{Now: now, Order: Order{Items: []Item{{ProductID: "p1", Metadata: m}}}}
		}, KeyItemMetadata},
		{NameItemsMetaEach, func(m map[string]any) Context {
			return Context{Now: now, Order: Order{Items: []Item{{ProductID: "p1", Metadata: m}, {ProductID: "p2", Metadata: m}}}}
		}, KeyItemMetadata},
	} {
		t.Run(tc.name, func(t *testing.T) { runEval(t, metaCases(tc.name, tc.put, tc.key)) })
	}
}

func TestItemsMetadataEachAndAny(t *testing.T) {
	items := []Item{{ProductID: "p1", Metadata: map[string]any{"color": "red"}}, {ProductID: "p2", Metadata: map[string]any{"color": "blue"}}}
	ctx := Context{Order: Order{Items: items}}
	runEval(t, []evalCase{
		{"any red", `{"name":"order.items.metadata_any","property":"color","conditions":{"$is":["red"]}}`, ctx, ""},
		{"each red", `{"name":"order.items.metadata_each","property":"color","conditions":{"$is":["red"]}}`, ctx, KeyItemMetadata},
		{"each set", `{"name":"order.items.metadata_each","property":"color","conditions":{"$in":["red","blue"]}}`, ctx, ""},
		{"any, no items", `{"name":"order.items.metadata_any","property":"color","conditions":{"$is":["red"]}}`, Context{}, KeyItemsMissing},
	})
}

func TestOrderNumbers(t *testing.T) {
	ctx := Context{Order: Order{Amount: 5000, InitialAmount: 6000, Items: []Item{
		{ProductID: "p1", Quantity: 2, Price: 500},
		{ProductID: "p2", Quantity: 3, Price: 1500},
		{ProductID: "p3", Amount: 700}, // quantity 0 counts as 1; price 700
	}}}
	amount := func(op, vals string) string {
		return `{"name":"order.amount","property":null,"conditions":{"` + op + `":` + vals + `},"rules":{}}`
	}
	runEval(t, []evalCase{
		{"is", amount("$is", "[5000]"), ctx, ""},
		{"is fails", amount("$is", "[4000]"), ctx, KeyOrderAmount},
		{"is_not", amount("$is_not", "[4000]"), ctx, ""},
		{"is_not fails", amount("$is_not", "[5000]"), ctx, KeyOrderAmount},
		{"in", amount("$in", "[1, 5000]"), ctx, ""},
		{"in fails", amount("$in", "[1, 2]"), ctx, KeyOrderAmount},
		{"not_in", amount("$not_in", "[1]"), ctx, ""},
		{"not_in fails", amount("$not_in", "[5000]"), ctx, KeyOrderAmount},
		{"more_than", amount("$more_than", "[4999]"), ctx, ""},
		{"more_than fails", amount("$more_than", "[5000]"), ctx, KeyOrderAmountTooLow},
		{"more_than fraction", amount("$more_than", "[4999.5]"), ctx, ""},
		{"more_than_or_equal", amount("$more_than_or_equal", "[5000]"), ctx, ""},
		{"more_than_or_equal fails", amount("$more_than_or_equal", "[5001]"), ctx, KeyOrderAmountTooLow},
		{"less_than", amount("$less_than", "[5001]"), ctx, ""},
		{"less_than fails", amount("$less_than", "[5000]"), ctx, KeyOrderAmountTooHigh},
		{"less_than_or_equal", amount("$less_than_or_equal", "[5000]"), ctx, ""},
		{"less_than_or_equal fails", amount("$less_than_or_equal", "[4999]"), ctx, KeyOrderAmountTooHigh},
		{"range", amount("$more_than", "[1000],\"$less_than\":[6000]"), ctx, ""},
		{"range fails high", amount("$more_than", "[1000],\"$less_than\":[5000]"), ctx, KeyOrderAmountTooHigh},
		{"initial amount", `{"name":"order.initial_amount","conditions":{"$more_than":[5500]}}`, ctx, ""},
		{"initial amount fails", `{"name":"order.initial_amount","conditions":{"$less_than":[5500]}}`, ctx, KeyOrderAmountTooHigh},

		{"units at least", `{"name":"order.items.count","conditions":{"$more_than_or_equal":[6]}}`, ctx, ""},
		{"units too few", `{"name":"order.items.count","conditions":{"$more_than_or_equal":[7]}}`, ctx, KeyQuantityTooLow},
		{"units too many", `{"name":"order.items.count","conditions":{"$less_than_or_equal":[5]}}`, ctx, KeyQuantityExceeded},
		{"units exactly", `{"name":"order.items.count","conditions":{"$is":[6]}}`, ctx, ""},
		{"units not exactly", `{"name":"order.items.count","conditions":{"$is":[5]}}`, ctx, KeyQuantity},

		{"some price", `{"name":"order.items.price_any","conditions":{"$more_than":[1000]}}`, ctx, ""},
		{"no price that high", `{"name":"order.items.price_any","conditions":{"$more_than":[2000]}}`, ctx, KeyPriceTooLow},
		{"price from amount", `{"name":"order.items.price_any","conditions":{"$is":[700]}}`, ctx, ""},
		{"every price", `{"name":"order.items.price_each","conditions":{"$more_than_or_equal":[500]}}`, ctx, ""},
		{"not every price", `{"name":"order.items.price_each","conditions":{"$less_than":[1000]}}`, ctx, KeyPriceTooHigh},
		{"every price in", `{"name":"order.items.price_each","conditions":{"$in":[500,700]}}`, ctx, KeyPrice},
		{"price, no items", `{"name":"order.items.price_any","conditions":{"$more_than":[0]}}`, Context{}, KeyItemsMissing},
	})
}

func TestCounters(t *testing.T) {
	counters := []struct {
		name        string
		set         func(*Counters, int64)
		perCustomer bool
	}{
		{NameCodeRedemptions, func(c *Counters, n int64) { c.CodeRedemptions = n }, false},
		{NameCodeRedemptionsDaily, func(c *Counters, n int64) { c.CodeRedemptionsToday = n }, false},
		{NameCodeRedemptionsWeekly, func(c *Counters, n int64) { c.CodeRedemptionsThisWeek = n }, false},
		{NameCodeRedemptionsMonthly, func(c *Counters, n int64) { c.CodeRedemptionsThisMonth = n }, false},
		{NameCustomerRedemptions, func(c *Counters, n int64) { c.CustomerRedemptionsOfCode = n }, true},
		{NameCustomerRedemptionsDaily, func(c *Counters, n int64) { c.CustomerRedemptionsOfCodeToday = n }, true},
		{NameCustomerRedemptionsWeekly, func(c *Counters, n int64) { c.CustomerRedemptionsOfCodeThisWeek = n }, true},
		{NameCustomerRedemptionsMonthly, func(c *Counters, n int64) { c.CustomerRedemptionsOfCodeThisMonth = n }, true},
		{NameCampaignRedemptions, func(c *Counters, n int64) { c.CampaignRedemptions = n }, false},
		{NameCampaignRedemptionsDaily, func(c *Counters, n int64) { c.CampaignRedemptionsToday = n }, false},
		{NameCampaignRedemptionsWeekly, func(c *Counters, n int64) { c.CampaignRedemptionsThisWeek = n }, false},
		{NameCampaignRedemptionsMonthly, func(c *Counters, n int64) { c.CampaignRedemptionsThisMonth = n }, false},
		{NameCampaignCustomerRedemptions, func(c *Counters, n int64) { c.CustomerRedemptionsOfCampaign = n }, true},
		{NameCampaignCustomerRedemptionsDay, func(c *Counters, n int64) { c.CustomerRedemptionsOfCampaignToday = n }, true},
		{NameCampaignCustomerRedemptionsWeek, func(c *Counters, n int64) { c.CustomerRedemptionsOfCampaignThisWeek = n }, true},
		{NameCampaignCustomerRedemptionsMon, func(c *Counters, n int64) { c.CustomerRedemptionsOfCampaignThisMonth = n }, true},
	}
	var cases []evalCase
	for _, k := range counters {
		limit := `{"name":"` + k.name + `","conditions":{"$less_than_or_equal":[3]}}`
		with := func(n int64, customer bool) Context {
			ctx := Context{}
			if customer {
				ctx.Customer.SourceID = "ann@example.com"
			}
			k.set(&ctx.Counters, n)
			return ctx
		}
		cases = append(cases,
			evalCase{k.name + " third redemption", limit, with(2, true), ""},
			evalCase{k.name + " fourth redemption", limit, with(3, true), KeyRedemptionLimitExceeded},
			evalCase{k.name + " huge counter", limit, with(1<<63-1, true), KeyRedemptionLimitExceeded},
			evalCase{k.name + " at least", `{"name":"` + k.name + `","conditions":{"$more_than_or_equal":[5]}}`, with(1, true), KeyRedemptionCount},
		)
		if k.perCustomer {
			cases = append(cases, evalCase{k.name + " no customer", limit, with(0, false), KeyCustomerRequired})
		}
	}
	runEval(t, cases)
}

func TestBudgets(t *testing.T) {
	discounted := `{"name":"campaign.orders.amount_discounted","conditions":{"$less_than_or_equal":[10000]}}`
	orderValue := `{"name":"campaign.orders.amount","conditions":{"$less_than":[100000]}}`
	budget := func(total, discount int64) Context {
		return Context{Counters: Counters{CampaignDiscounted: total}, Redemption: Redemption{Discount: discount}}
	}
	sales := func(total, amount int64) Context {
		return Context{Counters: Counters{CampaignOrderValue: total}, Order: Order{Amount: amount}}
	}
	runEval(t, []evalCase{
		{"discount fits exactly", discounted, budget(9000, 1000), ""},
		{"discount one cent over", discounted, budget(9000, 1001), KeyBudgetExceeded},
		{"budget already spent", discounted, budget(10000, 1), KeyBudgetExceeded},
		{"order value below cap", orderValue, sales(90000, 9999), ""},
		{"order value reaches cap", orderValue, sales(90000, 10000), KeyBudgetExceeded},
		{"budget minimum", `{"name":"campaign.orders.amount","conditions":{"$more_than":[100]}}`, sales(0, 50), KeyBudget},
	})
}

// shop is an order: 3 dark beans, 1 blue mug, 1 light beans.
func shop() Context {
	return Context{Order: Order{Amount: 5400, Items: []Item{
		{ProductID: "prod_beans", ProductSourceID: "beans", SKUID: "sku_beans_dark", SKUSourceID: "beans-dark",
			CollectionIDs: []string{"pcol_coffee"}, Quantity: 3, Price: 1200, Metadata: map[string]any{"roast": "dark"}},
		{ProductID: "prod_mug", ProductSourceID: "mug", SKUID: "sku_mug_blue", SKUSourceID: "mug-blue", Quantity: 1, Amount: 800},
		{ProductID: "prod_beans", ProductSourceID: "beans", SKUID: "sku_beans_light", SKUSourceID: "beans-light",
			CollectionIDs: []string{"pcol_coffee"}, Quantity: 1, Price: 1100, Metadata: map[string]any{"roast": "light"}},
	}}}
}

// items builds an order-items condition with optional nested conditions.
func items(name, op, refs, nested string) string {
	s := `{"name":"` + name + `","conditions":{"` + op + `":[` + refs + `]}`
	if nested != "" {
		s += `,"rules":` + nested
	}
	return s + "}"
}

const (
	beans     = `{"object":"product","id":"prod_beans","effect":"APPLY_TO_EVERY"}`
	mug       = `{"object":"product","id":"prod_mug"}`
	tea       = `{"object":"product","id":"prod_tea"}`
	darkSKU   = `{"object":"sku","id":"sku_beans_dark"}`
	lightSKU  = `{"object":"sku","source_id":"beans-light"}`
	coffee    = `{"object":"products_collection","id":"pcol_coffee"}`
	mugBySrc  = `{"object":"product","source_id":"mug"}`
	teaSKUSrc = `{"object":"sku","source_id":"tea-green"}`
)

func nested(name, op, val string) string {
	return `{"1":{"name":"` + name + `","conditions":{"` + op + `":[` + val + `]}},"logic":"1"}`
}

func TestOrderItems(t *testing.T) {
	ctx := shop()
	runEval(t, []evalCase{
		{"any product", items(NameItemsAny, "$is", beans, ""), ctx, ""},
		{"any product missing", items(NameItemsAny, "$is", tea, ""), ctx, KeyItemsMissing},
		{"any of several", items(NameItemsAny, "$in", tea+","+mug, ""), ctx, ""},
		{"any by source id", items(NameItemsAny, "$is", mugBySrc, ""), ctx, ""},
		{"any SKU by source id", items(NameItemsAny, "$is", lightSKU, ""), ctx, ""},
		{"any SKU by source id missing", items(NameItemsAny, "$is", teaSKUSrc, ""), ctx, KeyItemsMissing},
		{"any collection", items(NameItemsAny, "$is", coffee, ""), ctx, ""},
		{"SKU with quantity 2", items(NameItemsAny, "$is", darkSKU, nested(NameItemQuantity, "$more_than_or_equal", "2")), ctx, ""},
		{"SKU with too few", items(NameItemsAny, "$is", lightSKU, nested(NameItemQuantity, "$more_than_or_equal", "2")), ctx, KeyQuantityTooLow},
		{"SKU with too many", items(NameItemsAny, "$is", darkSKU, nested(NameItemQuantity, "$less_than_or_equal", "2")), ctx, KeyQuantityExceeded},
		{"product, some line has 3", items(NameItemsAny, "$is", beans, nested(NameItemQuantity, "$is", "3")), ctx, ""},
		{"aggregated quantity", items(NameItemsAny, "$is", beans, nested(NameItemAggQuantity, "$more_than_or_equal", "4")), ctx, ""},
		{"aggregated quantity short", items(NameItemsAny, "$is", beans, nested(NameItemAggQuantity, "$more_than_or_equal", "5")), ctx, KeyQuantityTooLow},
		{"item price", items(NameItemsAny, "$is", beans, nested(NameItemPrice, "$more_than_or_equal", "1200")), ctx, ""},
		{"item price too low", items(NameItemsAny, "$is", beans, nested(NameItemPrice, "$more_than", "1200")), ctx, KeyPriceTooLow},
		{"aggregated amount", items(NameItemsAny, "$is", beans, nested(NameItemAggAmount, "$is", "4700")), ctx, ""},
		{"aggregated amount too low", items(NameItemsAny, "$is", beans, nested(NameItemAggAmount, "$more_than", "4700")), ctx, KeyPriceTooLow},
		{"item metadata", items(NameItemsAny, "$is", beans, `{"1":{"name":"order.items.metadata","property":"roast","conditions":{"$is":["light"]}}}`), ctx, ""},
		{"item metadata mismatch", items(NameItemsAny, "$is", beans, `{"1":{"name":"order.items.metadata","property":"roast","conditions":{"$is":["medium"]}}}`), ctx, KeyItemMetadata},
		{"one line meets both", items(NameItemsAny, "$is", beans, `{"1":{"name":"order.items.quantity","conditions":{"$more_than_or_equal":[2]}},
			"2":{"name":"order.items.metadata","property":"roast","conditions":{"$is":["dark"]}},"logic":"1 and 2"}`), ctx, ""},
		{"no line meets both", items(NameItemsAny, "$is", beans, `{"1":{"name":"order.items.quantity","conditions":{"$more_than_or_equal":[2]}},
			"2":{"name":"order.items.metadata","property":"roast","conditions":{"$is":["light"]}},"logic":"1 and 2"}`), ctx, KeyItemMetadata},
		{"nested or", items(NameItemsAny, "$is", mug, `{"1":{"name":"order.items.quantity","conditions":{"$more_than":[5]}},
			"2":{"name":"order.items.price","conditions":{"$is":[800]}},"logic":"1 or 2"}`), ctx, ""},

		{"every listed", items(NameItemsEvery, "$in", beans+","+mug, ""), ctx, ""},
		{"every, one missing", items(NameItemsEvery, "$in", beans+","+tea, ""), ctx, KeyItemsMissing},
		{"every with quantity", items(NameItemsEvery, "$in", beans+","+mug, nested(NameItemQuantity, "$more_than_or_equal", "2")), ctx, KeyQuantityTooLow},
		{"every with quantity 1", items(NameItemsEvery, "$in", beans+","+mug, nested(NameItemQuantity, "$more_than_or_equal", "1")), ctx, ""},

		{"none present", items(NameItemsNone, "$is", tea, ""), ctx, ""},
		{"none, but present", items(NameItemsNone, "$in", tea+","+mug, ""), ctx, KeyItemsExcluded},
		{"none with 5 beans", items(NameItemsNone, "$is", beans, nested(NameItemQuantity, "$more_than_or_equal", "5")), ctx, ""},
		{"none with 3 beans", items(NameItemsNone, "$is", beans, nested(NameItemQuantity, "$more_than_or_equal", "3")), ctx, KeyItemsExcluded},

		{"cheapest is mug", items(NameItemsCheapest, "$is", mug, ""), ctx, ""},
		{"cheapest is not beans", items(NameItemsCheapest, "$is", beans, ""), ctx, KeyItemsMissing},
		{"cheapest with nested", items(NameItemsCheapest, "$is", mug, nested(NameItemQuantity, "$more_than", "1")), ctx, KeyQuantityTooLow},
		{"most expensive is dark", items(NameItemsMostExpensive, "$in", tea+","+darkSKU, ""), ctx, ""},
		{"most expensive is not mug", items(NameItemsMostExpensive, "$is", mug, ""), ctx, KeyItemsMissing},
		{"cheapest of nothing", items(NameItemsCheapest, "$is", mug, ""), Context{}, KeyItemsMissing},
		{"any of nothing", items(NameItemsAny, "$is", mug, ""), Context{}, KeyItemsMissing},
	})
}

func TestProductAndSKUIDs(t *testing.T) {
	ctx := shop()
	runEval(t, []evalCase{
		{"product is", `{"name":"product.id","conditions":{"$is":["prod_mug"]}}`, ctx, ""},
		{"product is missing", `{"name":"product.id","conditions":{"$is":["prod_tea"]}}`, ctx, KeyItemsMissing},
		{"product in", `{"name":"product.id","conditions":{"$in":["prod_tea","prod_beans"]}}`, ctx, ""},
		{"product is_not", `{"name":"product.id","conditions":{"$is_not":["prod_tea"]}}`, ctx, ""},
		{"product is_not, present", `{"name":"product.id","conditions":{"$is_not":["prod_mug"]}}`, ctx, KeyItemsExcluded},
		{"product not_in, present", `{"name":"product.id","conditions":{"$not_in":["prod_tea","prod_mug"]}}`, ctx, KeyItemsExcluded},
		{"product with quantity", `{"name":"product.id","conditions":{"$is":["prod_beans"]},"rules":` + nested(NameProductQuantity, "$more_than_or_equal", "3") + `}`, ctx, ""},
		{"product with too few", `{"name":"product.id","conditions":{"$is":["prod_beans"]},"rules":` + nested(NameProductQuantity, "$more_than_or_equal", "4") + `}`, ctx, KeyQuantityTooLow},
		{"product with metadata", `{"name":"product.id","conditions":{"$is":["prod_beans"]},"rules":{"1":{"name":"product.metadata","property":"roast","conditions":{"$is":["light"]}}}}`, ctx, ""},
		{"product metadata mismatch", `{"name":"product.id","conditions":{"$is":["prod_beans"]},"rules":{"1":{"name":"product.metadata","property":"roast","conditions":{"$is":["medium"]}}}}`, ctx, KeyItemMetadata},
		{"product price", `{"name":"product.id","conditions":{"$is":["prod_beans"]},"rules":` + nested(NameProductPrice, "$less_than", "1150") + `}`, ctx, ""},
		{"product price too high", `{"name":"product.id","conditions":{"$is":["prod_beans"]},"rules":` + nested(NameProductPrice, "$less_than", "1100") + `}`, ctx, KeyPriceTooHigh},
		{"sku price", `{"name":"sku.id","conditions":{"$is":["sku_mug_blue"]},"rules":` + nested(NameSKUPrice, "$less_than", "1000") + `}`, ctx, ""},
		{"sku price too high", `{"name":"sku.id","conditions":{"$is":["sku_beans_dark"]},"rules":` + nested(NameSKUPrice, "$less_than", "1000") + `}`, ctx, KeyPriceTooHigh},
		{"sku quantity", `{"name":"sku.id","conditions":{"$in":["sku_beans_dark"]},"rules":` + nested(NameSKUQuantity, "$is", "3") + `}`, ctx, ""},
		{"sku quantity mismatch", `{"name":"sku.id","conditions":{"$in":["sku_beans_dark"]},"rules":` + nested(NameSKUQuantity, "$is", "2") + `}`, ctx, KeyQuantity},
		{"sku missing", `{"name":"sku.id","conditions":{"$is":["sku_tea"]}}`, ctx, KeyItemsMissing},
		{"sku is_not", `{"name":"sku.id","conditions":{"$is_not":["sku_beans_light"]}}`, ctx, KeyItemsExcluded},
		{"product in and not_in", `{"name":"product.id","conditions":{"$in":["prod_beans"],"$not_in":["prod_tea"]}}`, ctx, ""},
	})
}

// TestNestedFailureNames: a failing nested condition is named with its parent.
func TestNestedFailureNames(t *testing.T) {
	r := MustParse(t, `{"id":"val_1","name":"two dark","error":{"message":"rule says no"},"rules":{
	  "1":{"name":"order.amount","conditions":{"$more_than":[0]}},
	  "2":{"name":"order.items.any","conditions":{"$is":[{"object":"sku","id":"sku_beans_light"}]},"rules":{
	    "1":{"name":"order.items.price","conditions":{"$more_than":[0]}},
	    "2":{"name":"order.items.quantity","conditions":{"$more_than_or_equal":[2]}}},"error":{"message":"buy two light roasts"}},
	  "logic":"1 and 2"}}`)
	f := r.Evaluate(shop())
	if f == nil {
		t.Fatal("passed")
	}
	want := Failure{RuleID: "val_1", RuleName: "two dark", Condition: "2", ConditionName: NameItemsAny, Nested: "2",
		NestedName: NameItemQuantity, Operator: OpMoreThanOrEqual, Key: KeyQuantityTooLow, Message: "buy two light roasts", Configured: true}
	if *f != want {
		t.Errorf("got  %+v\nwant %+v", *f, want)
	}
	if !strings.Contains(f.Error(), "val_1 condition 2.2") {
		t.Errorf("Error() = %q", f.Error())
	}
	var err error = f
	var got *Failure
	if !errors.As(fmt.Errorf("redeem: %w", err), &got) || got != f {
		t.Error("errors.As does not find the failure")
	}
}

func TestMessages(t *testing.T) {
	ctx := Context{Order: Order{Amount: 100}}
	cases := []struct {
		name, rule string
		message    string
		configured bool
	}{
		{"generated", `{"name":"t","rules":{"1":{"name":"order.amount","conditions":{"$more_than":[500]}}}}`,
			"order amount must be more than 500 (it is 100)", false},
		{"rule's", `{"name":"t","error":{"message":"spend more"},"rules":{"1":{"name":"order.amount","conditions":{"$more_than":[500]}}}}`,
			"spend more", true},
		{"condition's over rule's", `{"name":"t","error":{"message":"spend more"},"rules":{"1":{"name":"order.amount",
			"conditions":{"$more_than":[500]},"error":{"message":"orders over 5 only"}}}}`, "orders over 5 only", true},
		{"nested's over parent's", `{"name":"t","rules":{"1":{"name":"order.items.any","error":{"message":"parent"},
			"conditions":{"$is":[{"object":"product","id":"p"}]},"rules":{"1":{"name":"order.items.quantity",
			"conditions":{"$more_than":[1]},"error":{"message":"two please"}}}}}}`, "two please", true},
		{"metadata not set", `{"name":"t","rules":{"1":{"name":"order.metadata","property":"store","conditions":{"$is":["Lisbon"]}}}}`,
			`order metadata "store" must be "Lisbon" (it is not set)`, false},
		{"segment", `{"name":"t","rules":{"1":{"name":"customer.segment","conditions":{"$in":["seg_a","seg_b"]}}}}`,
			"customer is in none of the segments seg_a, seg_b", false},
		{"missing product", `{"name":"t","rules":{"1":{"name":"order.items.every","conditions":{"$in":[{"object":"product","id":"p"},
			{"object":"products_collection","id":"pc_x"}]}}}}`, "the order must contain products collection pc_x", false},
	}
	ctx.Order.Items = []Item{{ProductID: "p", Quantity: 1}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := MustParse(t, tc.rule).Evaluate(ctx)
			if f == nil {
				t.Fatal("passed")
			}
			if f.Message != tc.message || f.Configured != tc.configured {
				t.Errorf("message %q configured %v, want %q %v", f.Message, f.Configured, tc.message, tc.configured)
			}
		})
	}
}

// flags is three order.metadata conditions 1, 2, 3 on flags a, b, c.
const flags = `"1":{"name":"order.metadata","property":"a","conditions":{"$is":[true]}},
	"2":{"name":"order.metadata","property":"b","conditions":{"$is":[true]}},
	"3":{"name":"order.metadata","property":"c","conditions":{"$is":[true]}}`

func flagCtx(a, b, c bool) Context {
	return Context{Order: Order{Metadata: map[string]any{"a": a, "b": b, "c": c}}}
}

func TestLogic(t *testing.T) {
	for _, tc := range []struct {
		logic string
		want  func(a, b, c bool) bool
		blame func(a, b, c bool) string // condition blamed on failure
		key   func(a, b, c bool) string // failure key; KeyOrderMetadata when nil
	}{
		{"(1 and 2) or 3", func(a, b, c bool) bool { return a && b || c },
			func(a, b, c bool) string { return map[bool]string{true: "2", false: "1"}[a] }, nil},
		{"1 and 2 or 3", func(a, b, c bool) bool { return a && b || c },
			func(a, b, c bool) string { return map[bool]string{true: "2", false: "1"}[a] }, nil},
		{"1 and (2 or 3)", func(a, b, c bool) bool { return a && (b || c) },
			func(a, b, c bool) string { return map[bool]string{true: "2", false: "1"}[a] }, nil},
		{"1 or 2 and 3", func(a, b, c bool) bool { return a || b && c },
			func(a, b, c bool) string { return "1" }, nil},
		{"", func(a, b, c bool) bool { return a && b && c },
			func(a, b, c bool) string {
				if !a {
					return "1"
				}
				if !b {
					return "2"
				}
				return "3"
			}, nil},
		{"not 1", func(a, b, c bool) bool { return !a }, func(a, b, c bool) string { return "1" },
			func(a, b, c bool) string { return KeyNegatedConditionMet }},
		{"NOT 1 OR 2", func(a, b, c bool) bool { return !a || b }, func(a, b, c bool) string { return "1" },
			func(a, b, c bool) string { return KeyNegatedConditionMet }},
		{"1 and not (2 or 3)", func(a, b, c bool) bool { return a && !(b || c) },
			func(a, b, c bool) string {
				if !a {
					return "1"
				}
				if b {
					return "2"
				}
				return "3"
			},
			func(a, b, c bool) string {
				if !a {
					return KeyOrderMetadata
				}
				return KeyNegatedConditionMet
			}},
		{"not not 3", func(a, b, c bool) bool { return c }, func(a, b, c bool) string { return "3" }, nil},
		{"2", func(a, b, c bool) bool { return b }, func(a, b, c bool) string { return "2" }, nil},
	} {
		r := MustParse(t, `{"name":"logic","rules":{`+flags+`,"logic":"`+tc.logic+`"}}`)
		for i := range 8 {
			a, b, c := i&4 != 0, i&2 != 0, i&1 != 0
			t.Run(fmt.Sprintf("%s/%v,%v,%v", tc.logic, a, b, c), func(t *testing.T) {
				f := r.Evaluate(flagCtx(a, b, c))
				if want := tc.want(a, b, c); want != (f == nil) {
					t.Fatalf("holds %v, want %v (%+v)", f == nil, want, f)
				}
				if f == nil {
					return
				}
				key := KeyOrderMetadata
				if tc.key != nil {
					key = tc.key(a, b, c)
				}
				if f.Condition != tc.blame(a, b, c) || f.Key != key {
					t.Errorf("blamed %s %s, want %s %s", f.Condition, f.Key, tc.blame(a, b, c), key)
				}
			})
		}
	}
}

func TestUnreferencedConditionIgnored(t *testing.T) {
	r := MustParse(t, `{"name":"t","rules":{`+flags+`,"logic":"1 or 2"}}`)
	if f := r.Evaluate(flagCtx(true, false, false)); f != nil {
		t.Errorf("condition 3 is not in the logic but failed the rule: %+v", f)
	}
}

func TestEmptyRulePasses(t *testing.T) {
	if f := MustParse(t, `{"name":"t","rules":{"logic":""}}`).Evaluate(Context{}); f != nil {
		t.Errorf("empty rule failed: %+v", f)
	}
}

func TestNumberOrderWithoutLogic(t *testing.T) {
	r := MustParse(t, `{"name":"t","rules":{
	  "10":{"name":"order.amount","conditions":{"$more_than":[100]}},
	  "2":{"name":"order.amount","conditions":{"$more_than":[50]}}}}`)
	if f := r.Evaluate(Context{}); f == nil || f.Condition != "2" {
		t.Errorf("want condition 2 blamed first, got %+v", f)
	}
}

func TestEvaluateLiteral(t *testing.T) {
	r := Rule{ID: "val_lit", Name: "literal", Rules: Rules{ByNumber: map[string]Condition{
		"1": {Name: NameOrderAmount, Conditions: map[Operator][]any{OpMoreThanOrEqual: {4000}}},
		"2": {Name: NameItemsAny, Conditions: map[Operator][]any{OpIs: {map[string]any{"object": "sku", "id": "sku_mug_blue"}}},
			Rules: Rules{ByNumber: map[string]Condition{"1": {Name: NameItemQuantity, Conditions: map[Operator][]any{OpIs: {int64(1)}}}}}},
	}}}
	if f := r.Evaluate(shop()); f != nil {
		t.Errorf("literal rule failed: %+v", f)
	}
	r.Rules.ByNumber["3"] = Condition{Name: "nope"}
	f := r.Evaluate(shop())
	if f == nil || f.Key != KeyInvalidRule || !strings.Contains(f.Message, `unknown rule name "nope"`) || f.RuleID != "val_lit" {
		t.Errorf("invalid literal: %+v", f)
	}
}

func TestFailureKeysStable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range FailureKeys() {
		if seen[k] || k == "" || strings.ToLower(k) != k {
			t.Errorf("bad or repeated key %q", k)
		}
		seen[k] = true
	}
	if len(seen) != 26 {
		t.Errorf("%d keys; update the documentation when the set changes", len(seen))
	}
}

func TestRuleNames(t *testing.T) {
	names := RuleNames()
	if len(names) != len(specs) {
		t.Fatalf("%d names", len(names))
	}
	for _, n := range []string{NameCustomerSegment, NameHolderOnly, NameItemsAny, NameCampaignDiscounted} {
		found := false
		for _, m := range names {
			found = found || m == n
		}
		if !found {
			t.Errorf("%s missing", n)
		}
	}
}

func TestEvaluateConcurrently(t *testing.T) {
	r := MustParse(t, oneCond(items(NameItemsAny, "$is", darkSKU, nested(NameItemQuantity, "$more_than_or_equal", "2"))))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := shop()
			ctx.Order.Items[0].Quantity = int64(i % 3)
			want := i%3 >= 2
			for range 100 {
				if f := r.Evaluate(ctx); (f == nil) != want {
					t.Errorf("quantity %d: %+v", i%3, f)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// fixtureCtx is a context for testdata/complex_rule.json: an order in store
// with two dark 1 kg bags, by a customer with prior redemptions of the code.
func fixtureCtx(store string, prior int64) Context {
	ctx := shop()
	ctx.Customer.ID = "cus_1"
	ctx.Order.Items = append(ctx.Order.Items, Item{ProductID: "prod_beans_1kg", Quantity: 2, Price: 2400,
		Metadata: map[string]any{"roast": "dark"}})
	ctx.Order.Metadata = map[string]any{"store": store}
	ctx.CustomEvent.Metadata = map[string]any{"rating": 5}
	ctx.Counters.CustomerRedemptionsOfCode = prior
	return ctx
}

// TestFixtureRule evaluates the golden fixture: "(1 and 10) or (2 and not 3)".
func TestFixtureRule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "complex_rule.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := MustParse(t, string(data))
	if f := r.Evaluate(fixtureCtx("Lisbon-Chiado", 2)); f != nil {
		t.Errorf("third redemption in Lisbon refused: %+v", f)
	}
	f := r.Evaluate(fixtureCtx("Porto", 0))
	want := Failure{RuleID: "val_lisbonShop01", RuleName: "Lisbon shops, bulk coffee", Condition: "1",
		ConditionName: NameOrderMetadata, Operator: OpIn, Key: KeyOrderMetadata,
		Message: "Only valid in our Lisbon stores.", Configured: true}
	if f == nil || *f != want {
		t.Errorf("Porto: got %+v\nwant %+v", f, want)
	}
	ctx := fixtureCtx("Porto", 0)
	ctx.CustomEvent.Metadata["rating"] = 3
	if f := r.Evaluate(ctx); f == nil || f.Condition != "1" {
		t.Errorf("low rating in Porto: %+v", f)
	}
	ctx = fixtureCtx("Porto", 0)
	ctx.Order.Items[3].Quantity = 1 // condition 3 fails, so "2 and not 3" holds
	if f := r.Evaluate(ctx); f != nil {
		t.Errorf("one bag in Porto refused: %+v", f)
	}
	f = r.Evaluate(fixtureCtx("Lisbon-Belem", 3))
	if f == nil || f.Condition != "10" || f.Key != KeyRedemptionLimitExceeded || f.Message != "This coupon does not apply to your basket." {
		t.Errorf("fourth redemption: %+v", f)
	}
}
