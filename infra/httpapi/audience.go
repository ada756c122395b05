package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
)

// Async action types of the audience endpoints, as Voucherify names them.
const (
	jobCustomersImportCSV = "CUSTOMERS.IMPORT_CSV"
	jobCustomersBulk      = "CUSTOMERS.BULK_UPDATE"
	jobCustomersMetadata  = "CUSTOMERS.METADATA_UPDATE"
	jobOrdersImport       = "ORDERS.IMPORT"
)

// Limits of the audience endpoints.
const (
	maxOrdersImport = 2000     // orders per import (Voucherify's limit)
	maxOrderItems   = 500      // items per order (Voucherify's limit)
	maxEventName    = 200      // characters of a custom event's name
	maxJSONField    = 16 << 10 // bytes of a metadata object (the core's customer limit)
	maxSourceID     = 200      // characters of a source_id (the core's limit)
)

// keyUnsupported is the error key of a query parameter or body field the
// reference defines but promorelay cannot serve: refused, never ignored.
const keyUnsupported = "unsupported_parameter"

// audienceRoutes serve Voucherify's customers, segments, events and orders
// endpoints and promorelay's additions (event schema, segment backfill).
func (a *API) audienceRoutes() {
	srv := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.authenticate(project.Server, h)) }

	srv("GET /v1/customers", a.listCustomers)
	srv("POST /v1/customers", a.upsertCustomer)
	srv("GET /v1/customers/{customerId}", a.getCustomer)
	srv("PUT /v1/customers/{customerId}", a.updateCustomer)
	srv("DELETE /v1/customers/{customerId}", a.deleteCustomer)
	srv("POST /v1/customers/{customerId}/permanent-deletion", a.forgetCustomer)
	srv("POST /v1/customers/importCSV", a.importCustomersCSV)
	srv("POST /v1/customers/bulk/async", a.bulkCustomers)
	srv("POST /v1/customers/metadata/async", a.bulkCustomerMetadata)
	srv("GET /v1/customers/{customerId}/activity", a.customerActivity)
	srv("GET /v1/customers/{customerId}/activities", a.customerActivity) // deprecated alias
	srv("GET /v1/customers/{customerId}/segments", a.customerSegments)
	srv("GET /v1/customers/{customerId}/redeemables", a.customerRedeemables)

	srv("POST /v1/segments", a.createSegment)
	srv("GET /v1/segments", a.listSegments)
	srv("POST /v1/segments/importCSV", a.importSegmentCSV)
	srv("GET /v1/segments/{segmentId}", a.getSegment)
	srv("PUT /v1/segments/{segmentId}", a.updateSegment)
	srv("DELETE /v1/segments/{segmentId}", a.deleteSegment)
	srv("GET /v1/segments/{segmentId}/customers", a.segmentMembers)
	srv("GET /v1/segments/{segmentId}/backfill", a.segmentBackfill)

	srv("POST /v1/events", a.trackEvent)
	srv("GET /v1/event-schema", a.eventSchema)

	srv("GET /v1/orders", a.listOrders)
	srv("POST /v1/orders", a.createOrder)
	srv("POST /v1/orders/import", a.importOrders)
	srv("GET /v1/orders/{orderId}", a.getOrder)
	srv("PUT /v1/orders/{orderId}", a.updateOrder)
}

// refuseParams refuses the query parameters of names the request carries:
// the reference defines them, promorelay cannot serve them, and ignoring
// them would answer a different question than the one asked.
func refuseParams(r *http.Request, served string, names ...string) error {
	q := r.URL.Query()
	var given []string
	for k := range q {
		for _, n := range names {
			if k == n || strings.HasPrefix(k, n+"[") {
				given = append(given, k)
			}
		}
	}
	if len(given) == 0 {
		return nil
	}
	slices.Sort(given)
	return core.KeyedError(core.CodeInvalid, keyUnsupported, "query parameter %s is not supported; %s",
		strings.Join(given, ", "), served)
}

// checkOrder refuses a sort order other than the ones the listing serves.
func checkOrder(r *http.Request, served ...string) error {
	o := r.URL.Query().Get("order")
	if o == "" || slices.Contains(served, o) {
		return nil
	}
	return core.KeyedError(core.CodeInvalid, keyUnsupported, "order=%s is not supported; this list is served in the order %s only",
		o, strings.Join(served, ", "))
}

// ---- customers

