package audience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/segment"
)

// unit is one transaction being built: the customers it read (with the
// versions their writes will be conditional on) and what it will write.
type unit struct {
	s    *Service
	ctx  context.Context
	p    string
	now  time.Time
	defs *autoDefs

	custs []*custState
	ops   []core.Op // writes that are not per-customer state (seen, identities, orders…)
	// Outcome of the unit's main customer.
	out Outcome
	// result, when set, is what the request answers: it is recorded under
	// the request's idempotency key in the unit's transaction.
	result func() any
	// identities the unit maps (to customer ids), so later messages of the
	// same unit resolve to them before they are stored; seenIDs the
	// deliveries it marks seen.
	identities map[core.Key]string
	seenIDs    map[core.Key]bool
}

// identity is Service.identity as of the unit: identities the unit adds
// count before they are written.
func (u *unit) identity(kind, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	key := customer.IdentityKey(u.p, kind, value)
	if id, ok := u.identities[key]; ok {
		return id, nil
	}
	id, err := u.s.identity(u.ctx, u.p, kind, value)
	if err == nil {
		u.mapIdentity(key, id) // read once per unit
	}
	return id, err
}

func (u *unit) mapIdentity(key core.Key, id string) {
	if u.identities == nil {
		u.identities = map[core.Key]string{}
	}
	u.identities[key] = id
}

// custState is one customer as read, and what the unit changes of it.
type custState struct {
	item    core.Item // Version 0 when the customer is new
	prof    customer.Profile
	isNew   bool
	dirty   bool // profile must be written
	deleted bool // merged away: written as a tombstone, not evaluated
	events  map[string]*eventState
	tl      []timelineEntry
	outbox  []outboxEvent
	// listed: the customer's list entry must be written (new customers).
	listed bool
}

type eventState struct {
	item  core.Item
	stats eventItem
	dirty bool
}

type outboxEvent struct {
	types []string
	data  any
}

func (s *Service) newUnit(ctx context.Context, p string) (*unit, error) {
	defs, err := s.loadDefs(ctx, p)
	if err != nil {
		return nil, err
	}
	return &unit{s: s, ctx: ctx, p: p, now: s.now(), defs: defs}, nil
}

// load reads customer id's profile and the event counters its segments
// (and extra) need.
func (u *unit) load(id string, extra ...string) (*custState, error) {
	for _, c := range u.custs {
		if c.prof.ID == id {
			return c, u.loadEvents(c, extra...)
		}
	}
	prof, it, err := customer.Load(u.ctx, u.s.Store, u.p, id)
	if err != nil {
		return nil, err
	}
	c := &custState{item: it, prof: prof, events: map[string]*eventState{}}
	u.custs = append(u.custs, c)
	return c, u.loadEvents(c, extra...)
}

// create adds a new customer to the unit.
func (u *unit) create(sourceID string) *custState {
	c := &custState{
		prof:  customer.Profile{ID: u.s.IDs.New(customer.IDPrefix), SourceID: sourceID, CreatedAt: u.now, Object: "customer"},
		isNew: true, dirty: true, listed: true, events: map[string]*eventState{},
	}
	c.tl = append(c.tl, timelineEntry{Type: "customer.created", At: u.now})
	u.custs = append(u.custs, c)
	return c
}

// loadEvents reads the counter items of names (and the segments' names)
// that are not loaded yet, in one batch.
func (u *unit) loadEvents(c *custState, names ...string) error {
	want := append(slices.Clone(u.defs.events), names...)
	var keys []core.Key
	for _, n := range want {
		if _, ok := c.events[n]; ok || n == "" {
			continue
		}
		c.events[n] = &eventState{stats: eventItem{EventStats: customer.EventStats{Name: n}}}
		if !c.isNew {
			keys = append(keys, eventKey(u.p, c.prof.ID, n))
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), core.MaxBatchGet)
		got, err := u.s.Store.BatchGet(u.ctx, keys[:n])
		if err != nil {
			return err
		}
		for _, it := range got {
			var st eventItem
			if err := json.Unmarshal(it.Data, &st); err != nil {
				return fmt.Errorf("decode %s: %w", it.Key, err)
			}
			c.events[st.Name] = &eventState{item: it, stats: st}
		}
		keys = keys[n:]
	}
	return nil
}

func eventKey(p, cust, name string) core.Key {
	return core.Key{PK: customer.Partition(p, cust), SK: "ev#" + name}
}

