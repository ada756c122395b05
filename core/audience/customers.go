package audience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// CustomerInput is Voucherify's customer body (create, update, bulk).
// Nil fields are left as they are on update.
type CustomerInput struct {
	ID          string            `json:"id,omitempty"`
	SourceID    string            `json:"source_id,omitempty"`
	Name        *string           `json:"name,omitempty"`
	Email       *string           `json:"email,omitempty"`
	Phone       *string           `json:"phone,omitempty"`
	Description *string           `json:"description,omitempty"`
	Birthdate   *string           `json:"birthdate,omitempty"`
	Birthday    *string           `json:"birthday,omitempty"`
	Address     *customer.Address `json:"address,omitempty"`
	Metadata    map[string]any    `json:"metadata,omitempty"`
}

// Validate reports every problem of the customer's fields at once (key
// invalid_customer); it writes nothing.
func (in CustomerInput) Validate() error {
	var probs []string
	if len(in.SourceID) > 200 {
		probs = append(probs, "source_id: at most 200 characters")
	}
	if in.Email != nil && *in.Email != "" && !strings.Contains(*in.Email, "@") {
		probs = append(probs, "email: not an email address")
	}
	for _, d := range []*string{in.Birthdate, in.Birthday} {
		if d != nil && *d != "" {
			if _, err := time.Parse("2006-01-02", *d); err != nil {
				probs = append(probs, "birthdate: must be YYYY-MM-DD")
			}
		}
	}
	if jsonSize(in.Metadata) > 16<<10 {
		probs = append(probs, "metadata: at most 16 KB")
	}
	if len(probs) > 0 {
		return core.KeyedError(core.CodeInvalid, "invalid_customer", "%s", strings.Join(probs, "; "))
	}
	return nil
}

// UpsertCustomer creates a customer, or updates the one with the same id or
// source_id (Voucherify's POST /v1/customers). Its segments are
// recomputed in the same transaction.
func (s *Service) UpsertCustomer(ctx context.Context, p string, in CustomerInput) (customer.Profile, error) {
	if err := in.Validate(); err != nil {
		return customer.Profile{}, err
	}
	if in.ID == "" && in.SourceID == "" {
		return customer.Profile{}, s.createAnonymous(ctx, p, in)
	}
	return s.updateCustomer(ctx, p, in, true)
}

// UpdateCustomer updates an existing customer named by id or source_id.
func (s *Service) UpdateCustomer(ctx context.Context, p, ref string, in CustomerInput) (customer.Profile, error) {
	if err := in.Validate(); err != nil {
		return customer.Profile{}, err
	}
	prof, err := s.findCustomer(ctx, p, ref)
	if err != nil {
		return customer.Profile{}, err
	}
	in.ID, in.SourceID = prof.ID, ""
	return s.updateCustomer(ctx, p, in, false)
}

func (s *Service) createAnonymous(ctx context.Context, p string, in CustomerInput) error {
	return core.KeyedError(core.CodeInvalid, "invalid_customer", "a customer needs a source_id (or an id to update)")
}