// customerView is Voucherify's customer object with promorelay's additions.
//
// The reference's summary also holds redemption counts, and the customer
// loyalty and referrals objects: promorelay keeps none of them per
// customer, so they are left out rather than shown as zeros.
type customerView struct {
	ID          string            `json:"id"`
	SourceID    string            `json:"source_id,omitempty"`
	Name        string            `json:"name,omitempty"`
	Email       string            `json:"email,omitempty"`
	Phone       string            `json:"phone,omitempty"`
	Description string            `json:"description,omitempty"`
	Birthdate   string            `json:"birthdate,omitempty"`
	Address     *customer.Address `json:"address"`
	Metadata    map[string]any    `json:"metadata"`
	Summary     customerSummary   `json:"summary"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   *time.Time        `json:"updated_at,omitempty"`
	Object      string            `json:"object"`

	// promorelay's additions: the segments the customer is in (ids), the
	// Segment traits and consents stated for it, the anonymous ids linked
	// to it, the profiles merged into it, and (GET of one customer only)
	// its event counters.
	Segments     []string                    `json:"segments"`
	Traits       map[string]any              `json:"traits,omitempty"`
	Consents     map[string]customer.Consent `json:"consents,omitempty"`
	AnonymousIDs []string                    `json:"anonymous_ids,omitempty"`
	MergedFrom   []string                    `json:"merged_from,omitempty"`
	EventCounts  map[string]eventCount       `json:"event_counts,omitzero"`
}

type customerSummary struct {
	Orders orderSummary `json:"orders"`
}

// orderSummary is the reference's summary.orders; the fields after
// last_order_date are promorelay's, named as segment filters name them
// (orders.largest_amount, …).
type orderSummary struct {
	TotalAmount     int64                         `json:"total_amount"`
	TotalCount      int64                         `json:"total_count"`
	AverageAmount   int64                         `json:"average_amount"`
	LastOrderAmount int64                         `json:"last_order_amount"`
	LastOrderDate   *time.Time                    `json:"last_order_date,omitempty"`
	FirstOrderDate  *time.Time                    `json:"first_order_date,omitempty"`
	LargestAmount   int64                         `json:"largest_amount"`
	RefundedAmount  int64                         `json:"refunded_amount"`
	RefundCount     int64                         `json:"refund_count"`
	SKUs            map[string]*customer.SKUStats `json:"skus,omitempty"`
	Products        map[string]int64              `json:"products,omitempty"`
}

// eventCount is one event name's counters, named as segment filters name
// them (events.<name>.count, first_at, last_at).
type eventCount struct {
	Count   int64     `json:"count"`
	FirstAt time.Time `json:"first_at"`
	LastAt  time.Time `json:"last_at"`
}

func viewCustomer(p customer.Profile) customerView {
	o := p.Orders
	v := customerView{
		ID: p.ID, SourceID: p.SourceID, Name: p.Name, Email: p.Email, Phone: p.Phone, Description: p.Description,
		Birthdate: p.Birthdate, Address: p.Address, Metadata: p.Metadata,
		Summary: customerSummary{Orders: orderSummary{
			TotalAmount: o.TotalAmount, TotalCount: o.Count, AverageAmount: o.Average(), LastOrderAmount: o.LastAmount,
			LastOrderDate: o.LastAt, FirstOrderDate: o.FirstAt, LargestAmount: o.LargestAmount,
			RefundedAmount: o.RefundedAmount, RefundCount: o.RefundCount, SKUs: o.SKUs, Products: o.Products,
		}},
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Object: "customer",
		Segments: p.Segments, Traits: p.Traits, Consents: p.Consents, AnonymousIDs: p.AnonymousIDs, MergedFrom: p.MergedFrom,
	}
	if v.Metadata == nil {
		v.Metadata = map[string]any{}
	}
	if v.Segments == nil {
		v.Segments = []string{}
	}
	return v
}

func viewCustomers(ps []customer.Profile) []customerView {
	out := make([]customerView, len(ps))
	for i, p := range ps {
		out[i] = viewCustomer(p)
	}
	return out
}

// listCustomers is GET /v1/customers: newest first (or oldest first with
// order=created_at), filtered by email, segment_id and creation time
// (created_at[after], created_at[before], and starting_after given as a
// date, the reference's date cursor). The reference's name, city and
// updated_at filters and its other orders need indexes promorelay does not
// keep: they are refused.
func (a *API) listCustomers(w http.ResponseWriter, r *http.Request) {
	const served = "customers are filtered by email, segment_id and created_at only"
	q := r.URL.Query()
	var rng audience.CustomerRange
	err := errors.Join(refuseParams(r, served, "city", "name", "updated_at"), checkOrder(r, "-created_at", "created_at"),
		queryTimes(r, map[string]*time.Time{"created_at[after]": &rng.CreatedAfter, "created_at[before]": &rng.CreatedBefore}))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rng.Oldest = q.Get("order") == "created_at"
	// starting_after is the reference's date cursor, or promorelay's
	// opaque one (more_starting_after) when it is not a date.
	if after, err := time.Parse(time.RFC3339, q.Get("starting_after")); err == nil {
		bound := &rng.CreatedBefore
		if rng.Oldest {
			bound = &rng.CreatedAfter
		}
		if bound.IsZero() || (after.Before(*bound) != rng.Oldest) {
			*bound = after
		}
		q.Del("starting_after")
		r = r.Clone(r.Context())
		r.URL.RawQuery = q.Encode()
	}
	inRange := func(p customer.Profile) bool {
		return (rng.CreatedAfter.IsZero() || p.CreatedAt.After(rng.CreatedAfter)) &&
			(rng.CreatedBefore.IsZero() || p.CreatedAt.Before(rng.CreatedBefore))
	}
	ctx, p := r.Context(), proj(r)
	email, seg := q.Get("email"), q.Get("segment_id")
	switch {
	case email != "":
		serveList(a, w, r, "customers", func(int, string) ([]customerView, string, error) {
			prof, err := a.customerByEmail(ctx, p, email)
			if err != nil || prof == nil || !inRange(*prof) {
				return nil, "", err
			}
			if seg != "" {
				if _, err := a.o.Audience.GetSegment(ctx, p, seg); err != nil {
					return nil, "", err
				}
				if !slices.Contains(prof.Segments, seg) {
					return nil, "", nil
				}
			}
			return []customerView{viewCustomer(*prof)}, "", nil
		})
	case seg != "":
		if rng.Oldest {
			a.fail(w, r, core.KeyedError(core.CodeInvalid, keyUnsupported, "order=created_at is not supported with segment_id; a segment's members are listed in their own order"))
			return
		}
		serveList(a, w, r, "customers", func(limit int, cursor string) ([]customerView, string, error) {
			ids, next, err := a.o.Audience.Members(ctx, p, seg, limit, cursor)
			if err != nil {
				return nil, "", err
			}
			out := make([]customerView, 0, len(ids))
			for _, id := range ids {
				prof, err := a.o.Audience.Customer(ctx, p, id)
				if errors.Is(err, core.ErrNotFound) {
					continue // deleted since
				}
				if err != nil {
					return nil, "", err
				}
				if inRange(prof) {
					out = append(out, viewCustomer(prof))
				}
			}
			return out, next, nil
		})
	default:
		serveList(a, w, r, "customers", func(limit int, cursor string) ([]customerView, string, error) {
			ps, next, err := a.o.Audience.ListCustomers(ctx, p, rng, limit, cursor)
			return viewCustomers(ps), next, err
		})
	}
}

// pathCustomer finds the customer the path's {customerId} names (an id or
// a source_id); when there is none it has answered the request.
func (a *API) pathCustomer(w http.ResponseWriter, r *http.Request) (customer.Profile, bool) {
	prof, err := a.o.Audience.FindCustomer(r.Context(), proj(r), r.PathValue("customerId"))
	if err != nil {
		a.fail(w, r, err)
		return prof, false
	}
	return prof, true
}

// customerByEmail finds the customer whose email is email (nil when none).
func (a *API) customerByEmail(ctx context.Context, p, email string) (*customer.Profile, error) {
	prof, found, err := a.o.Audience.FindCustomerByEmail(ctx, p, email)
	if err != nil || !found {
		return nil, err
	}
	return &prof, nil
}

// upsertCustomer is POST /v1/customers: Voucherify's upsert by id or
// source_id.
func (a *API) upsertCustomer(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in audience.CustomerInput) (customer.Profile, error) {
		return a.o.Audience.UpsertCustomer(ctx, proj(r), in)
	}, func(p customer.Profile) any { return viewCustomer(p) })
}

// getCustomer is GET /v1/customers/{id or source_id}, with the customer's
// event counters.
func (a *API) getCustomer(w http.ResponseWriter, r *http.Request) {
	ctx, p := r.Context(), proj(r)
	prof, ok := a.pathCustomer(w, r)
	if !ok {
		return
	}
	stats, err := a.o.Audience.EventCounts(ctx, p, prof.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := viewCustomer(prof)
	v.EventCounts = make(map[string]eventCount, len(stats))
	for _, st := range stats {
		v.EventCounts[st.Name] = eventCount{Count: st.Total, FirstAt: st.First, LastAt: st.Last}
	}
	WriteJSON(w, http.StatusOK, v)
}

// updateCustomer is PUT /v1/customers/{id or source_id}.
func (a *API) updateCustomer(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in audience.CustomerInput) (customer.Profile, error) {
		return a.o.Audience.UpdateCustomer(ctx, proj(r), r.PathValue("customerId"), in)
	}, func(p customer.Profile) any { return viewCustomer(p) })
}

// deleteCustomer is DELETE /v1/customers/{id}: promorelay deletes the
// customer's personal data outright, as the permanent deletion does.
func (a *API) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	_, err := a.o.Audience.DeleteCustomer(r.Context(), proj(r), r.PathValue("customerId"))
	serveNoContent(a, w, r, err)
}

// forgetCustomer is POST /v1/customers/{id}/permanent-deletion: the
// deletion record says what was removed.
func (a *API) forgetCustomer(w http.ResponseWriter, r *http.Request) {
	del, err := a.o.Audience.DeleteCustomer(r.Context(), proj(r), r.PathValue("customerId"))
	serveOne(a, w, r, del, err)
}

// customerActivity is GET /v1/customers/{id}/activity (and the deprecated
// /activities): newest first. The service reads a customer's latest
// audience.MaxActivity entries, so starting_after_id pages within them;
// the campaign, category and product filters are not served (promorelay's
// activity holds no campaign activity), nor the oldest-first order.
func (a *API) customerActivity(w http.ResponseWriter, r *http.Request) {
	const served = "activity is filtered by type, start_date and end_date only"
	err := errors.Join(refuseParams(r, served, "campaign_id", "campaign_type", "category", "product_id", "starting_after"),
		checkOrder(r, "-created_at"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 10, 1, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := audience.ActivityFilter{Limit: audience.MaxActivity, Type: q.Get("type")}
	if err := queryTimes(r, map[string]*time.Time{"start_date": &f.StartDate, "end_date": &f.EndDate}); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, p := r.Context(), proj(r)
	prof, ok := a.pathCustomer(w, r)
	if !ok {
		return
	}
	acts, err := a.o.Audience.Activity(ctx, p, prof.ID, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if after := q.Get("starting_after_id"); after != "" {
		i := slices.IndexFunc(acts, func(x audience.Activity) bool { return x.ID == after })
		if i < 0 {
			a.fail(w, r, core.KeyedError(core.CodeInvalid, "invalid_payload",
				"starting_after_id: %s is not among the customer's latest %d activities", after, audience.MaxActivity))
			return
		}
		acts = acts[i+1:]
	}
	page := acts[:min(limit, len(acts))]
	if page == nil {
		page = []audience.Activity{}
	}
	out := map[string]any{"object": "list", "data_ref": "data", "data": page, "total": len(page), "has_more": len(acts) > limit}
	if len(acts) > limit {
		out["more_starting_after"] = page[len(page)-1].ID
	}
	WriteJSON(w, http.StatusOK, out)
}

// simpleSegment is the reference's SimpleSegment.
type simpleSegment struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Object string `json:"object"`
}

// customerSegments is GET /v1/customers/{id}/segments.
func (a *API) customerSegments(w http.ResponseWriter, r *http.Request) {
	ctx, p := r.Context(), proj(r)
	prof, ok := a.pathCustomer(w, r)
	if !ok {
		return
	}
	segs, err := a.o.Audience.CustomerSegments(ctx, p, prof.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	data := make([]simpleSegment, len(segs))
	for i, s := range segs {
		data[i] = simpleSegment{ID: s.ID, Name: s.Name, Object: "segment"}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data_ref": "data", "data": data, "total": len(data)})
}

// customerRedeemable is the reference's CustomerRedeemable: one code
// published to the customer (promorelay's holders are publications, so
// the holder id is the publication's id and the role is always OWNER).
type customerRedeemable struct {
	ID               string         `json:"id"`
	CreatedAt        time.Time      `json:"created_at"`
	RedeemableID     string         `json:"redeemable_id"`
	RedeemableObject string         `json:"redeemable_object"`
	CustomerID       string         `json:"customer_id"`
	HolderRole       string         `json:"holder_role"`
	CampaignID       *string        `json:"campaign_id"`
	CampaignType     *string        `json:"campaign_type"`
	VoucherType      string         `json:"voucher_type"`
	Redeemable       heldRedeemable `json:"redeemable"`
}

type heldRedeemable struct {
	Type    string        `json:"type"`
	Voucher promo.Voucher `json:"voucher"`
	Status  string        `json:"status"`
}

// customerRedeemables is GET /v1/customers/{id}/redeemables: the codes
// published to the customer, newest first, each as it is now. The cursor is
// starting_after_id (the list's more_starting_after); the reference's
// filters are not served.
func (a *API) customerRedeemables(w http.ResponseWriter, r *http.Request) {
	err := errors.Join(refuseParams(r, "redeemables are listed newest first, unfiltered", "filters"), checkOrder(r, "-id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if a.o.Promo == nil {
		a.fail(w, r, core.Errorf(core.CodeUnavailable, "the promotion service is not running in this process"))
		return
	}
	ctx, p := r.Context(), proj(r)
	prof, ok := a.pathCustomer(w, r)
	if !ok {
		return
	}
	campaigns := map[string]*promo.Campaign{}
	now := a.o.Clock.Now()
	rq := cursorFrom(r, "starting_after_id")
	items, next, err := pageWalk(rq, func(limit int, cursor string) ([]customerRedeemable, string, error) {
		pubs, next, err := a.o.Promo.ListPublications(ctx, p, promo.PublicationFilter{Customer: prof.ID, Limit: limit, Cursor: cursor})
		if err != nil {
			return nil, "", err
		}
		out := make([]customerRedeemable, 0, len(pubs))
		for _, pub := range pubs {
			cr, ok, err := a.redeemable(ctx, p, pub, campaigns, now)
			if err != nil {
				return nil, "", err
			}
			if ok {
				out = append(out, cr)
			}
		}
		return out, next, nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if items == nil {
		items = []customerRedeemable{}
	}
	out := map[string]any{"object": "list", "data_ref": "data", "data": items, "total": len(items), "has_more": next != ""}
	if next != "" {
		out["more_starting_after"] = next
	}
	WriteJSON(w, http.StatusOK, out)
}

// redeemable describes one publication's code as it is now; ok is false
// when the code has been deleted since (it is no longer the customer's).
func (a *API) redeemable(ctx context.Context, p string, pub promo.Publication, campaigns map[string]*promo.Campaign, now time.Time) (customerRedeemable, bool, error) {
	v, err := a.o.Promo.GetVoucher(ctx, p, pub.Voucher.Code)
	if errors.Is(err, core.ErrNotFound) {
		return customerRedeemable{}, false, nil
	}
	if err != nil {
		return customerRedeemable{}, false, err
	}
	cr := customerRedeemable{ID: pub.ID, CreatedAt: pub.CreatedAt, RedeemableID: v.ID, RedeemableObject: "voucher",
		CustomerID: pub.CustomerID, HolderRole: "OWNER", VoucherType: v.Type,
		Redeemable: heldRedeemable{Type: "voucher", Voucher: v}}
	var camp *promo.Campaign
	if v.CampaignID != "" {
		id := v.CampaignID
		cr.CampaignID = &id
		c, seen := campaigns[id]
		if !seen {
			got, err := a.o.Promo.GetCampaign(ctx, p, id)
			switch {
			case err == nil:
				c = &got
			case !errors.Is(err, core.ErrNotFound):
				return customerRedeemable{}, false, err
			}
			campaigns[id] = c
		}
		if camp = c; camp != nil {
			t := camp.CampaignType
			cr.CampaignType = &t
		}
	}
	cr.Redeemable.Status = redeemableStatus(v, camp, now)
	return cr, true, nil
}

// redeemableStatus is the reference's status of a held code at now.
func redeemableStatus(v promo.Voucher, camp *promo.Campaign, now time.Time) string {
	validity := []promo.Validity{v.Validity}
	if camp != nil {
		validity = append(validity, camp.Validity)
	}
	switch {
	case !v.Active || camp != nil && !camp.Active:
		return "DISABLED"
	case slices.ContainsFunc(validity, func(x promo.Validity) bool { return x.StartDate != nil && now.Before(*x.StartDate) }):
		return "NOT_ACTIVE_YET"
	case slices.ContainsFunc(validity, func(x promo.Validity) bool { return x.ExpirationDate != nil && now.After(*x.ExpirationDate) }):
		return "EXPIRED"
	case v.Gift != nil && v.Gift.Balance <= 0:
		return "NO_BALANCE"
	case v.Redemption.Quantity != nil && v.Redemption.RedeemedQuantity >= *v.Redemption.Quantity:
		return "USED"
	}
	return "ACTIVE"
}

// cursorFrom returns r with the query parameter name, the reference's
// cursor for this list, read as pageWalk's starting_after.
func cursorFrom(r *http.Request, name string) *http.Request {
	q := r.URL.Query()
	v := q.Get(name)
	if v == "" || q.Get("starting_after") != "" {
		return r
	}
	q.Set("starting_after", v)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2
}

// ---- customer imports and bulk updates

// customerColumns maps the reference's CSV columns (lowercased) to
// customer fields; any other column is a metadata key.
var customerColumns = map[string]string{
	"id": "id", "source_id": "source_id", "name": "name", "email": "email", "phone": "phone",
	"birthdate": "birthdate", "birthday": "birthdate", "description": "description",
	"address_line_1": "line_1", "address_line_2": "line_2", "address_postal_code": "postal_code",
	"address_city": "city", "address_state": "state", "address_country": "country",
}

// row is one item of a bulk job: its line in a CSV file or its position in
// a JSON array (1-based), and what to apply.
type row[T any] struct {
	Line, Item int
	Value      T
}

func (r row[T]) problem(reason string) promo.ImportProblem {
	return promo.ImportProblem{Line: r.Line, Item: r.Item, Reason: reason}
}

// importCustomersCSV is POST /v1/customers/importCSV: the file (form field
// file) is read and its header checked before anything starts; its rows are
// then upserted by a job, and the rows the service refuses are listed in
// the job's result.
func (a *API) importCustomersCSV(w http.ResponseWriter, r *http.Request) {
	body, ctx, err := a.readBody(w, r, maxImportBody)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	file, _, err := uploadParts(r, body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rows, err := parseCustomerCSV(file)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	startJob(a, w, r, ctx, http.StatusAccepted, jobCustomersImportCSV, "customers", rows, a.upserter(proj(r)))
}

// parseCustomerCSV reads a customer CSV: a header of the reference's
// column names (no spaces, each once, with Source_id or Id) and one
// customer per line.
func parseCustomerCSV(file []byte) ([]row[audience.CustomerInput], error) {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\ufeff"))))
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, badPayload("the CSV file is empty: its first line must name the columns (Source_id, Name, Email, …)")
	}
	if err != nil {
		return nil, badPayload("malformed CSV: %v", err)
	}
	var probs []string
	seen := map[string]bool{}
	for i, h := range header {
		l := strings.ToLower(h)
		switch {
		case strings.TrimSpace(h) == "":
			probs = append(probs, fmt.Sprintf("column %d has no name", i+1))
		case strings.ContainsAny(h, " \t"):
			probs = append(probs, fmt.Sprintf("column %q: column names take no spaces (Source_id, Address_City, …)", h))
		case seen[l]:
			probs = append(probs, fmt.Sprintf("column %q appears twice", h))
		}
		seen[l] = true
	}
	if !seen["source_id"] && !seen["id"] {
		probs = append(probs, "the header needs a Source_id (or Id) column naming each row's customer")
	}
	if len(probs) > 0 {
		return nil, badPayload("bad CSV header, nothing was imported: %s", strings.Join(probs, "; "))
	}
	var rows []row[audience.CustomerInput]
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, badPayload("malformed CSV, nothing was imported: %v", err)
		}
		if len(rows) >= promo.MaxImportRows {
			return nil, badPayload("a CSV file holds at most %d customers", promo.MaxImportRows)
		}
		line, _ := rd.FieldPos(0)
		if in, ok := customerFromCSV(header, rec); ok {
			rows = append(rows, row[audience.CustomerInput]{Line: line, Value: in})
		}
	}
}

// customerFromCSV maps one CSV record onto a customer; empty cells are left
// out (an import does not clear fields). ok is false for a blank line.
func customerFromCSV(header, rec []string) (audience.CustomerInput, bool) {
	var in audience.CustomerInput
	var addr customer.Address
	hasAddr, filled := false, false
	for i, v := range rec {
		if v == "" {
			continue
		}
		filled = true
		val := v
		switch customerColumns[strings.ToLower(header[i])] {
		case "id":
			in.ID = v
		case "source_id":
			in.SourceID = v
		case "name":
			in.Name = &val
		case "email":
			in.Email = &val
		case "phone":
			in.Phone = &val
		case "birthdate":
			in.Birthdate = &val
		case "description":
			in.Description = &val
		case "line_1":
			addr.Line1, hasAddr = v, true
		case "line_2":
			addr.Line2, hasAddr = v, true
		case "postal_code":
			addr.PostalCode, hasAddr = v, true
		case "city":
			addr.City, hasAddr = v, true
		case "state":
			addr.State, hasAddr = v, true
		case "country":
			addr.Country, hasAddr = v, true
		default:
			if in.Metadata == nil {
				in.Metadata = map[string]any{}
			}
			in.Metadata[header[i]] = v
		}
	}
	if hasAddr {
		in.Address = &addr
	}
	return in, filled
}

// bulkCustomers is POST /v1/customers/bulk/async: an array of customers,
// each with its source_id, upserted by a job.
func (a *API) bulkCustomers(w http.ResponseWriter, r *http.Request) {
	ctx, rows, err := decodeItems[audience.CustomerInput](a, w, r, "customers")
	if err != nil {
		a.failImport(w, r, err)
		return
	}
	var probs []promo.ImportProblem
	for _, rw := range rows {
		if rw.Value.SourceID == "" {
			probs = append(probs, rw.problem("source_id is required"))
		}
	}
	if len(probs) > 0 {
		a.failImport(w, r, refusedRows("customers", probs))
		return
	}
	startJob(a, w, r, ctx, http.StatusAccepted, jobCustomersBulk, "customers", rows, a.upserter(proj(r)))
}

// metadataUpdate is the body of POST /v1/customers/metadata/async.
type metadataUpdate struct {
	SourceIDs []string       `json:"source_ids"`
	Metadata  map[string]any `json:"metadata"`
}

// bulkCustomerMetadata is POST /v1/customers/metadata/async: the metadata
// is set on every customer listed (created when new, as the reference
// upserts).
func (a *API) bulkCustomerMetadata(w http.ResponseWriter, r *http.Request) {
	body, ctx, err := a.readBody(w, r, maxImportBody)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in metadataUpdate
	if err := decodeJSON(body, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var probs []string
	if len(in.SourceIDs) == 0 {
		probs = append(probs, "source_ids: list at least one customer source_id")
	}
	for i, s := range in.SourceIDs {
		if s == "" || len(s) > maxSourceID {
			probs = append(probs, fmt.Sprintf("source_ids[%d]: a source_id of 1 to %d characters", i, maxSourceID))
		}
	}
	if len(in.Metadata) == 0 {
		probs = append(probs, "metadata: required, a non-empty object")
	} else if jsonSize(in.Metadata) > maxJSONField {
		probs = append(probs, fmt.Sprintf("metadata: at most %d bytes", maxJSONField))
	}
	if len(probs) > 0 {
		a.fail(w, r, badPayload("%s", strings.Join(probs, "; ")))
		return
	}
	rows := make([]row[audience.CustomerInput], len(in.SourceIDs))
	for i, s := range in.SourceIDs {
		rows[i] = row[audience.CustomerInput]{Item: i + 1, Value: audience.CustomerInput{SourceID: s, Metadata: in.Metadata}}
	}
	startJob(a, w, r, ctx, http.StatusAccepted, jobCustomersMetadata, "customers", rows, a.upserter(proj(r)))
}

// upserter upserts one customer of a bulk job into project p (the job
// outlives the request: it takes the project, not the request).
func (a *API) upserter(p string) func(context.Context, audience.CustomerInput) error {
	return func(ctx context.Context, in audience.CustomerInput) error {
		_, err := a.o.Audience.UpsertCustomer(ctx, p, in)
		return err
	}
}

// startJob starts a job applying each row in order and answers status with
// its async_action_id (a repeated request with the same Idempotency-Key
// answers the same job). Rows the services refuse are listed in the job's
// result; a failure of the store fails the job.
func startJob[T any](a *API, w http.ResponseWriter, r *http.Request, ctx context.Context, status int, kind, what string, rows []row[T], apply func(context.Context, T) error) {
	if a.o.Promo == nil {
		a.fail(w, r, core.Errorf(core.CodeUnavailable, "background jobs are not running in this process"))
		return
	}
	job := func(ctx context.Context, pr *promo.JobProgress) (promo.JobResult, error) {
		var res promo.JobResult
		for _, rw := range rows {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			err := apply(ctx, rw.Value)
			switch {
			case err == nil:
				res.DoneCount++
			case Status(err) < http.StatusInternalServerError:
				res.FailedCount++
				if len(res.Failed) < promo.MaxImportProblems {
					res.Failed = append(res.Failed, rw.problem(core.ErrorMessage(err)))
				}
			default:
				return res, err
			}
			pr.Add(1)
		}
		res.Message = fmt.Sprintf("%d of %d %s applied", res.DoneCount, len(rows), what)
		if res.FailedCount > 0 {
			res.Message += fmt.Sprintf("; %d refused (see failed)", res.FailedCount)
		}
		return res, nil
	}
	respond(a, w, r, status, withRequestID(ctx), func(ctx context.Context) (promo.JobStarted, error) {
		if err := core.CheckIdempotency(ctx, a.o.Store); err != nil {
			return promo.JobStarted{}, err
		}
		return a.o.Promo.StartJob(ctx, proj(r), kind, int64(len(rows)), job)
	}, nil)
}

// decodeItems reads a JSON array body (at most maxImportBody bytes) of
// items of type T. Items that do not decode are reported together, by
// position, with nothing started.
func decodeItems[T any](a *API, w http.ResponseWriter, r *http.Request, what string) (context.Context, []row[T], error) {
	body, ctx, err := a.readBody(w, r, maxImportBody)
	if err != nil {
		return nil, nil, err
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, badPayload("the body must be a JSON array of %s", what)
	}
	if len(raw) == 0 {
		return nil, nil, badPayload("the array lists no %s", what)
	}
	rows := make([]row[T], len(raw))
	var probs []promo.ImportProblem
	for i, item := range raw {
		rows[i].Item = i + 1
		if err := decodeJSON(item, &rows[i].Value); err != nil {
			probs = append(probs, rows[i].problem(core.ErrorMessage(err)))
		}
	}
	if len(probs) > 0 {
		return nil, nil, refusedRows(what, probs)
	}
	return ctx, rows, nil
}

// decodeJSON decodes b into v, with decode's client-facing errors.
func decodeJSON(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return badPayload("field %s: expected %s, got %s", te.Field, te.Type, te.Value)
	case errors.As(err, &se):
		return badPayload("malformed JSON at byte %d", se.Offset)
	}
	return badPayload("malformed request body: %v", err)
}

// refusedRows is the 400 of a bulk request with bad items: failImport
// lists them in the error body.
func refusedRows(what string, probs []promo.ImportProblem) error {
	shown := probs[:min(len(probs), promo.MaxImportProblems)]
	msg := make([]string, 0, 10)
	for _, p := range shown[:min(len(shown), 10)] {
		msg = append(msg, fmt.Sprintf("item %d: %s", p.Item, p.Reason))
	}
	text := fmt.Sprintf("%d of the %s are invalid, nothing was started: %s", len(probs), what, strings.Join(msg, "; "))
	if len(probs) > len(msg) {
		text += fmt.Sprintf("; and %d more", len(probs)-len(msg))
	}
	return &core.Error{Code: core.CodeInvalid, Key: "invalid_payload", Message: text,
		Err: &promo.ImportProblems{Problems: slices.Clone(shown), Total: len(probs)}}
}

// uploadParts finds the CSV file of an upload (the multipart form field
// file, or a text/csv body) and the form fields named, which may also come
// as query parameters.
func uploadParts(r *http.Request, body []byte, fields ...string) ([]byte, map[string]string, error) {
	vals := map[string]string{}
	for _, f := range fields {
		if v := r.URL.Query().Get(f); v != "" {
			vals[f] = v
		}
	}
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, badPayload("send the CSV as multipart/form-data (field file) or with Content-Type: text/csv")
	}
	switch mediaType {
	case "multipart/form-data":
	case "text/csv", "application/csv", "text/plain":
		return body, vals, nil
	default:
		return nil, nil, badPayload("send the CSV as multipart/form-data (field file) or with Content-Type: text/csv, not %s", mediaType)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var file []byte
	found := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, badPayload("malformed multipart body: %v", err)
		}
		switch name := part.FormName(); {
		case name == "file":
			if file, err = io.ReadAll(part); err != nil {
				return nil, nil, badPayload("malformed multipart body: %v", err)
			}
			found = true
		case slices.Contains(fields, name):
			b, err := io.ReadAll(io.LimitReader(part, maxMappingField+1))
			if err != nil || len(b) > maxMappingField {
				return nil, nil, badPayload("the form field %s must be at most %d bytes", name, maxMappingField)
			}
			vals[name] = string(b)
		}
	}
	if !found {
		return nil, nil, badPayload("the multipart body needs the CSV file in the field file")
	}
	return file, vals, nil
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 1 << 30
	}
	return len(b)
}

// ---- segments

func (a *API) createSegment(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in audience.SegmentInput) (audience.Segment, error) {
		return a.o.Audience.CreateSegment(ctx, proj(r), in)
	}, nil)
}

func (a *API) getSegment(w http.ResponseWriter, r *http.Request) {
	seg, err := a.o.Audience.GetSegment(r.Context(), proj(r), r.PathValue("segmentId"))
	serveOne(a, w, r, seg, err)
}

// listSegments is promorelay's GET /v1/segments, oldest first.
func (a *API) listSegments(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "segments", func(limit int, cursor string) ([]audience.Segment, string, error) {
		return a.o.Audience.ListSegments(r.Context(), proj(r), limit, cursor)
	})
}

// updateSegment is promorelay's PUT /v1/segments/{id}: a new name or
// filter; a new filter re-evaluates the existing customers in the
// background (progress in backfill).
func (a *API) updateSegment(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in audience.SegmentUpdate) (audience.Segment, error) {
		return a.o.Audience.UpdateSegment(ctx, proj(r), r.PathValue("segmentId"), in)
	}, nil)
}

func (a *API) deleteSegment(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Audience.DeleteSegment(r.Context(), proj(r), r.PathValue("segmentId")))
}

// memberRef names one customer of a segment.
type memberRef struct {
	ID     string `json:"id"`
	Object string `json:"object"`
}

// segmentMembers is promorelay's GET /v1/segments/{id}/customers: the ids
// of its customers, by id.
func (a *API) segmentMembers(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "data", func(limit int, cursor string) ([]memberRef, string, error) {
		ids, next, err := a.o.Audience.Members(r.Context(), proj(r), r.PathValue("segmentId"), limit, cursor)
		out := make([]memberRef, len(ids))
		for i, id := range ids {
			out[i] = memberRef{ID: id, Object: "customer"}
		}
		return out, next, err
	})
}

// backfillView is the progress of an auto-update segment's backfill.
type backfillView struct {
	SegmentID string `json:"segment_id"`
	audience.Backfill
	Object string `json:"object"`
}

// segmentBackfill is promorelay's GET /v1/segments/{id}/backfill: how far
// bringing existing customers into a new auto-update segment has got.
// Static segments have none.
func (a *API) segmentBackfill(w http.ResponseWriter, r *http.Request) {
	seg, err := a.o.Audience.GetSegment(r.Context(), proj(r), r.PathValue("segmentId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if seg.Backfill == nil {
		a.fail(w, r, &core.Error{Code: core.CodeNotFound,
			Message:    fmt.Sprintf("segment %s is %s: it has no backfill", seg.ID, seg.Type),
			ResourceID: seg.ID, ResourceType: "segment_backfill"})
		return
	}
	WriteJSON(w, http.StatusOK, backfillView{SegmentID: seg.ID, Backfill: *seg.Backfill, Object: "segment_backfill"})
}

// importSegmentCSV is promorelay's POST /v1/segments/importCSV: a static
// segment named by the form field name, of the customers a CSV file lists
// in its id or source_id column.
func (a *API) importSegmentCSV(w http.ResponseWriter, r *http.Request) {
	body, ctx, err := a.readBody(w, r, maxImportBody)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	file, fields, err := uploadParts(r, body, "name")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	refs, err := segmentCSV(file)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	respond(a, w, r, http.StatusOK, ctx, func(ctx context.Context) (audience.Segment, error) {
		if err := core.CheckIdempotency(ctx, a.o.Store); err != nil {
			return audience.Segment{}, err
		}
		return a.o.Audience.CreateSegment(ctx, proj(r), audience.SegmentInput{
			Name: fields["name"], Type: audience.SegmentStatic, Customers: refs})
	}, nil)
}

// segmentCSV reads the customers of a segment file: per line, the id
// column's value, else the source_id column's.
func segmentCSV(file []byte) ([]string, error) {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\ufeff"))))
	rd.FieldsPerRecord = -1
	header, err := rd.Read()
	if err != nil {
		return nil, badPayload("the CSV file needs a header naming an id or source_id column")
	}
	idCol, srcCol := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "id":
			idCol = i
		case "source_id":
			srcCol = i
		}
	}
	if idCol < 0 && srcCol < 0 {
		return nil, badPayload("the CSV header names no id or source_id column")
	}
	cell := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var refs []string
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badPayload("malformed CSV: %v", err)
		}
		if ref := firstNonEmpty(cell(rec, idCol), cell(rec, srcCol)); ref != "" {
			refs = append(refs, ref)
		}
		if len(refs) > audience.MaxStaticCustomers {
			return nil, badPayload("a static segment holds at most %d customers", audience.MaxStaticCustomers)
		}
	}
	if len(refs) == 0 {
		return nil, badPayload("the CSV file lists no customers")
	}
	return refs, nil
}

// ---- events

// eventInput is Voucherify's custom event.
type eventInput struct {
	Event    string                  `json:"event"`
	Customer *audience.CustomerInput `json:"customer"`
	Metadata map[string]any          `json:"metadata"`
	Referral json.RawMessage         `json:"referral"`
	Loyalty  json.RawMessage         `json:"loyalty"`
}

// check refuses what the event cannot be applied with, before anything is
// written (the customer's fields as UpsertCustomer will check them, since
// they are applied after the event).
func (in eventInput) check() error {
	var probs []string
	if in.Event == "" || len(in.Event) > maxEventName {
		probs = append(probs, fmt.Sprintf("event: required, at most %d characters", maxEventName))
	}
	if jsonSize(in.Metadata) > maxJSONField {
		probs = append(probs, fmt.Sprintf("metadata: at most %d bytes", maxJSONField))
	}
	c := in.Customer
	if c == nil || c.ID == "" && c.SourceID == "" {
		probs = append(probs, "customer: required, with an id or a source_id")
	} else if err := c.Validate(); err != nil {
		probs = append(probs, "customer: "+core.ErrorMessage(err))
	}
	if len(probs) > 0 {
		return badPayload("%s", strings.Join(probs, "; "))
	}
	for _, f := range []struct {
		name, what string
		raw        json.RawMessage
	}{{"referral", "referral programs", in.Referral}, {"loyalty", "loyalty programs", in.Loyalty}} {
		if s := string(bytes.TrimSpace(f.raw)); s != "" && s != "null" && s != "{}" {
			return core.KeyedError(core.CodeInvalid, keyUnsupported,
				"%s: %s are not modelled by promorelay; send the event without it", f.name, f.what)
		}
	}
	return nil
}

// profileFields reports whether the event's customer carries fields beyond
// its identity, which are applied to the profile.
func (in eventInput) profileFields() bool {
	c := in.Customer
	return c.Name != nil || c.Email != nil || c.Phone != nil || c.Description != nil || c.Birthdate != nil ||
		c.Birthday != nil || c.Address != nil || len(c.Metadata) > 0
}

// eventView is Voucherify's answer to a custom event.
type eventView struct {
	Object   string         `json:"object"`
	Type     string         `json:"type"`
	Customer simpleCustomer `json:"customer"`
	Referral any            `json:"referral"`
	Loyalty  any            `json:"loyalty"`
	Metadata map[string]any `json:"metadata"`
}

type simpleCustomer struct {
	ID       string         `json:"id"`
	SourceID string         `json:"source_id,omitempty"`
	Name     string         `json:"name,omitempty"`
	Email    string         `json:"email,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Object   string         `json:"object"`
}