// subject is what segment filters read about c.
func (c *custState) subject() segment.Subject {
	ev := make(map[string]*customer.EventStats, len(c.events))
	for n, e := range c.events {
		ev[n] = &e.stats.EventStats
	}
	return segment.Subject{Profile: &c.prof, Events: ev}
}

// evaluate recomputes c's auto-update memberships and its due time, and
// records every real transition.
func (u *unit) evaluate(c *custState) {
	if c.deleted || len(u.defs.list) == 0 && c.prof.DueAt == nil {
		return
	}
	sub := c.subject()
	member := map[string]bool{}
	for _, id := range c.prof.Segments {
		member[id] = true
	}
	var due time.Time
	for _, d := range u.defs.list {
		in := d.filter.Match(sub, u.now)
		if d.filter.TimeRelative() {
			if t := d.filter.NextChange(sub, u.now); !t.IsZero() && (due.IsZero() || t.Before(due)) {
				due = t
			}
		}
		switch {
		case in && !member[d.id]:
			member[d.id] = true
			u.transition(c, d.id, d.name, true)
		case !in && member[d.id]:
			delete(member, d.id)
			u.transition(c, d.id, d.name, false)
		}
	}
	u.setDue(c, due)
}

func (u *unit) transition(c *custState, seg, name string, entered bool) {
	typ := "customer.segment.left"
	if entered {
		typ = "customer.segment.entered"
		c.prof.Segments = append(c.prof.Segments, seg)
		sort.Strings(c.prof.Segments)
		u.ops = append(u.ops, core.Put(core.Item{Key: membershipKey(u.p, seg, c.prof.ID), Version: 1}, core.IfNotExists()))
	} else {
		c.prof.Segments = slices.DeleteFunc(c.prof.Segments, func(s string) bool { return s == seg })
		u.ops = append(u.ops, core.Delete(membershipKey(u.p, seg, c.prof.ID), core.IfExists()))
	}
	c.dirty = true
	data := map[string]any{"customer": publicRef(c.prof), "segment": map[string]any{"id": seg, "name": name, "object": "segment"}}
	c.outbox = append(c.outbox, outboxEvent{types: []string{typ}, data: data})
	c.tl = append(c.tl, timelineEntry{Type: typ, At: u.now, Data: map[string]any{"segment_id": seg, "segment_name": name}})
	if c == u.custs[0] || u.out.CustomerID == c.prof.ID {
		if entered {
			u.out.Entered = append(u.out.Entered, seg)
		} else {
			u.out.Left = append(u.out.Left, seg)
		}
	}
}

// publicRef is how events name a customer.
func publicRef(p customer.Profile) map[string]any {
	m := map[string]any{"id": p.ID, "object": "customer"}
	if p.SourceID != "" {
		m["source_id"] = p.SourceID
	}
	if p.Email != "" {
		m["email"] = p.Email
	}
	if p.Name != "" {
		m["name"] = p.Name
	}
	return m
}

// commit evaluates every customer the unit touched and writes the whole
// unit in one transaction.
func (u *unit) commit(ctx context.Context) error {
	ops := slices.Clone(u.ops)
	u.ops = nil
	for _, c := range u.custs {
		u.evaluate(c)
	}
	ops = append(ops, u.ops...)
	for _, c := range u.custs {
		cops, err := u.custOps(c)
		if err != nil {
			return err
		}
		ops = append(ops, cops...)
	}
	idem := -1
	if u.result != nil {
		op, ok, err := core.IdempotencyOp(ctx, u.now, u.result())
		if err != nil {
			return err
		}
		if ok {
			idem = len(ops)
			ops = append(ops, op)
		}
	}
	if len(ops) > core.MaxTransactOps {
		return core.KeyedError(core.CodeInvalid, keyTooLarge, "this change touches %d items; at most %d fit one transaction", len(ops), core.MaxTransactOps)
	}
	if onlyChecks(ops) {
		return nil // nothing changed: no write at all
	}
	if counter, seen, ok := plainWrites(ops); ok && idem < 0 {
		return u.writePlain(ctx, counter, seen)
	}
	return core.ResolveIdempotency(ctx, u.s.Store, u.s.Store.Write(ctx, ops...), idem)
}

