// Package customer resolves the customers promotions are published to and
// redeemed by. A customer is known by promorelay's id ("cust_…") and by the
// shop's source_id; the first reference by source_id creates the customer,
// as Voucherify does on publication and redemption.
package customer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Profile is the stored customer record: identity, the shop's and
// Segment's traits, consents, order aggregates and segment memberships.
// Event counters live in their own items (EventStats), so a plain track
// call does not rewrite the profile.
type Profile struct {
	ID          string         `json:"id"`
	SourceID    string         `json:"source_id,omitempty"`
	Name        string         `json:"name,omitempty"`
	Email       string         `json:"email,omitempty"`
	Phone       string         `json:"phone,omitempty"`
	Description string         `json:"description,omitempty"`
	Birthdate   string         `json:"birthdate,omitempty"`
	Address     *Address       `json:"address,omitempty"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	// Segments are the ids of the segments the customer is in, sorted.
	Segments  []string   `json:"segments,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	Object    string     `json:"object"` // "customer"

	// Traits are the latest value of each trait; TraitTimes when each was
	// stated, so an older call arriving late changes nothing.
	Traits     map[string]any       `json:"traits,omitempty"`
	TraitTimes map[string]time.Time `json:"trait_times,omitempty"`
	Consents   map[string]Consent   `json:"consents,omitempty"`
	Orders     OrderStats           `json:"orders"`
	// AnonymousIDs are the anonymous identities linked to the customer.
	AnonymousIDs []string `json:"anonymous_ids,omitempty"`
	// MergedFrom lists the profiles merged into this one; MergedInto, on a
	// merged profile, names the one that absorbed it.
	MergedFrom []string `json:"merged_from,omitempty"`
	MergedInto string   `json:"merged_into,omitempty"`
	// DueAt is when a time-relative segment rule may next change its
	// result for this customer (see the sweep); zero when none can.
	DueAt *time.Time `json:"due_at,omitempty"`
}

