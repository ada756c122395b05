package promo

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// Publication failure keys (Voucherify's).
const (
	KeyNoVoucherForPublication = "no_voucher_suitable_for_publication"
	KeyVoucherAlreadyPublished = "voucher_already_published"
)

// PublishInput is a publication request: a specific code or a campaign to
// take one from, for a customer.
type PublishInput struct {
	Voucher  string       // a specific code
	Campaign string       // campaign id or name
	Customer customer.Ref // required
	SourceID string       // repeated requests with the same source_id return the first result
	Channel  string
	Metadata map[string]any
}

func pubSourceKey(p, sourceID string) core.Key {
	return core.Key{PK: p + "#pubsrc#" + sourceID, SK: "s"}
}
func memberKey(p, campaignID, customerID string) core.Key {
	return core.Key{PK: p + "#camp#" + campaignID + "#member#" + customerID, SK: "m"}
}

// Publish assigns a code to a customer atomically. From a campaign it takes a
// free code from the campaign's pool (spread over poolShards partitions so no
// single item is hot); no code is ever assigned twice. An AUTO_UPDATE campaign
// with an empty pool creates a new code; a STATIC one fails with
// no_voucher_suitable_for_publication. A join-once campaign gives a customer
// who already has a code that same code again.
func (s *Service) Publish(ctx context.Context, p string, in PublishInput) (Publication, error) {
	if (in.Voucher == "") == (in.Campaign == "") {
		return Publication{}, core.KeyedError(core.CodeInvalid, "missing_vouchers", "name either a voucher or a campaign to publish from")
	}
	if in.Customer.ID == "" && in.Customer.SourceID == "" {
		return Publication{}, core.Errorf(core.CodeInvalid, "customer.id or customer.source_id is required")
	}
	if len(in.SourceID) > 200 {
		return Publication{}, core.Errorf(core.CodeInvalid, "source_id longer than 200 characters")
	}
	if in.Channel == "" {
		in.Channel = "API"
	}
	if in.SourceID != "" {
		if pub, ok, err := s.publicationBySource(ctx, p, in.SourceID); err != nil || ok {
			if ok && !sameCustomer(pub, in.Customer) {
				return Publication{}, core.KeyedError(core.CodeInvalid, "duplicate_source_id", "source_id %q was used for a publication to another customer", in.SourceID)
			}
			return pub, err
		}
	}
	var camp Campaign
	if in.Campaign != "" {
		var err error
		if _, camp, err = s.resolveCampaign(ctx, p, in.Campaign); err != nil {
			return Publication{}, err
		}
		if !camp.Active {
			return Publication{}, core.KeyedError(core.CodeInvalid, "campaign_disabled", "campaign %s is disabled", camp.Name)
		}
	}
	for attempt := 0; ; attempt++ {
		// A new customer is created in the publication's own transaction, so
		// a refused publication creates none.
		cust, custOps, err := s.Customers.Prepare(ctx, p, in.Customer)
		if err != nil {
			return Publication{}, err
		}
		if in.Voucher != "" {
			pub, err := s.publishCode(ctx, p, in, cust, custOps, in.Voucher, nil)
			if errors.Is(err, errRetry) {
				continue
			}
			return pub, err
		}
		if camp.JoinOnce {
			it, err := s.Store.Get(ctx, memberKey(p, camp.ID, cust.ID))
			if err == nil {
				return s.repeatPublication(ctx, p, in, cust, string(it.Data))
			}
			if !errors.Is(err, core.ErrNotFound) {
				return Publication{}, err
			}
		}
		code, err := s.freeCode(ctx, p, camp.ID)
		if err != nil {
			return Publication{}, err
		}
		if code == "" {
			if camp.Type == "STATIC" {
				return Publication{}, core.KeyedError(core.CodeInvalid, KeyNoVoucherForPublication, "campaign %s has no code left to publish", camp.Name)
			}
			pub, err := s.publishNewCode(ctx, p, in, cust, custOps, camp)
			if errors.Is(err, errRetry) {
				continue
			}
			return pub, err
		}
		pub, err := s.publishCode(ctx, p, in, cust, custOps, code, &camp)
		if errors.Is(err, errRetry) {
			if err := backoff(ctx, attempt/4); err != nil {
				return Publication{}, err
			}
			continue
		}
		return pub, err
	}
}

var errRetry = errors.New("retry publication")

// sameCustomer reports whether a publication went to the customer ref names.
func sameCustomer(pub Publication, ref customer.Ref) bool {
	return (ref.ID != "" && ref.ID == pub.CustomerID) || (ref.SourceID != "" && ref.SourceID == pub.Customer.SourceID)
}