// custOps are the writes of one customer's state.
func (u *unit) custOps(c *custState) ([]core.Op, error) {
	var ops []core.Op
	key := customer.ProfileKey(u.p, c.prof.ID)
	switch {
	case c.isNew:
		data, err := json.Marshal(c.prof)
		if err != nil {
			return nil, err
		}
		ops = append(ops, core.Put(core.Item{Key: key, Version: 1, Data: data}, core.IfNotExists()))
	case c.dirty:
		now := u.now
		c.prof.UpdatedAt = &now
		data, err := json.Marshal(c.prof)
		if err != nil {
			return nil, err
		}
		ops = append(ops, core.Put(core.Item{Key: key, Version: c.item.Version + 1, Data: data}, core.IfVersion(c.item.Version)))
	case len(u.defs.list) > 0:
		ops = append(ops, core.Check(key, core.IfVersion(c.item.Version)))
	}
	if c.listed {
		ops = append(ops, core.Put(core.Item{Key: customer.IndexKey(u.p, c.prof.ID), Version: 1}))
	}
	names := make([]string, 0, len(c.events))
	for n, e := range c.events {
		if e.dirty {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		e := c.events[n]
		data, err := json.Marshal(e.stats)
		if err != nil {
			return nil, err
		}
		cond := core.IfNotExists()
		if e.item.Version > 0 {
			cond = core.IfVersion(e.item.Version)
		}
		ops = append(ops, core.Put(core.Item{Key: eventKey(u.p, c.prof.ID, n), Version: e.item.Version + 1, Data: data}, cond))
	}
	for _, t := range c.tl {
		op, err := u.timelineOp(c.prof.ID, t)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	for _, ev := range c.outbox {
		op, err := core.EventOp(u.s.IDs, u.now, u.p, c.prof.ID, c.prof.ID, ev.data, ev.types...)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// markSeen adds the dedupe record of an inbound message to the unit.
func (u *unit) markSeen(source, id, customerID string) {
	key := seenKey(u.p, source, id)
	if id == "" || u.seenIDs[key] {
		return
	}
	if u.seenIDs == nil {
		u.seenIDs = map[core.Key]bool{}
	}
	u.seenIDs[key] = true
	data, _ := json.Marshal(map[string]string{"customer_id": customerID})
	u.ops = append(u.ops, core.Put(core.Item{Key: key, Version: 1, Data: data,
		ExpiresAt: u.now.Add(SeenTTL).Unix()}, core.IfNotExists()))
}

// seen reports whether an inbound message was applied already.
func (s *Service) seen(ctx context.Context, p, source, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	_, err := s.Store.Get(ctx, seenKey(p, source, id))
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func onlyChecks(ops []core.Op) bool {
	for _, op := range ops {
		if op.Kind != core.OpCheck {
			return false
		}
	}
	return true
}

// plainWrites recognises a plain event: one that changes nothing but its
// event counter (no segment, profile or identity change). Such an event is
// written as two single-item writes instead of a transaction, which costs
// half as much on DynamoDB (1 + 1 write units instead of 2 × 2, plus the
// profile check a transaction would carry). It returns the counter write
// and the dedupe record's write.
func plainWrites(ops []core.Op) (counter, seen core.Op, ok bool) {
	var n int
	for _, op := range ops {
		switch {
		case op.Kind == core.OpCheck:
		case op.Kind == core.OpPut && strings.HasPrefix(op.Item.SK, "ev#"):
			counter = op
			n++
		case op.Kind == core.OpPut && op.Item.SK == "m" && strings.Contains(op.Item.PK, "#seen#"):
			seen = op
			n += 10
		default:
			return counter, seen, false
		}
	}
	return counter, seen, n == 11
}

// writePlain writes a plain event's counter, then its dedupe record. The
// counter item remembers the digests of the latest messages it counted
// (eventItem.Applied), so if the process stops between the two writes the
// retried message finds its digest there and is not counted again; it is
// then only marked seen. Exactly once therefore holds as long as fewer
// than appliedPerEvent newer messages of the same event and customer are
// counted before the retry arrives. A dedupe record already written means
// another delivery of the same message won the race after counting it
// once (its counter write carried the same digest): nothing is lost.
func (u *unit) writePlain(ctx context.Context, counter, seen core.Op) error {
	if err := u.s.Store.Write(ctx, counter); err != nil {
		return err
	}
	if err := u.s.Store.Write(ctx, seen); err != nil && !errors.Is(err, core.ErrConditionFailed) {
		return err
	}
	return nil
}