// Address is a customer's postal address (Voucherify's fields).
type Address struct {
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	Line1      string `json:"line_1,omitempty"`
	Line2      string `json:"line_2,omitempty"`
	Country    string `json:"country,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// Ref is how a request names a customer.
type Ref struct {
	ID       string
	SourceID string
	Name     string
	Email    string
	Phone    string
	Metadata map[string]any
}

// ProfileKey is where a customer's profile lives; the customer's partition
// also holds its redemption and publication index items.
func ProfileKey(project, id string) core.Key {
	return core.Key{PK: Partition(project, id), SK: "profile"}
}

// Partition is the customer's partition key.
func Partition(project, id string) string { return project + "#cust#" + id }

// Identity kinds: a customer is found by its source_id (Segment userId,
// shop customer id), an anonymousId, or an email address.
const (
	IdentitySource    = "src"
	IdentityAnonymous = "anon"
	IdentityEmail     = "email"
)

// IdentityKey is the item mapping one identity to a customer id (Data).
func IdentityKey(project, kind, value string) core.Key {
	return core.Key{PK: project + "#cust" + kind + "#" + value, SK: "c"}
}

func sourceKey(project, sourceID string) core.Key {
	return IdentityKey(project, IdentitySource, sourceID)
}

// IDPrefix starts every customer id ("cust_" + a ULID).
const IDPrefix = "cust"

// IndexShards spreads the list of a project's customers over partitions.
const IndexShards = 16

// IndexPartition is one shard of the list of a project's customers.
func IndexPartition(project string, shard int) string {
	return fmt.Sprintf("%s#custs#%02d", project, shard)
}

// IndexKey is a customer's entry in the list of the project's customers.
func IndexKey(project, id string) core.Key {
	h := fnv.New32a()
	h.Write([]byte(id))
	return core.Key{PK: IndexPartition(project, int(h.Sum32()%IndexShards)), SK: id}
}

// CreateOps are the writes that create customer p: its profile, its
// source_id identity (when it has one) and its list entry. They fail with a
// condition error when the source_id was taken concurrently.
func CreateOps(project string, p Profile) ([]core.Op, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	ops := []core.Op{
		core.Put(core.Item{Key: ProfileKey(project, p.ID), Version: 1, Data: data}, core.IfNotExists()),
		core.Put(core.Item{Key: IndexKey(project, p.ID), Version: 1}),
	}
	if p.SourceID != "" {
		ops = append(ops, core.Put(core.Item{Key: sourceKey(project, p.SourceID), Version: 1, Data: []byte(p.ID)}, core.IfNotExists()))
	}
	return ops, nil
}

// Resolver finds or creates customers.
type Resolver struct {
	Store core.Store
	Clock core.Clock
	IDs   *core.IDs
}

// Resolve returns the customer ref names: by id (which must exist), else by
// source_id (created when new). A zero Ref resolves to a zero Profile.
func (r *Resolver) Resolve(ctx context.Context, project string, ref Ref) (Profile, error) {
	switch {
	case ref.ID != "":
		return r.Get(ctx, project, ref.ID)
	case ref.SourceID == "":
		return Profile{}, nil
	case len(ref.SourceID) > 200:
		return Profile{}, core.Errorf(core.CodeInvalid, "customer.source_id longer than 200 characters")
	}
	for range 3 {
		it, err := r.Store.Get(ctx, sourceKey(project, ref.SourceID))
		if err == nil {
			return r.Get(ctx, project, string(it.Data))
		}
		if !errors.Is(err, core.ErrNotFound) {
			return Profile{}, err
		}
		p := Profile{ID: r.IDs.New(IDPrefix), SourceID: ref.SourceID, Name: ref.Name, Email: ref.Email, Phone: ref.Phone,
			Metadata: ref.Metadata, CreatedAt: r.Clock.Now().UTC(), Object: "customer"}
		ops, err := CreateOps(project, p)
		if err != nil {
			return Profile{}, err
		}
		err = r.Store.Write(ctx, ops...)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) {
			return Profile{}, fmt.Errorf("create customer: %w", err)
		}
	}
	return Profile{}, core.Errorf(core.CodeConflict, "customer %q is being created concurrently", ref.SourceID)
}

// Get returns the customer with id; a profile merged into another answers
// the one that absorbed it.
func (r *Resolver) Get(ctx context.Context, project, id string) (Profile, error) {
	p, _, err := Load(ctx, r.Store, project, id)
	return p, err
}

// Load reads customer id's profile and the item it came from, following
// merges; an unknown or permanently deleted customer is a not-found error.
func Load(ctx context.Context, s core.Store, project, id string) (Profile, core.Item, error) {
	for range 4 {
		it, err := s.Get(ctx, ProfileKey(project, id))
		if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
			return Profile{}, it, core.Errorf(core.CodeNotFound, "customer %s not found", id)
		}
		if err != nil {
			return Profile{}, it, err
		}
		var p Profile
		if err := json.Unmarshal(it.Data, &p); err != nil {
			return p, it, fmt.Errorf("decode customer %s: %w", id, err)
		}
		if p.MergedInto == "" {
			return p, it, nil
		}
		id = p.MergedInto
	}
	return Profile{}, core.Item{}, core.Errorf(core.CodeNotFound, "customer %s not found", id)
}

// Find returns the customer ref names without creating one: by id, else by
// source_id; an unknown customer is a not-found error.
func (r *Resolver) Find(ctx context.Context, project string, ref Ref) (Profile, error) {
	if ref.ID != "" {
		return r.Get(ctx, project, ref.ID)
	}
	if ref.SourceID == "" {
		return Profile{}, core.Errorf(core.CodeInvalid, "name a customer by id or source_id")
	}
	it, err := r.Store.Get(ctx, sourceKey(project, ref.SourceID))
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
		return Profile{}, core.Errorf(core.CodeNotFound, "customer %s not found", ref.SourceID)
	}
	if err != nil {
		return Profile{}, err
	}
	return r.Get(ctx, project, string(it.Data))
}

// Prepare is Resolve without writing: it returns the customer ref names and,
// when the customer is new, the writes that create it, for the caller to put
// into the transaction of whatever the customer does (so a refused request
// creates no customer). The writes fail with a condition error when the same
// customer was created concurrently; retry the whole operation then.
func (r *Resolver) Prepare(ctx context.Context, project string, ref Ref) (Profile, []core.Op, error) {
	switch {
	case ref.ID != "":
		p, err := r.Get(ctx, project, ref.ID)
		return p, nil, err
	case ref.SourceID == "":
		return Profile{}, nil, nil
	case len(ref.SourceID) > 200:
		return Profile{}, nil, core.Errorf(core.CodeInvalid, "customer.source_id longer than 200 characters")
	}
	p, err := r.Find(ctx, project, ref)
	if err == nil || !errors.Is(err, core.ErrNotFound) {
		return p, nil, err
	}
	p = Profile{ID: r.IDs.New(IDPrefix), SourceID: ref.SourceID, Name: ref.Name, Email: ref.Email, Phone: ref.Phone,
		Metadata: ref.Metadata, CreatedAt: r.Clock.Now().UTC(), Object: "customer"}
	ops, err := CreateOps(project, p)
	return p, ops, err
}
