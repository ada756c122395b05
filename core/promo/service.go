package promo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// Service is the promotion engine. All methods are safe for concurrent use;
// every method that changes state commits the change, its index items, its
// outbox events and its idempotency record in one store transaction.
type Service struct {
	Store     core.Store
	Clock     core.Clock
	IDs       *core.IDs
	Customers *customer.Resolver
	Jobs      *JobRunner // runs async actions; nil refuses them (see jobs.go)
}

// Shard counts: lists and code pools are spread over several partitions so
// that bulk generation and publication never hammer one DynamoDB partition.
const (
	listShards = 16
	poolShards = 16
)

// Numeric attributes of a voucher item.
const (
	numRedeemed  = "redeemed"  // successful redemptions not rolled back
	numBalance   = "balance"   // gift card balance, cents
	numPublished = "published" // publications
)

func shardOf(s string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() % uint32(n))
}

func voucherKey(p, code string) core.Key { return core.Key{PK: p + "#v#" + code, SK: "v"} }
func campaignKey(p, id string) core.Key  { return core.Key{PK: p + "#camp#" + id, SK: "c"} }
func campaignNameKey(p, name string) core.Key {
	return core.Key{PK: p + "#campname#" + name, SK: "n"}
}
func campaignListKey(p, id string) core.Key { return core.Key{PK: p + "#camps", SK: id} }

// voucherListPartition lists a campaign's codes ("_" for standalone codes).
func voucherListPartition(p, campaignID string, shard int) string {
	if campaignID == "" {
		campaignID = "_"
	}
	return fmt.Sprintf("%s#vl#%s#%02d", p, campaignID, shard)
}

func voucherListKey(p, campaignID, code string) core.Key {
	return core.Key{PK: voucherListPartition(p, campaignID, shardOf(code, listShards)), SK: code}
}

func poolPartition(p, campaignID string, shard int) string {
	return fmt.Sprintf("%s#pool#%s#%02d", p, campaignID, shard)
}

func poolKey(p, campaignID, code string) core.Key {
	return core.Key{PK: poolPartition(p, campaignID, shardOf(code, poolShards)), SK: code}
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC() }

// stored is a voucher with the item it was read from.
type stored struct {
	item core.Item
	v    Voucher
}

// decodeVoucher merges the item's counters into its JSON.
func decodeVoucher(it core.Item) (Voucher, error) {
	var v Voucher
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, fmt.Errorf("decode voucher %s: %w", it.PK, err)
	}
	v.Redemption.RedeemedQuantity = it.Num(numRedeemed)
	v.Publish.Count = it.Num(numPublished)
	if v.Gift != nil {
		v.Gift.Balance = it.Num(numBalance)
		v.Gift.SubtractedAmount = max(0, v.Gift.Amount-v.Gift.Balance)
	}
	v.decorate()
	return v, nil
}

// decorate sets the fields every voucher answer carries.
func (v *Voucher) decorate() {
	v.Redemption.Object = "list"
	v.Redemption.URL = "/v1/vouchers/" + v.Code + "/redemption"
	v.Publish.Object = "list"
	v.Publish.URL = "/v1/publications?voucher=" + v.Code
	v.Object = "voucher"
}

func (s *Service) loadVoucher(ctx context.Context, p, code string) (stored, error) {
	it, err := s.Store.Get(ctx, voucherKey(p, code))
	if errors.Is(err, core.ErrNotFound) {
		return stored{}, core.Errorf(core.CodeNotFound, "cannot find voucher with id %s", code)
	}
	if err != nil {
		return stored{}, err
	}
	v, err := decodeVoucher(it)
	return stored{item: it, v: v}, err
}

func (s *Service) loadCampaign(ctx context.Context, p, id string) (core.Item, Campaign, error) {
	it, err := s.Store.Get(ctx, campaignKey(p, id))
	if errors.Is(err, core.ErrNotFound) {
		return it, Campaign{}, core.Errorf(core.CodeNotFound, "cannot find campaign with id %s", id)
	}
	if err != nil {
		return it, Campaign{}, err
	}
	var c Campaign
	if err := json.Unmarshal(it.Data, &c); err != nil {
		return it, c, fmt.Errorf("decode campaign %s: %w", id, err)
	}
	c.Object = "campaign"
	return it, c, nil
}

// resolveCampaign finds a campaign by id or by name.
func (s *Service) resolveCampaign(ctx context.Context, p, idOrName string) (core.Item, Campaign, error) {
	if it, c, err := s.loadCampaign(ctx, p, idOrName); err == nil || !errors.Is(err, core.ErrNotFound) {
		return it, c, err
	}
	it, err := s.Store.Get(ctx, campaignNameKey(p, idOrName))
	if errors.Is(err, core.ErrNotFound) {
		return core.Item{}, Campaign{}, core.Errorf(core.CodeNotFound, "cannot find campaign with id %s", idOrName)
	}
	if err != nil {
		return core.Item{}, Campaign{}, err
	}
	return s.loadCampaign(ctx, p, string(it.Data))
}

// eventOp builds an outbox write.
func (s *Service) eventOp(p, typ, customerID, ordering string, data any) (core.Op, error) {
	return s.eventsOp(p, []string{typ}, customerID, ordering, data)
}

// eventsOp writes one outbox item standing for several event types.
func (s *Service) eventsOp(p string, types []string, customerID, ordering string, data any) (core.Op, error) {
	if ordering == "" {
		ordering = customerID
	}
	return core.EventOp(s.IDs, s.now(), p, customerID, ordering, data, types...)
}

// commit writes ops plus the request's idempotency record (recording
// result) as one transaction. A replayed request comes back as
// *core.Replayed.
func (s *Service) commit(ctx context.Context, result any, ops ...core.Op) error {
	idemIndex := -1
	if op, ok, err := core.IdempotencyOp(ctx, s.now(), result); err != nil {
		return err
	} else if ok {
		idemIndex = len(ops)
		ops = append(ops, op)
	}
	return core.ResolveIdempotency(ctx, s.Store, s.write(ctx, ops...), idemIndex)
}

// write runs one transaction, retrying transaction conflicts (safe: a
// conflicted transaction wrote nothing) with backoff until ctx ends.
func (s *Service) write(ctx context.Context, ops ...core.Op) error {
	for attempt := 0; ; attempt++ {
		err := s.Store.Write(ctx, ops...)
		if err == nil || !errors.Is(err, core.ErrConflict) {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// backoff sleeps a jittered exponential delay (5 ms … 500 ms).
func backoff(ctx context.Context, attempt int) error {
	return core.Backoff(ctx, attempt, 5*time.Millisecond, 500*time.Millisecond)
}