// trackEvent is POST /v1/events: the event is counted once per
// Idempotency-Key (the message id the ingest path deduplicates on; a retry
// answers as the first call did, with Idempotent-Replayed). The customer is
// created when new; fields it carries besides its id are then applied to
// its profile.
func (a *API) trackEvent(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in eventInput) (eventView, error) {
		if err := in.check(); err != nil {
			return eventView{}, err
		}
		p := proj(r)
		msgID := r.Header.Get("Idempotency-Key")
		if msgID == "" {
			msgID = a.o.Audience.IDs.New("msg")
		}
		m := customer.Message{Source: "api", MessageID: msgID, Type: "track", Event: in.Event,
			Properties: in.Metadata, Timestamp: a.o.Clock.Now().UTC()}
		if in.Customer.ID != "" {
			m.CustomerID = in.Customer.ID
		} else {
			m.UserID = in.Customer.SourceID
		}
		// Apply, not ApplyMessage: it also feeds the event schema registry.
		outs, err := a.o.Audience.Apply(ctx, p, []customer.Message{m})
		if err != nil {
			return eventView{}, err
		}
		out := outs[0]
		var prof customer.Profile
		switch {
		case out.Duplicate:
			w.Header().Set("Idempotent-Replayed", "true")
			prof, err = a.o.Audience.FindCustomer(ctx, p, firstNonEmpty(m.CustomerID, m.UserID))
		case in.profileFields():
			// The request's context without its idempotency key: this upsert
			// is part of the event, whose answer is not the profile.
			upd := *in.Customer
			upd.ID, upd.SourceID = out.CustomerID, ""
			prof, err = a.o.Audience.UpsertCustomer(r.Context(), p, upd)
		default:
			prof, err = a.o.Audience.Customer(ctx, p, out.CustomerID)
		}
		if err != nil {
			return eventView{}, err
		}
		md := in.Metadata
		if md == nil {
			md = map[string]any{}
		}
		return eventView{Object: "event", Type: in.Event, Metadata: md,
			Customer: simpleCustomer{ID: prof.ID, SourceID: prof.SourceID, Name: prof.Name, Email: prof.Email,
				Metadata: prof.Metadata, Object: "customer"}}, nil
	}, nil)
}