func (s *Service) updateCustomer(ctx context.Context, p string, in CustomerInput, create bool) (customer.Profile, error) {
	unlock := s.lock(p + "#" + firstNonEmpty(in.ID, in.SourceID))
	defer unlock()
	var prof customer.Profile
	_, err := s.run(ctx, func() (*unit, error) {
		u, err := s.newUnit(ctx, p)
		if err != nil {
			return nil, err
		}
		var c *custState
		switch {
		case in.ID != "":
			c, err = u.load(in.ID)
		default:
			var id string
			if id, err = s.identity(ctx, p, customer.IdentitySource, in.SourceID); err == nil {
				if id != "" {
					c, err = u.load(id)
				} else if create {
					c = u.create(in.SourceID)
					u.addIdentity(c, customer.IdentitySource, in.SourceID, false)
				} else {
					err = core.Errorf(core.CodeNotFound, "customer %s not found", in.SourceID)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		u.applyInput(c, in)
		if !c.isNew && c.dirty {
			c.tl = append(c.tl, timelineEntry{Type: "customer.updated", At: u.now})
		}
		u.result = func() any { prof = c.prof; return prof }
		return u, nil
	})
	return prof, err
}

func (u *unit) applyInput(c *custState, in CustomerInput) {
	p := &c.prof
	set := func(dst *string, v *string) {
		if v != nil && *dst != *v {
			*dst, c.dirty = *v, true
		}
	}
	set(&p.Name, in.Name)
	set(&p.Phone, in.Phone)
	set(&p.Description, in.Description)
	set(&p.Birthdate, in.Birthday)
	set(&p.Birthdate, in.Birthdate)
	if in.Email != nil {
		e := strings.ToLower(strings.TrimSpace(*in.Email))
		if e != p.Email {
			p.Email, c.dirty = e, true
			if e != "" {
				if id, err := u.identity(customer.IdentityEmail, e); err == nil && id == "" {
					u.addIdentity(c, customer.IdentityEmail, e, false)
				}
			}
		}
	}
	if in.Address != nil {
		a := *in.Address
		p.Address, c.dirty = &a, true
	}
	for k, v := range in.Metadata {
		cur, had := p.Metadata[k]
		switch {
		case v == nil && had:
			delete(p.Metadata, k)
		case v != nil && (!had || !reflect.DeepEqual(cur, v)):
			if p.Metadata == nil {
				p.Metadata = map[string]any{}
			}
			p.Metadata[k] = v
		default:
			continue
		}
		c.dirty = true
	}
}

// Customer returns a customer by id (following merges).
func (s *Service) Customer(ctx context.Context, p, id string) (customer.Profile, error) {
	prof, _, err := customer.Load(ctx, s.Store, p, id)
	return prof, err
}

// FindCustomerByEmail returns the customer holding the email identity
// (found=false when none does, or when that customer's email changed since).
func (s *Service) FindCustomerByEmail(ctx context.Context, p, email string) (prof customer.Profile, found bool, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	id, err := s.identity(ctx, p, customer.IdentityEmail, email)
	if err != nil || id == "" {
		return customer.Profile{}, false, err
	}
	prof, err = s.Customer(ctx, p, id)
	if errors.Is(err, core.ErrNotFound) || err == nil && prof.Email != email {
		return customer.Profile{}, false, nil
	}
	return prof, err == nil, err
}

// FindCustomer returns a customer by id or source_id.
func (s *Service) FindCustomer(ctx context.Context, p, ref string) (customer.Profile, error) {
	return s.findCustomer(ctx, p, ref)
}

// CustomerRange narrows a customer listing to those created strictly
// after CreatedAfter and strictly before CreatedBefore (zero: unbounded),
// oldest first when Oldest is set (newest first otherwise).
type CustomerRange struct {
	CreatedAfter, CreatedBefore time.Time
	Oldest                      bool
}

// ListCustomers lists a project's customers in rng. Customer ids are
// time-ordered, so the bounds are key ranges over the customer list (a
// millisecond wider each side, the ids' precision), and the profiles read
// are then held to the exact bounds.
func (s *Service) ListCustomers(ctx context.Context, p string, rng CustomerRange, limit int, cursor string) ([]customer.Profile, string, error) {
	parts := make([]string, customer.IndexShards)
	for i := range parts {
		parts[i] = customer.IndexPartition(p, i)
	}
	keys := core.SortRange{Oldest: rng.Oldest}
	if !rng.CreatedAfter.IsZero() {
		keys.From = core.IDTimeBound(customer.IDPrefix, rng.CreatedAfter.Add(-time.Millisecond))
	}
	if !rng.CreatedBefore.IsZero() {
		keys.To = core.IDTimeBound(customer.IDPrefix, rng.CreatedBefore.Add(time.Millisecond))
	}
	if keys.From != "" && keys.To != "" && keys.From > keys.To {
		return nil, "", nil
	}
	items, next, err := core.MergeRange(ctx, s.Store, parts, keys, limit, cursor, nil)
	if err != nil {
		return nil, "", err
	}
	out := make([]customer.Profile, 0, len(items))
	for _, it := range items {
		prof, _, err := customer.Load(ctx, s.Store, p, it.SK)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		if !rng.CreatedAfter.IsZero() && !prof.CreatedAt.After(rng.CreatedAfter) ||
			!rng.CreatedBefore.IsZero() && !prof.CreatedAt.Before(rng.CreatedBefore) {
			continue
		}
		out = append(out, prof)
	}
	return out, next, nil
}

// Deletion is Voucherify's permanent deletion record.
type Deletion struct {
	ID              string         `json:"id"`
	CreatedAt       time.Time      `json:"created_at"`
	RelatedObjectID string         `json:"related_object_id"`
	RelatedObject   string         `json:"related_object"` // "customer"
	Status          string         `json:"status"`         // "DONE"
	DataJSON        map[string]int `json:"data_json"`
	Object          string         `json:"object"` // "pernament_deletion", Voucherify's spelling
}

// DeleteCustomer deletes a customer and all its personal data: its
// profile and every profile merged into it, identities, event counters,
// timeline, wallet and redemption index entries, segment memberships; its
// orders keep their amounts but lose the customer's name and contact.
func (s *Service) DeleteCustomer(ctx context.Context, p, ref string) (Deletion, error) {
	prof, err := s.findCustomer(ctx, p, ref)
	if err != nil {
		return Deletion{}, err
	}
	unlock := s.lock(p + "#" + prof.ID)
	defer unlock()
	del := Deletion{ID: s.IDs.New("del"), CreatedAt: s.now(), RelatedObjectID: prof.ID, RelatedObject: "customer",
		Status: "DONE", Object: "pernament_deletion",
		DataJSON: map[string]int{"events": 0, "customer_events": 0, "daily_events": 0, "segments": 0, "orders": 0, "order_events": 0, "customer": 1}}
	var keys []core.Key
	for _, seg := range prof.Segments {
		del.DataJSON["segments"]++
		keys = append(keys, membershipKey(p, seg, prof.ID))
	}
	for _, id := range append([]string{prof.ID}, prof.MergedFrom...) {
		ks, err := s.partitionKeys(ctx, p, id, &del)
		if err != nil {
			return del, err
		}
		keys = append(append(keys, ks...), customer.IndexKey(p, id))
	}
	if prof.SourceID != "" {
		keys = append(keys, customer.IdentityKey(p, customer.IdentitySource, prof.SourceID))
	}
	for _, a := range prof.AnonymousIDs {
		keys = append(keys, customer.IdentityKey(p, customer.IdentityAnonymous, a))
	}
	if prof.Email != "" {
		if id, err := s.identity(ctx, p, customer.IdentityEmail, prof.Email); err != nil {
			return del, err
		} else if id == prof.ID {
			keys = append(keys, customer.IdentityKey(p, customer.IdentityEmail, prof.Email))
		}
	}
	if prof.DueAt != nil {
		keys = append(keys, dueKey(p, *prof.DueAt, prof.ID))
	}
	// The profile goes last, so an interrupted deletion can be repeated.
	seen := map[core.Key]bool{}
	var ops []core.Op
	for _, k := range keys {
		if !seen[k] && k != customer.ProfileKey(p, prof.ID) {
			seen[k] = true
			ops = append(ops, core.Delete(k))
		}
	}
	ops = append(ops, core.Delete(customer.ProfileKey(p, prof.ID)))
	for len(ops) > 0 {
		n := min(len(ops), core.MaxTransactOps)
		if err := s.Store.Write(ctx, ops[:n]...); err != nil {
			return del, fmt.Errorf("delete customer %s: %w", prof.ID, err)
		}
		ops = ops[n:]
	}
	return del, nil
}

// partitionKeys lists every item of one customer partition, scrubbing the
// orders it links to.
func (s *Service) partitionKeys(ctx context.Context, p, id string, del *Deletion) ([]core.Key, error) {
	var keys []core.Key
	err := core.Each(ctx, s.Store, core.Query{PK: customer.Partition(p, id), Limit: core.MaxPageLimit}, func(it core.Item) error {
		switch {
		case strings.HasPrefix(it.SK, "ev#"):
			del.DataJSON["events"]++
		case strings.HasPrefix(it.SK, "tl#"):
			del.DataJSON["customer_events"]++
		case strings.HasPrefix(it.SK, "ord#"):
			del.DataJSON["orders"]++
			if err := s.scrubOrder(ctx, p, strings.TrimPrefix(it.SK, "ord#")); err != nil {
				return err
			}
		}
		keys = append(keys, it.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// scrubOrder removes the customer's personal data from one order.
func (s *Service) scrubOrder(ctx context.Context, p, sourceID string) error {
	for attempt := 0; ; attempt++ {
		rec, it, err := s.loadOrder(ctx, p, sourceID)
		if errors.Is(err, core.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec.Customer = map[string]any{"id": rec.CustomerID, "object": "customer"}
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		err = s.Store.Write(ctx, core.Put(core.Item{Key: it.Key, Version: it.Version + 1, Data: data}, core.IfVersion(it.Version)))
		if err == nil || !retryable(err) || attempt > 20 {
			if err != nil {
				return fmt.Errorf("scrub order %s: %w", sourceID, err)
			}
			return nil
		}
	}
}