// freeCode returns a code from the campaign's pool ("" when it is empty).
// It starts at a random shard and picks randomly among a few candidates so
// that concurrent publishers rarely reach for the same code.
func (s *Service) freeCode(ctx context.Context, p, campaignID string) (string, error) {
	start := rand.IntN(poolShards)
	for i := range poolShards {
		shard := (start + i) % poolShards
		pg, err := s.Store.Query(ctx, core.Query{PK: poolPartition(p, campaignID, shard), Limit: 32})
		if err != nil {
			return "", err
		}
		if len(pg.Items) > 0 {
			return pg.Items[rand.IntN(len(pg.Items))].SK, nil
		}
	}
	return "", nil
}

func (s *Service) publicationBySource(ctx context.Context, p, sourceID string) (Publication, bool, error) {
	it, err := s.Store.Get(ctx, pubSourceKey(p, sourceID))
	if errors.Is(err, core.ErrNotFound) {
		return Publication{}, false, nil
	}
	if err != nil {
		return Publication{}, false, err
	}
	var pub Publication
	return pub, true, json.Unmarshal(it.Data, &pub)
}

func (s *Service) newPublication(in PublishInput, cust customer.Profile, v Voucher) Publication {
	pub := Publication{
		ID: s.IDs.New("pub"), Object: "publication", CreatedAt: s.now(), CustomerID: cust.ID,
		Customer: Customer{ID: cust.ID, SourceID: cust.SourceID, Name: cust.Name, Email: cust.Email, Metadata: cust.Metadata, Object: "customer"},
		Metadata: in.Metadata, Channel: in.Channel, Result: "SUCCESS",
		CampaignID: v.CampaignID, Voucher: v, VouchersID: []string{v.ID},
	}
	if pub.Metadata == nil {
		pub.Metadata = map[string]any{}
	}
	if in.SourceID != "" {
		pub.SourceID = &in.SourceID
	}
	return pub
}

// publicationOps are the writes every publication makes besides the code:
// its records in the customer's and the code's partitions, the join-once
// membership, the source_id record, and the events.
func (s *Service) publicationOps(p string, pub Publication, camp *Campaign) ([]core.Op, map[string]int, error) {
	data, err := json.Marshal(pub)
	if err != nil {
		return nil, nil, err
	}
	idx := map[string]int{}
	ops := []core.Op{
		core.Put(core.Item{Key: core.Key{PK: customer.Partition(p, pub.CustomerID), SK: "pub#" + pub.ID}, Version: 1, Data: data}),
		core.Put(core.Item{Key: core.Key{PK: voucherKey(p, pub.Voucher.Code).PK, SK: "p#" + pub.ID}, Version: 1, Data: data}),
	}
	if camp != nil && camp.JoinOnce {
		idx["member"] = len(ops)
		ops = append(ops, core.Put(core.Item{Key: memberKey(p, camp.ID, pub.CustomerID), Version: 1, Data: []byte(pub.Voucher.Code)}, core.IfNotExists()))
	}
	if pub.SourceID != nil {
		idx["source"] = len(ops)
		ops = append(ops, core.Put(core.Item{Key: pubSourceKey(p, *pub.SourceID), Version: 1, Data: data}, core.IfNotExists()))
	}
	st := stats{}
	st.add(pub.CampaignID, statPublished, 1)
	ops = append(ops, st.ops(p, pub.ID)...)
	payload := map[string]any{"publication": pub} // it carries its code and customer
	ev, err := s.eventsOp(p, []string{"customer.publication.succeeded", "voucher.published"}, pub.CustomerID, "", payload)
	if err != nil {
		return nil, nil, err
	}
	ops = append(ops, ev)
	return ops, idx, nil
}

// publishCode assigns an existing code. Campaign codes leave the pool and get
// a holder; a standalone code may be published to many customers.
func (s *Service) publishCode(ctx context.Context, p string, in PublishInput, cust customer.Profile, custOps []core.Op, code string, camp *Campaign) (Publication, error) {
	st, err := s.loadVoucher(ctx, p, code)
	if err != nil {
		if camp != nil && errors.Is(err, core.ErrNotFound) {
			return Publication{}, errRetry // deleted while in the pool
		}
		return Publication{}, err
	}
	v := st.v
	exclusive := v.CampaignID != ""
	if exclusive && v.HolderID != "" && v.HolderID != cust.ID {
		if camp != nil {
			return Publication{}, errRetry
		}
		return Publication{}, core.KeyedError(core.CodeInvalid, KeyVoucherAlreadyPublished, "voucher %s is already published to another customer", code)
	}
	if exclusive {
		v.HolderID = cust.ID
	}
	v.Publish.Count++
	body := v
	body.Redemption.RedeemedQuantity, body.Publish.Count = 0, 0
	data, err := json.Marshal(body)
	if err != nil {
		return Publication{}, err
	}
	pub := s.newPublication(in, cust, v)
	ops := []core.Op{
		core.UpdateOp(core.Update{Key: st.item.Key, Data: data, Adds: []core.Add{core.AddBy(numPublished, 1)}, Conds: []core.Cond{core.IfVersion(st.item.Version)}}),
	}
	if exclusive {
		ops = append(ops, core.Delete(poolKey(p, v.CampaignID, code), core.IfExists()))
	}
	more, idx, err := s.publicationOps(p, pub, camp)
	if err != nil {
		return Publication{}, err
	}
	base := len(ops)
	ops = append(ops, more...)
	custStart := len(ops)
	err = s.commit(ctx, pub, append(ops, custOps...)...)
	return s.publishOutcome(ctx, p, in, cust, pub, err, base, custStart, idx, camp != nil)
}

