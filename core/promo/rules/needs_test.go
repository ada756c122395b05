package rules

import "testing"

func TestCountersNeeded(t *testing.T) {
	limits := MustParse(t, `{"name":"limits","rules":{
	  "1":{"name":"redemption.count.per_customer","conditions":{"$less_than_or_equal":[1]}},
	  "2":{"name":"campaign.orders.amount_discounted","conditions":{"$less_than_or_equal":[100000]}},
	  "3":{"name":"campaign.redemptions.count.weekly","conditions":{"$less_than":[50]}},
	  "logic":"1 and 2"}}`)
	segment := MustParse(t, `{"name":"segment","rules":{
	  "1":{"name":"customer.segment","conditions":{"$is":["seg_1"]}},
	  "2":{"name":"order.items.any","conditions":{"$is":[{"object":"product","id":"p"}]},
	       "rules":{"1":{"name":"order.items.metadata","property":"made","conditions":{"$less_than_ago":[30]}}}}}}`)
	literal := Rule{Name: "literal", Rules: Rules{ByNumber: map[string]Condition{
		"1": {Name: NameCodeRedemptionsDaily, Conditions: map[Operator][]any{OpLessThan: {10}}},
	}}}
	invalid := Rule{Name: "invalid", Rules: Rules{ByNumber: map[string]Condition{
		"1": {Name: NameCampaignOrderValue, Conditions: map[Operator][]any{OpLessThan: {"lots"}}},
	}}}

	for _, tc := range []struct {
		name  string
		rules []Rule
		want  Needs
	}{
		{"none", nil, Needs{}},
		{"logic decides", []Rule{limits}, Needs{CustomerRedemptionsOfCode: true, CampaignDiscounted: true}},
		{"segments and now", []Rule{segment}, Needs{Segments: true, Now: true}},
		{"literal", []Rule{literal}, Needs{CodeRedemptionsToday: true}},
		{"invalid needs nothing", []Rule{invalid}, Needs{}},
		{"union", []Rule{limits, segment, literal, invalid},
			Needs{CustomerRedemptionsOfCode: true, CampaignDiscounted: true, CodeRedemptionsToday: true, Segments: true, Now: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CountersNeeded(tc.rules)
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestNeedsEveryCounter: each counter rule asks for its own Counters field,
// and AnyCounter sees it.
func TestNeedsEveryCounter(t *testing.T) {
	seen := map[Needs]string{}
	for name, sp := range specs {
		if sp.kind != kCounter {
			continue
		}
		r := MustParse(t, oneCond(`{"name":"`+name+`","conditions":{"$less_than":[5]}}`))
		n := CountersNeeded([]Rule{r})
		if !n.AnyCounter() || n.Segments || n.Now {
			t.Errorf("%s: %+v", name, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("%s and %s need the same counter", name, other)
		}
		seen[n] = name
	}
	if len(seen) != 18 {
		t.Errorf("%d counter rules, want 18", len(seen))
	}
	if (Needs{Segments: true, Now: true}).AnyCounter() {
		t.Error("AnyCounter counts Segments or Now")
	}
}