// eventSchema is promorelay's GET /v1/event-schema: every event name seen,
// with the JSON types of its properties.
func (a *API) eventSchema(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "data", func(limit int, cursor string) ([]audience.EventSchema, string, error) {
		return a.o.Audience.Schema(r.Context(), proj(r), limit, cursor)
	})
}

// ---- orders

// orderInput is Voucherify's order body (create, update, import).
type orderInput struct {
	ID         string             `json:"id"`
	SourceID   *string            `json:"source_id"`
	Status     string             `json:"status"`
	Amount     *int64             `json:"amount"`
	Items      []orderItemInput   `json:"items"`
	Metadata   map[string]any     `json:"metadata"`
	Customer   *orderCustomerBody `json:"customer"`
	CreatedAt  *time.Time         `json:"created_at"`
	ReferrerID *string            `json:"referrer_id"`
	Referrer   json.RawMessage    `json:"referrer"`
}

type orderItemInput struct {
	SKUID         string `json:"sku_id"`
	ProductID     string `json:"product_id"`
	RelatedObject string `json:"related_object"`
	SourceID      string `json:"source_id"`
	Quantity      *int64 `json:"quantity"`
	Price         *int64 `json:"price"`
	Amount        *int64 `json:"amount"`
}

type orderCustomerBody struct {
	ID       string `json:"id"`
	SourceID string `json:"source_id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	Phone    string `json:"phone"`
}

// orderStatuses maps Voucherify's order statuses to the ingest path's; a
// FULFILLED order counts as paid.
var orderStatuses = map[string]string{
	"CREATED": customer.OrderCreated, "PAID": customer.OrderPaid,
	"FULFILLED": customer.OrderPaid, "CANCELED": customer.OrderCanceled,
}

// toCore maps the body onto an order notification: of a new order when
// prev is nil, else of an update of prev (whose amount and status stay
// unless the body changes them).
func (in orderInput) toCore(prev *audience.Order, now time.Time) (customer.Order, error) {
	var probs []string
	o := customer.Order{Source: "api", Metadata: in.Metadata, At: now}
	switch {
	case prev != nil:
		o.ID = prev.SourceID
	case in.SourceID != nil && *in.SourceID != "":
		o.ID = *in.SourceID
	default:
		probs = append(probs, "source_id: required (promorelay keys orders by the shop's order id)")
	}
	if len(o.ID) > maxSourceID {
		probs = append(probs, fmt.Sprintf("source_id: at most %d characters", maxSourceID))
	}
	prevStatus := ""
	if prev != nil {
		prevStatus = strings.ToLower(prev.Status)
	}
	o.Status = prevStatus
	if in.Status != "" {
		s, ok := orderStatuses[in.Status]
		if !ok {
			probs = append(probs, fmt.Sprintf("status: %q is not one of CREATED, PAID, CANCELED, FULFILLED", in.Status))
		}
		o.Status = s
	}
	if o.Status == "" {
		o.Status = customer.OrderCreated
	}
	o.Transition = orderTransition(prevStatus, o.Status)
	if len(in.Items) > maxOrderItems {
		probs = append(probs, fmt.Sprintf("items: at most %d", maxOrderItems))
	}
	var sum int64
	for i, it := range in.Items {
		item, p := it.toCore(i)
		probs = append(probs, p...)
		o.Items = append(o.Items, item)
		sum += item.Price * item.Quantity
	}
	switch {
	case in.Amount != nil:
		o.Amount = *in.Amount
	case len(in.Items) > 0:
		o.Amount = sum
	case prev != nil:
		o.Amount = prev.Amount
	}
	if o.Amount < 0 {
		probs = append(probs, "amount: must not be negative")
	}
	if jsonSize(in.Metadata) > maxJSONField {
		probs = append(probs, fmt.Sprintf("metadata: at most %d bytes", maxJSONField))
	}
	if prev == nil && in.CreatedAt != nil {
		o.At = *in.CreatedAt
	}
	if c := in.Customer; c != nil {
		o.Customer = customer.OrderCustomer{CustomerID: c.ID, ID: c.SourceID, Email: c.Email, Phone: c.Phone, FirstName: c.Name}
		if len(c.SourceID) > maxSourceID {
			probs = append(probs, fmt.Sprintf("customer.source_id: at most %d characters", maxSourceID))
		}
	}
	if len(probs) > 0 {
		return o, core.KeyedError(core.CodeInvalid, "invalid_order", "%s", strings.Join(probs, "; "))
	}
	if s := string(bytes.TrimSpace(in.Referrer)); in.ReferrerID != nil && *in.ReferrerID != "" || s != "" && s != "null" && s != "{}" {
		return o, core.KeyedError(core.CodeInvalid, keyUnsupported, "referrer: referral programs are not modelled by promorelay")
	}
	return o, nil
}

// toCore maps one order line; a line given by source_id names a product
// unless related_object says sku. Without a price, amount/quantity is the
// unit price.
func (it orderItemInput) toCore(i int) (customer.OrderItem, []string) {
	var probs []string
	out := customer.OrderItem{SKU: it.SKUID, ProductID: it.ProductID, Quantity: 1}
	if it.Quantity != nil {
		out.Quantity = *it.Quantity
	}
	switch {
	case it.Price != nil:
		out.Price = *it.Price
	case it.Amount != nil && out.Quantity > 0 && *it.Amount%out.Quantity == 0:
		out.Price = *it.Amount / out.Quantity
	case it.Amount != nil:
		probs = append(probs, fmt.Sprintf("items[%d]: give price (amount is not a whole multiple of quantity)", i))
	}
	if it.SourceID != "" {
		switch it.RelatedObject {
		case "sku":
			out.SKU = firstNonEmpty(out.SKU, it.SourceID)
		case "", "product":
			out.ProductID = firstNonEmpty(out.ProductID, it.SourceID)
		default:
			probs = append(probs, fmt.Sprintf("items[%d].related_object: product or sku", i))
		}
	}
	if out.Quantity < 0 || out.Price < 0 {
		probs = append(probs, fmt.Sprintf("items[%d]: quantity and price must not be negative", i))
	}
	return out, probs
}

// orderTransition is what a notification moving an order from prev to
// next status says happened ("" prev: the order is new).
func orderTransition(prev, next string) string {
	switch {
	case next == customer.OrderPaid && prev != customer.OrderPaid:
		return customer.OrderPaid
	case next == customer.OrderCanceled && prev != customer.OrderCanceled:
		return customer.OrderCanceled
	case prev == "":
		return customer.OrderCreated
	}
	return customer.OrderUpdated
}

// saveOrder applies an order body to prev, or (prev nil) to the order its
// source_id or id names, creating it when new, as Voucherify's upsert does.
func (a *API) saveOrder(ctx context.Context, p string, in orderInput, prev *audience.Order, delivery string) (audience.Order, error) {
	if prev == nil {
		var err error
		if prev, err = a.findOrder(ctx, p, in); err != nil {
			return audience.Order{}, err
		}
	}
	o, err := in.toCore(prev, a.o.Clock.Now().UTC())
	if err != nil {
		return audience.Order{}, err
	}
	o.DeliveryID = delivery
	saved, _, err := a.o.Audience.ApplyOrder(ctx, p, o)
	return saved, err
}

// findOrder returns the order the body names (nil when its source_id is
// new); an order named by id only must exist.
func (a *API) findOrder(ctx context.Context, p string, in orderInput) (*audience.Order, error) {
	ref := ""
	switch {
	case in.SourceID != nil && *in.SourceID != "":
		ref = *in.SourceID
	case in.ID != "":
		ref = in.ID
	default:
		return nil, nil // toCore refuses it
	}
	o, err := a.o.Audience.GetOrder(ctx, p, ref)
	switch {
	case err == nil:
		return &o, nil
	case errors.Is(err, core.ErrNotFound) && ref != in.ID:
		return nil, nil
	}
	return nil, err
}

func (a *API) createOrder(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in orderInput) (audience.Order, error) {
		return a.saveOrder(ctx, proj(r), in, nil, r.Header.Get("Idempotency-Key"))
	}, nil)
}

func (a *API) updateOrder(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in orderInput) (audience.Order, error) {
		prev, err := a.o.Audience.GetOrder(ctx, proj(r), r.PathValue("orderId"))
		if err != nil {
			return audience.Order{}, err
		}
		return a.saveOrder(ctx, proj(r), in, &prev, r.Header.Get("Idempotency-Key"))
	}, nil)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := a.o.Audience.GetOrder(r.Context(), proj(r), r.PathValue("orderId"))
	serveOne(a, w, r, o, err)
}

// listOrders is GET /v1/orders, newest first.
func (a *API) listOrders(w http.ResponseWriter, r *http.Request) {
	if err := checkOrder(r, "-created_at"); err != nil {
		a.fail(w, r, err)
		return
	}
	serveList(a, w, r, "orders", func(limit int, cursor string) ([]audience.Order, string, error) {
		return a.o.Audience.ListOrders(r.Context(), proj(r), limit, cursor)
	})
}

// importOrders is POST /v1/orders/import: up to maxOrdersImport historical
// orders, each checked before the job starts and applied by it in order.
// Unlike Voucherify's import, applied orders emit their order events.
func (a *API) importOrders(w http.ResponseWriter, r *http.Request) {
	ctx, rows, err := decodeItems[orderInput](a, w, r, "orders")
	if err != nil {
		a.failImport(w, r, err)
		return
	}
	if len(rows) > maxOrdersImport {
		a.fail(w, r, badPayload("an import holds at most %d orders, not %d", maxOrdersImport, len(rows)))
		return
	}
	var probs []promo.ImportProblem
	now := a.o.Clock.Now().UTC()
	for _, rw := range rows {
		// An order is checked as new: whether it exists is known only when
		// the job reaches it.
		if _, err := rw.Value.toCore(nil, now); err != nil {
			probs = append(probs, rw.problem(core.ErrorMessage(err)))
		}
	}
	if len(probs) > 0 {
		a.failImport(w, r, refusedRows("orders", probs))
		return
	}
	// The job outlives the request: it takes the project, not the request.
	p := proj(r)
	startJob(a, w, r, ctx, http.StatusOK, jobOrdersImport, "orders", rows,
		func(ctx context.Context, in orderInput) error {
			_, err := a.saveOrder(ctx, p, in, nil, "")
			return err
		})
}