// publishNewCode creates a code from the campaign's config and publishes it
// in one transaction (AUTO_UPDATE campaigns with an empty pool).
func (s *Service) publishNewCode(ctx context.Context, p string, in PublishInput, cust customer.Profile, custOps []core.Op, camp Campaign) (Publication, error) {
	g, err := newGenerator(camp.Voucher.CodeConfig)
	if err != nil {
		return Publication{}, err
	}
	code, err := g.Code()
	if err != nil {
		return Publication{}, err
	}
	v := s.newVoucher(camp.fill(VoucherInput{}), code, &camp)
	v.HolderID = cust.ID
	v.Publish.Count = 1
	vops, err := voucherOps(p, v)
	if err != nil {
		return Publication{}, err
	}
	vops = vops[:2] // published at birth: never in the pool
	vops[0].Item.Nums[numPublished] = 1
	pub := s.newPublication(in, cust, v)
	ops := append(vops, codesAddedOps(p, camp.ID, 1, giftAmount(v), v.Code)...)
	more, idx, err := s.publicationOps(p, pub, &camp)
	if err != nil {
		return Publication{}, err
	}
	base := len(ops)
	ops = append(ops, more...)
	custStart := len(ops)
	err = s.commit(ctx, pub, append(ops, custOps...)...)
	if core.FailedIndex(err) == 0 {
		return Publication{}, errRetry // the generated code exists already
	}
	return s.publishOutcome(ctx, p, in, cust, pub, err, base, custStart, idx, true)
}

// publishOutcome turns a publication's commit error into the answer: a lost
// race on the code retries, a lost race on join-once or source_id returns
// the winner's result.
func (s *Service) publishOutcome(ctx context.Context, p string, in PublishInput, cust customer.Profile, pub Publication, err error, base, custStart int, idx map[string]int, fromCampaign bool) (Publication, error) {
	if err == nil {
		return pub, nil
	}
	if !errors.Is(err, core.ErrConditionFailed) {
		return Publication{}, err
	}
	failed := core.FailedIndex(err)
	switch {
	case failed >= custStart:
		return Publication{}, errRetry // the customer was created concurrently
	case failed < base && fromCampaign:
		return Publication{}, errRetry // another publisher took the code
	case failed < base:
		return Publication{}, core.Errorf(core.CodeConflict, "voucher %s changed during publication; retry", pub.Voucher.Code)
	case hasKey(idx, "member") && failed == base+idx["member"]:
		it, gerr := s.Store.Get(ctx, memberKey(p, pub.Voucher.CampaignID, cust.ID))
		if gerr != nil {
			return Publication{}, gerr
		}
		return s.repeatPublication(ctx, p, in, cust, string(it.Data))
	case hasKey(idx, "source") && failed == base+idx["source"]:
		prev, ok, gerr := s.publicationBySource(ctx, p, in.SourceID)
		if gerr != nil || !ok {
			return Publication{}, errors.Join(err, gerr)
		}
		return prev, nil
	}
	return Publication{}, err
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// repeatPublication answers a join-once customer who has a code already: the
// same code, without a second assignment.
func (s *Service) repeatPublication(ctx context.Context, p string, in PublishInput, cust customer.Profile, code string) (Publication, error) {
	v, err := s.GetVoucher(ctx, p, code)
	if err != nil {
		return Publication{}, err
	}
	return s.newPublication(in, cust, v), nil
}

// PublicationFilter selects a publication listing.
type PublicationFilter struct {
	Customer string // customer id
	Voucher  string // code
	Limit    int
	Cursor   string
}

// ListPublications lists the publications of a customer or of a code,
// newest first.
func (s *Service) ListPublications(ctx context.Context, p string, f PublicationFilter) ([]Publication, string, error) {
	var q core.Query
	switch {
	case f.Customer != "":
		q = core.Query{PK: customer.Partition(p, f.Customer), Prefix: "pub#"}
	case f.Voucher != "":
		q = core.Query{PK: voucherKey(p, f.Voucher).PK, Prefix: "p#"}
	default:
		return nil, "", core.Errorf(core.CodeInvalid, "filter publications by customer or voucher")
	}
	q.Reverse, q.Limit, q.Cursor = true, clampLimit(f.Limit), f.Cursor
	pg, err := s.Store.Query(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]Publication, 0, len(pg.Items))
	for _, it := range pg.Items {
		var pub Publication
		if err := json.Unmarshal(it.Data, &pub); err != nil {
			return nil, "", err
		}
		out = append(out, pub)
	}
	return out, pg.Next, nil
}
