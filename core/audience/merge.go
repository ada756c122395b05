package audience

import (
	"slices"
	"sort"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// merge folds the profile fromID into into, in the unit's transaction:
// traits and consents by latest timestamp, order aggregates and event
// counters summed, identities moved, static memberships moved, and the
// merged profile left as a tombstone pointing at into (so old ids and
// retried calls still find the customer). into's auto-update memberships
// are recomputed when the unit commits.
func (u *unit) merge(fromID string, into *custState) error {
	from, err := u.load(fromID)
	if err != nil {
		return err
	}
	if from.prof.ID == into.prof.ID {
		return nil
	}
	a, b := &from.prof, &into.prof
	for k, v := range a.Traits {
		if at, ok := b.TraitTimes[k]; ok && !a.TraitTimes[k].After(at) {
			continue
		}
		if b.Traits == nil {
			b.Traits, b.TraitTimes = map[string]any{}, map[string]time.Time{}
		}
		b.Traits[k], b.TraitTimes[k] = v, a.TraitTimes[k]
	}
	for k, v := range a.Consents {
		if cur, ok := b.Consents[k]; ok && !v.At.After(cur.At) {
			continue
		}
		if b.Consents == nil {
			b.Consents = map[string]customer.Consent{}
		}
		b.Consents[k] = v
	}
	for k, v := range a.Metadata {
		if _, ok := b.Metadata[k]; !ok {
			if b.Metadata == nil {
				b.Metadata = map[string]any{}
			}
			b.Metadata[k] = v
		}
	}
	b.Name = firstNonEmpty(b.Name, a.Name)
	b.Email = firstNonEmpty(b.Email, a.Email)
	b.Phone = firstNonEmpty(b.Phone, a.Phone)
	if b.Address == nil {
		b.Address = a.Address
	}
	mergeOrders(&b.Orders, a.Orders)
	if a.CreatedAt.Before(b.CreatedAt) {
		b.CreatedAt = a.CreatedAt
	}
	b.MergedFrom = append(append(b.MergedFrom, a.ID), a.MergedFrom...)
	into.dirty = true

	// Identities of the merged profile now name into.
	if a.SourceID != "" {
		u.repoint(customer.IdentitySource, a.SourceID, b.ID)
	}
	for _, anon := range a.AnonymousIDs {
		u.repoint(customer.IdentityAnonymous, anon, b.ID)
		if !slices.Contains(b.AnonymousIDs, anon) {
			b.AnonymousIDs = append(b.AnonymousIDs, anon)
		}
	}
	if a.Email != "" {
		if id, err := u.identity(customer.IdentityEmail, a.Email); err != nil {
			return err
		} else if id == a.ID {
			u.repoint(customer.IdentityEmail, a.Email, b.ID)
		}
	}
	if err := u.mergeEvents(from, into); err != nil {
		return err
	}
	// Memberships: static ones move; auto ones are recomputed for into.
	auto := map[string]bool{}
	for _, d := range u.defs.list {
		auto[d.id] = true
	}
	for _, seg := range a.Segments {
		u.ops = append(u.ops, core.Delete(membershipKey(u.p, seg, a.ID)))
		if !auto[seg] && !slices.Contains(b.Segments, seg) {
			b.Segments = append(b.Segments, seg)
			u.ops = append(u.ops, core.Put(core.Item{Key: membershipKey(u.p, seg, b.ID), Version: 1}))
		}
	}
	sort.Strings(b.Segments)
	u.ops = append(u.ops, core.Delete(customer.IndexKey(u.p, a.ID)))
	into.tl = append(into.tl, timelineEntry{Type: "customer.merged", At: u.now,
		Data: map[string]any{"merged_customer_id": a.ID, "source_id": a.SourceID}})

	*a = customer.Profile{ID: a.ID, CreatedAt: a.CreatedAt, Object: "customer", MergedInto: b.ID}
	from.deleted, from.dirty = true, true
	from.events = map[string]*eventState{}
	return nil
}

func (u *unit) repoint(kind, value, to string) {
	key := customer.IdentityKey(u.p, kind, value)
	u.ops = slices.DeleteFunc(u.ops, func(op core.Op) bool { return op.Target() == key })
	u.ops = append(u.ops, core.Put(core.Item{Key: key, Version: 1, Data: []byte(to)}))
	u.mapIdentity(key, to)
}

// mergeEvents adds every event counter of from to into's.
func (u *unit) mergeEvents(from, into *custState) error {
	var names []string
	err := u.s.eachEventItem(u.ctx, u.p, from.prof.ID, func(it core.Item, st eventItem) error {
		from.events[st.Name] = &eventState{item: it, stats: st}
		names = append(names, st.Name)
		return nil
	})
	if err != nil {
		return err
	}
	if err := u.loadEvents(into, names...); err != nil {
		return err
	}
	for _, n := range names {
		src, dst := from.events[n].stats, into.events[n]
		d := &dst.stats
		d.Name = n
		d.Total += src.Total
		if d.First.IsZero() || (!src.First.IsZero() && src.First.Before(d.First)) {
			d.First = src.First
		}
		if src.Last.After(d.Last) {
			d.Last = src.Last
		}
		for day, c := range src.Days {
			if d.Days == nil {
				d.Days = map[string]int64{}
			}
			d.Days[day] += c
		}
		rec := append(slices.Clone(d.Recent), src.Recent...)
		slices.SortStableFunc(rec, func(a, b occurrence) int { return b.At.Compare(a.At) })
		d.Recent = rec[:min(len(rec), recentPerEvent)]
		dst.dirty = true
	}
	return nil
}

func mergeOrders(b *customer.OrderStats, a customer.OrderStats) {
	b.Count += a.Count
	b.TotalAmount += a.TotalAmount
	b.RefundedAmount += a.RefundedAmount
	b.RefundCount += a.RefundCount
	b.LargestAmount = max(b.LargestAmount, a.LargestAmount)
	if a.FirstAt != nil && (b.FirstAt == nil || a.FirstAt.Before(*b.FirstAt)) {
		b.FirstAt = a.FirstAt
	}
	if a.LastAt != nil && (b.LastAt == nil || a.LastAt.After(*b.LastAt)) {
		b.LastAt, b.LastAmount = a.LastAt, a.LastAmount
	}
	for sku, st := range a.SKUs {
		if b.SKUs == nil {
			b.SKUs = map[string]*customer.SKUStats{}
		}
		cur := b.SKUs[sku]
		if cur == nil {
			cur = &customer.SKUStats{}
			b.SKUs[sku] = cur
		}
		cur.Quantity += st.Quantity
		cur.Orders += st.Orders
	}
	for pid, q := range a.Products {
		if b.Products == nil {
			b.Products = map[string]int64{}
		}
		b.Products[pid] += q
	}
}
