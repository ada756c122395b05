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
	"time"

	"github.com/promorelay/promorelay/core"
)

// Profile is the stored customer record (extended by the ingest issue with
// traits, consents, aggregates and segments).
type Profile struct {
	ID        string         `json:"id"`
	SourceID  string         `json:"source_id,omitempty"`
	Name      string         `json:"name,omitempty"`
	Email     string         `json:"email,omitempty"`
	Phone     string         `json:"phone,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	Segments  []string       `json:"segments,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	Object    string         `json:"object"` // "customer"
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

func sourceKey(project, sourceID string) core.Key {
	return core.Key{PK: project + "#custsrc#" + sourceID, SK: "c"}
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
		p := Profile{ID: r.IDs.New("cust"), SourceID: ref.SourceID, Name: ref.Name, Email: ref.Email, Phone: ref.Phone,
			Metadata: ref.Metadata, CreatedAt: r.Clock.Now().UTC(), Object: "customer"}
		data, err := json.Marshal(p)
		if err != nil {
			return Profile{}, err
		}
		err = r.Store.Write(ctx,
			core.Put(core.Item{Key: sourceKey(project, ref.SourceID), Version: 1, Data: []byte(p.ID)}, core.IfNotExists()),
			core.Put(core.Item{Key: ProfileKey(project, p.ID), Version: 1, Data: data}, core.IfNotExists()))
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, core.ErrConditionFailed) {
			return Profile{}, fmt.Errorf("create customer: %w", err)
		}
	}
	return Profile{}, core.Errorf(core.CodeConflict, "customer %q is being created concurrently", ref.SourceID)
}

// Get returns the customer with id.
func (r *Resolver) Get(ctx context.Context, project, id string) (Profile, error) {
	it, err := r.Store.Get(ctx, ProfileKey(project, id))
	if errors.Is(err, core.ErrNotFound) {
		return Profile{}, core.Errorf(core.CodeNotFound, "customer %s not found", id)
	}
	if err != nil {
		return Profile{}, err
	}
	var p Profile
	return p, json.Unmarshal(it.Data, &p)
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
	p = Profile{ID: r.IDs.New("cust"), SourceID: ref.SourceID, Name: ref.Name, Email: ref.Email, Phone: ref.Phone,
		Metadata: ref.Metadata, CreatedAt: r.Clock.Now().UTC(), Object: "customer"}
	data, err := json.Marshal(p)
	if err != nil {
		return Profile{}, nil, err
	}
	return p, []core.Op{
		core.Put(core.Item{Key: sourceKey(project, ref.SourceID), Version: 1, Data: []byte(p.ID)}, core.IfNotExists()),
		core.Put(core.Item{Key: ProfileKey(project, p.ID), Version: 1, Data: data}, core.IfNotExists()),
	}, nil
}
