package rules

// Needs says what the caller must put in a Context for some rules: which
// Counters fields they compare, whether they look at the customer's segments,
// and whether they need Context.Now. Fields not needed may stay zero. Each
// counter flag is named after the Counters field it asks for.
type Needs struct {
	CodeRedemptions          bool
	CodeRedemptionsToday     bool
	CodeRedemptionsThisWeek  bool
	CodeRedemptionsThisMonth bool

	CustomerRedemptionsOfCode          bool
	CustomerRedemptionsOfCodeToday     bool
	CustomerRedemptionsOfCodeThisWeek  bool
	CustomerRedemptionsOfCodeThisMonth bool

	CampaignRedemptions          bool
	CampaignRedemptionsToday     bool
	CampaignRedemptionsThisWeek  bool
	CampaignRedemptionsThisMonth bool

	CustomerRedemptionsOfCampaign          bool
	CustomerRedemptionsOfCampaignToday     bool
	CustomerRedemptionsOfCampaignThisWeek  bool
	CustomerRedemptionsOfCampaignThisMonth bool

	CampaignDiscounted bool
	CampaignOrderValue bool

	// Segments: a customer.segment rule reads Customer.Segments.
	Segments bool
	// Now: a metadata date operator relative to today reads Context.Now.
	Now bool
}

// AnyCounter reports whether some Counters field is needed.
func (n Needs) AnyCounter() bool {
	m := n
	m.Segments, m.Now = false, false
	return m != Needs{}
}

// CountersNeeded returns what the rules need in their Context. Conditions
// the logic does not mention are not evaluated and need nothing. A rule that
// does not validate needs nothing either: it fails with KeyInvalidRule.
func CountersNeeded(rules []Rule) Needs {
	var n Needs
	for _, r := range rules {
		p := r.prog
		if p == nil {
			var probs []string
			if p, probs = compile(r, nil); len(probs) > 0 {
				continue
			}
		}
		n.add(p.root)
	}
	return n
}

// field returns the Needs flag of a counter.
func (n *Needs) field(c counter) *bool {
	switch c {
	case ctrCode:
		return &n.CodeRedemptions
	case ctrCodeToday:
		return &n.CodeRedemptionsToday
	case ctrCodeWeek:
		return &n.CodeRedemptionsThisWeek
	case ctrCodeMonth:
		return &n.CodeRedemptionsThisMonth
	case ctrCustomerCode:
		return &n.CustomerRedemptionsOfCode
	case ctrCustomerCodeToday:
		return &n.CustomerRedemptionsOfCodeToday
	case ctrCustomerCodeWeek:
		return &n.CustomerRedemptionsOfCodeThisWeek
	case ctrCustomerCodeMonth:
		return &n.CustomerRedemptionsOfCodeThisMonth
	case ctrCampaign:
		return &n.CampaignRedemptions
	case ctrCampaignToday:
		return &n.CampaignRedemptionsToday
	case ctrCampaignWeek:
		return &n.CampaignRedemptionsThisWeek
	case ctrCampaignMonth:
		return &n.CampaignRedemptionsThisMonth
	case ctrCustomerCampaign:
		return &n.CustomerRedemptionsOfCampaign
	case ctrCustomerCampaignToday:
		return &n.CustomerRedemptionsOfCampaignToday
	case ctrCustomerCampaignWeek:
		return &n.CustomerRedemptionsOfCampaignThisWeek
	case ctrCustomerCampaignMonth:
		return &n.CustomerRedemptionsOfCampaignThisMonth
	case ctrCampaignDiscounted:
		return &n.CampaignDiscounted
	case ctrCampaignOrderValue:
		return &n.CampaignOrderValue
	}
	return nil
}

// add records what the conditions a rule set evaluates need.
func (n *Needs) add(s *ruleSet) {
	for _, num := range s.order {
		c := s.conds[num]
		if c == nil {
			continue
		}
		switch c.spec.kind {
		case kCounter:
			*n.field(c.spec.ctr) = true
		case kSegment:
			n.Segments = true
		}
		for _, o := range c.ops {
			if relativeToNow(o.op) {
				n.Now = true
			}
		}
		if c.nested != nil {
			n.add(c.nested)
		}
	}
}
