package httpapi_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/customer"
)

// The audience routes (audienceRoutes): customers, segments, custom events,
// orders and the event schema. Their customers' source ids start with
// "aud-", so no other part of the scenario names them. Auto-update segments
// are deleted at the end: later parts' customers must not fall into them.

// audienceIDs are the ids the audience steps learn.
type audienceIDs struct {
	frank, grace                       string // customers
	vip, imported, cart, poland, spend string // segments
	order                              string // frank's paid order
}

// unknown ids of each kind, well-formed but never issued.
const (
	unknownCustomer = "cust_01jwx0000000000000000000zz"
	unknownSegment  = "seg_01jwx0000000000000000000zz"
	unknownOrder    = "ord_01jwx0000000000000000000zz"
)

// audience walks the customers, segments, events and orders endpoints.
func (s *scenario) audience() {
	var ids audienceIDs
	s.customers(&ids)
	s.segments(&ids)
	s.customEvents(&ids)
	s.orders(&ids)
	s.customerReads(&ids)
	s.customerBulk(&ids)
	s.audienceCleanup(&ids)
}

// refusedOwn runs a request promorelay refuses with status and its own
// error key (the reference documents none for the case); it must write
// nothing.
func (s *scenario) refusedOwn(name string, status int, key string, rq request) *exchange {
	s.t.Helper()
	return s.do(step{name: name, req: rq, want: status, writes: writesNothing, own: map[string]any{"key": key}})
}

// upload is a multipart/form-data request with the form fields and the
// CSV file, with a fixed boundary so its golden is stable.
func upload(path string, file string, fields ...string) request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary("promorelay-golden-boundary")
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	fw, _ := mw.CreateFormFile("file", "upload.csv")
	_, _ = fw.Write([]byte(file))
	_ = mw.Close()
	return withHeader(request{Method: "POST", Path: path, Auth: authServer, Raw: b.String()},
		"Content-Type", mw.FormDataContentType())
}

func (s *scenario) customers(ids *audienceIDs) {
	ex := s.do(step{name: "customers_create", want: http.StatusOK,
		req: srv("POST", "/v1/customers", obj{
			"source_id": "aud-frank", "name": "Frank Example", "email": "Frank@Example.com", "phone": "+48 600 100 200",
			"birthdate": "1990-04-12", "address": obj{"city": "Warsaw", "country": "Poland", "postal_code": "00-001"},
			"metadata": obj{"tier": "silver"},
		}),
		expect: map[string]any{"source_id": "aud-frank", "name": "Frank Example", "object": "customer",
			"summary.orders.total_count": 0, "summary.orders.total_amount": 0},
		own: map[string]any{"email": "frank@example.com", "segments": []any{}}})
	ids.frank = s.field(ex, "id")
	// Upsert mode: the same source_id answers the same customer, updated.
	s.do(step{name: "customers_create_existing_upserts", want: http.StatusOK,
		req: srv("POST", "/v1/customers", obj{
			"source_id": "aud-frank", "description": "Prefers email", "metadata": obj{"tier": "gold"},
		}),
		expect: map[string]any{"id": ids.frank, "name": "Frank Example", "description": "Prefers email", "metadata.tier": "gold"}})
	frankAt := s.timeField(ex, "created_at")
	s.h.clock.Advance(time.Second) // grace is created after frank
	ex = s.ok("customers_create_second", srv("POST", "/v1/customers", obj{
		"source_id": "aud-grace", "name": "Grace Example", "email": "grace@example.com",
	}))
	ids.grace = s.field(ex, "id")
	graceAt := s.timeField(ex, "created_at")
	s.do(step{name: "customers_get_by_source_id", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-frank", nil),
		expect: map[string]any{"id": ids.frank, "address.city": "Warsaw"},
		own:    map[string]any{"event_counts": map[string]any{}}})
	s.do(step{name: "customers_get_by_id", want: http.StatusOK, req: srv("GET", "/v1/customers/"+ids.frank, nil),
		expect: map[string]any{"source_id": "aud-frank"}})
	s.do(step{name: "customers_update", want: http.StatusOK,
		req:    srv("PUT", "/v1/customers/aud-grace", obj{"phone": "+48 600 300 400", "metadata": obj{"vip": true}}),
		expect: map[string]any{"id": ids.grace, "phone": "+48 600 300 400", "metadata.vip": true, "name": "Grace Example"}})
	// Newest first: grace, then frank, then the customers of the other
	// parts. (The whole list: a page's cursor encodes customer ids, which
	// would make its golden change from run to run.)
	s.do(step{name: "customers_list", want: http.StatusOK, req: srv("GET", "/v1/customers?limit=100", nil),
		expect: map[string]any{"has_more": false, "customers.0.id": ids.grace, "customers.1.id": ids.frank}})
	// Creation-time bounds are exact (a customer created at a bound is
	// outside it); starting_after given as a date is the reference's cursor.
	at := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
	s.do(step{name: "customers_list_created_between", want: http.StatusOK, writes: writesNothing,
		req:    srv("GET", "/v1/customers?created_at[after]="+at(frankAt)+"&created_at[before]="+at(graceAt.Add(time.Microsecond)), nil),
		expect: map[string]any{"total": 1, "has_more": false, "customers.0.id": ids.grace}})
	s.do(step{name: "customers_list_oldest_first", want: http.StatusOK, writes: writesNothing,
		req: srv("GET", "/v1/customers?order=created_at&created_at[after]="+at(frankAt.Add(-time.Microsecond))+
			"&created_at[before]="+at(graceAt.Add(time.Microsecond)), nil),
		expect: map[string]any{"total": 2, "customers.0.id": ids.frank, "customers.1.id": ids.grace}})
	s.do(step{name: "customers_list_date_cursor", want: http.StatusOK, writes: writesNothing,
		req:    srv("GET", "/v1/customers?starting_after="+at(graceAt)+"&created_at[after]="+at(frankAt.Add(-time.Microsecond)), nil),
		expect: map[string]any{"total": 1, "customers.0.id": ids.frank}})
	s.refusedOwn("customers_list_bad_date", http.StatusBadRequest, "invalid_payload",
		srv("GET", "/v1/customers?created_at[after]=yesterday", nil))
	s.refusedOwn("customers_list_updated_at_filter", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/customers?updated_at[after]=2025-01-01T00:00:00Z", nil))
	s.do(step{name: "customers_list_by_email", want: http.StatusOK,
		req:    srv("GET", "/v1/customers?email="+url.QueryEscape("FRANK@example.com"), nil),
		expect: map[string]any{"total": 1, "customers.0.id": ids.frank}})
	s.do(step{name: "customers_list_by_unknown_email", want: http.StatusOK, writes: writesNothing,
		req:    srv("GET", "/v1/customers?email=nobody@example.com", nil),
		expect: map[string]any{"total": 0}})

	s.refusedOwn("customers_list_unsupported_filter", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/customers?city=Warsaw&created_at[after]=2025-01-01T00:00:00Z", nil))
	s.refusedOwn("customers_list_unsupported_order", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/customers?order=source_id", nil))
	s.refused("customers_create_malformed_json", http.StatusBadRequest, "invalid_payload",
		request{Method: "POST", Path: "/v1/customers", Auth: authServer, Raw: `{"source_id": "aud-broken",`})
	s.refused("customers_create_wrong_type", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/customers", obj{"source_id": "aud-broken", "name": 42}))
	s.refusedOwn("customers_create_bad_email", http.StatusBadRequest, "invalid_customer",
		srv("POST", "/v1/customers", obj{"source_id": "aud-broken", "email": "not-an-email"}))
	s.refusedOwn("customers_create_source_id_too_long", http.StatusBadRequest, "invalid_customer",
		srv("POST", "/v1/customers", obj{"source_id": strings.Repeat("x", 201)}))
	s.refusedOwn("customers_create_without_ids", http.StatusBadRequest, "invalid_customer",
		srv("POST", "/v1/customers", obj{"name": "Nobody"}))
	s.refused("customers_get_unknown", http.StatusNotFound, "not_found", srv("GET", "/v1/customers/aud-nobody", nil))
	s.refused("customers_update_unknown", http.StatusNotFound, "not_found",
		srv("PUT", "/v1/customers/"+unknownCustomer, obj{"name": "Ghost"}))
	s.refused("customers_other_project", http.StatusNotFound, "not_found",
		withAuth(srv("GET", "/v1/customers/aud-frank", nil), authOther))
}

func (s *scenario) segments(ids *audienceIDs) {
	ex := s.do(step{name: "segments_create_static", want: http.StatusOK,
		req: srv("POST", "/v1/segments", obj{"name": "VIP", "type": "static", "customers": []any{ids.frank, "aud-grace"}}),
		expect: map[string]any{"name": "VIP", "type": "static", "object": "segment", "filter": nil,
			"initial_sync_status": "DONE"}})
	ids.vip = s.field(ex, "id")
	// An auto-update segment answers at once; existing customers are
	// brought in by a backfill in the background, awaited here.
	auto := func(name, stepName string, filter obj) string {
		ex := s.do(step{name: stepName, want: http.StatusOK,
			req:    srv("POST", "/v1/segments", obj{"name": name, "type": "auto-update", "filter": filter}),
			expect: map[string]any{"name": name, "type": "auto-update", "initial_sync_status": "IN_PROGRESS"},
			own:    map[string]any{"backfill.status": "IN_PROGRESS"}})
		s.h.app.Audience.Backfills.Wait()
		return s.field(ex, "id")
	}
	ids.poland = auto("In Poland", "segments_create_auto", obj{
		"junction": "and", "address.country": obj{"conditions": obj{"$is": "Poland"}}})
	ids.cart = auto("Cart abandoners", "segments_create_auto_by_event", obj{
		"junction": "and", "events.cart_abandoned.count": obj{"conditions": obj{"$more_than_equal": []any{1}}}})
	ids.spend = auto("Big spenders", "segments_create_auto_by_orders", obj{
		"junction": "and", "orders.total_amount": obj{"conditions": obj{"$more_than_equal": []any{5000}}}})
	ex = s.do(step{name: "segments_import_csv", want: http.StatusOK,
		req:    upload("/v1/segments/importCSV", "source_id,note\naud-frank,first\n\naud-grace,second\n", "name", "Imported"),
		expect: map[string]any{"name": "Imported", "type": "static"}})
	ids.imported = s.field(ex, "id")

	s.do(step{name: "segments_get", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.vip, nil),
		expect: map[string]any{"id": ids.vip, "type": "static"}})
	s.do(step{name: "segments_get_auto_synced", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.poland, nil),
		expect: map[string]any{"initial_sync_status": "DONE", "filter.junction": "and"}})
	// Frank was the one customer in Poland when the segment was made.
	s.do(step{name: "segments_backfill", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.poland+"/backfill", nil),
		own: map[string]any{"status": "DONE", "progress": 100, "entered": 1, "segment_id": ids.poland}})
	s.do(step{name: "segments_list", want: http.StatusOK, req: srv("GET", "/v1/segments", nil),
		own: map[string]any{"total": 5, "segments.0.id": ids.vip, "segments.4.id": ids.imported}})
	s.do(step{name: "segments_customers", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.vip+"/customers", nil),
		own: map[string]any{"total": 2, "data.0.id": ids.frank, "data.1.id": ids.grace}})
	s.do(step{name: "segments_customers_auto", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.poland+"/customers", nil),
		own: map[string]any{"total": 1, "data.0.id": ids.frank}})
	// promorelay's PUT: a rename keeps the members; a new filter re-evaluates
	// every customer in the background (frank leaves, then comes back).
	s.do(step{name: "segments_update_rename", want: http.StatusOK,
		req:    srv("PUT", "/v1/segments/"+ids.poland, obj{"name": "Polish customers"}),
		expect: map[string]any{"id": ids.poland, "name": "Polish customers", "type": "auto-update"},
		own:    map[string]any{"backfill.status": "DONE", "backfill.entered": 1}})
	s.do(step{name: "segments_update_filter", want: http.StatusOK,
		req:    srv("PUT", "/v1/segments/"+ids.poland, obj{"filter": obj{"address.country": obj{"conditions": obj{"$is": "Germany"}}}}),
		expect: map[string]any{"initial_sync_status": "IN_PROGRESS"},
		own:    map[string]any{"backfill.status": "IN_PROGRESS"}})
	s.h.app.Audience.Backfills.Wait()
	s.do(step{name: "segments_backfill_after_update", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.poland+"/backfill", nil),
		own: map[string]any{"status": "DONE", "entered": 0, "left": 1}})
	s.do(step{name: "segments_update_back", want: http.StatusOK,
		req: srv("PUT", "/v1/segments/"+ids.poland, obj{"name": "In Poland",
			"filter": obj{"junction": "and", "address.country": obj{"conditions": obj{"$is": "Poland"}}}}),
		expect: map[string]any{"name": "In Poland"}})
	s.h.app.Audience.Backfills.Wait()
	s.do(step{name: "segments_customers_after_update", want: http.StatusOK, req: srv("GET", "/v1/segments/"+ids.poland+"/customers", nil),
		own: map[string]any{"total": 1, "data.0.id": ids.frank}})
	s.refusedOwn("segments_update_static_filter", http.StatusBadRequest, "invalid_segment",
		srv("PUT", "/v1/segments/"+ids.vip, obj{"filter": obj{"address.country": obj{"conditions": obj{"$is": "Poland"}}}}))
	s.refusedOwn("segments_update_nothing", http.StatusBadRequest, "invalid_segment", srv("PUT", "/v1/segments/"+ids.poland, obj{}))
	s.refusedOwn("segments_update_bad_filter", http.StatusBadRequest, "invalid_segment_filter",
		srv("PUT", "/v1/segments/"+ids.poland, obj{"filter": obj{"address.country": obj{"conditions": obj{"$bogus": 1}}}}))
	s.refused("segments_update_unknown", http.StatusNotFound, "not_found",
		srv("PUT", "/v1/segments/"+unknownSegment, obj{"name": "Ghost"}))
	s.do(step{name: "customers_list_by_segment", want: http.StatusOK,
		req:    srv("GET", "/v1/customers?segment_id="+ids.vip, nil),
		expect: map[string]any{"total": 2, "customers.0.id": ids.frank, "customers.1.id": ids.grace}})
	s.do(step{name: "customers_segments", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-frank/segments", nil),
		expect: map[string]any{"total": 3}})

	s.refusedOwn("segments_create_invalid_filter", http.StatusBadRequest, "invalid_segment_filter",
		srv("POST", "/v1/segments", obj{"name": "Broken", "type": "auto-update",
			"filter": obj{"junction": "and", "shoe_size": obj{"conditions": obj{"$is": 42}}}}))
	s.refusedOwn("segments_create_filter_wrong_type", http.StatusBadRequest, "invalid_segment_filter",
		srv("POST", "/v1/segments", obj{"name": "Broken", "type": "auto-update",
			"filter": obj{"orders.total_amount": obj{"conditions": obj{"$more_than": "lots"}}}}))
	s.refusedOwn("segments_create_bad_type", http.StatusBadRequest, "invalid_segment",
		srv("POST", "/v1/segments", obj{"name": "Broken", "type": "dynamic"}))
	s.refusedOwn("segments_create_static_unknown_customer", http.StatusNotFound, "customer_not_found",
		srv("POST", "/v1/segments", obj{"name": "Ghosts", "type": "static", "customers": []any{ids.frank, "aud-nobody"}}))
	s.refused("segments_get_unknown", http.StatusNotFound, "not_found", srv("GET", "/v1/segments/"+unknownSegment, nil))
	s.refused("segments_backfill_static", http.StatusNotFound, "not_found", srv("GET", "/v1/segments/"+ids.vip+"/backfill", nil))
	s.refused("segments_import_csv_no_id_column", http.StatusBadRequest, "invalid_payload",
		upload("/v1/segments/importCSV", "email\nfrank@example.com\n", "name", "By email"))
	s.refusedOwn("segments_import_csv_unknown_customer", http.StatusNotFound, "customer_not_found",
		upload("/v1/segments/importCSV", "id\n"+unknownCustomer+"\n", "name", "Ghosts"))
}

func (s *scenario) customEvents(ids *audienceIDs) {
	track := withHeader(srv("POST", "/v1/events", obj{
		"event": "cart_abandoned", "customer": obj{"source_id": "aud-frank"},
		"metadata": obj{"cart_value": 12000, "sku": "tee"},
	}), "Idempotency-Key", "aud-event-1")
	s.do(step{name: "events_track", want: http.StatusOK, req: track,
		expect: map[string]any{"object": "event", "type": "cart_abandoned", "customer.id": ids.frank,
			"customer.object": "customer", "referral": nil, "loyalty": nil, "metadata.sku": "tee"}})
	// The retry of the same call is counted once (customers_get_event_counts).
	s.do(step{name: "events_track_retry", want: http.StatusOK, writes: writesNothing, req: track,
		expect: map[string]any{"type": "cart_abandoned", "customer.id": ids.frank}})
	s.do(step{name: "events_track_by_id", want: http.StatusOK,
		req:    srv("POST", "/v1/events", obj{"event": "wishlist_added", "customer": obj{"id": ids.grace}}),
		expect: map[string]any{"customer.id": ids.grace, "metadata": map[string]any{}}})
	// A new customer is created, with the fields the event gives.
	s.do(step{name: "events_track_new_customer", want: http.StatusOK,
		req: srv("POST", "/v1/events", obj{"event": "signed_up",
			"customer": obj{"source_id": "aud-heidi", "name": "Heidi Example", "email": "heidi@example.com"}}),
		expect: map[string]any{"customer.source_id": "aud-heidi", "customer.name": "Heidi Example",
			"customer.email": "heidi@example.com"}})
	s.do(step{name: "segments_customers_after_event", want: http.StatusOK,
		req: srv("GET", "/v1/segments/"+ids.cart+"/customers", nil),
		own: map[string]any{"total": 1, "data.0.id": ids.frank}})
	s.do(step{name: "customers_get_event_counts", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-frank", nil),
		own: map[string]any{"event_counts.cart_abandoned.count": 1}})

	s.refused("events_unknown_customer", http.StatusNotFound, "not_found",
		srv("POST", "/v1/events", obj{"event": "cart_abandoned", "customer": obj{"id": unknownCustomer}}))
	s.refused("events_without_event", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/events", obj{"customer": obj{"source_id": "aud-frank"}}))
	s.refused("events_without_customer", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/events", obj{"event": "cart_abandoned"}))
	s.refused("events_name_too_long", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/events", obj{"event": strings.Repeat("e", 201), "customer": obj{"source_id": "aud-frank"}}))
	s.refused("events_customer_bad_email", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/events", obj{"event": "signed_up", "customer": obj{"source_id": "aud-ivan", "email": "ivan"}}))
	s.refused("events_metadata_wrong_type", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/events", obj{"event": "cart_abandoned", "customer": obj{"source_id": "aud-frank"}, "metadata": "big"}))
	s.refusedOwn("events_referral_unsupported", http.StatusBadRequest, "unsupported_parameter",
		srv("POST", "/v1/events", obj{"event": "signed_up", "customer": obj{"source_id": "aud-ivan"},
			"referral": obj{"code": "REF-1"}}))

	if err := s.h.app.Audience.FlushSchema(context.Background()); err != nil {
		s.t.Fatalf("flush event schema: %v", err)
	}
	s.do(step{name: "schema_list", want: http.StatusOK, req: srv("GET", "/v1/event-schema", nil),
		own: map[string]any{"total": 3, "data.0.name": "cart_abandoned", "data.0.count": 1,
			"data.0.properties.cart_value.0": "number", "data.0.properties.sku.0": "string"}})
}

func (s *scenario) orders(ids *audienceIDs) {
	create := withHeader(srv("POST", "/v1/orders", obj{
		"source_id": "aud-order-1", "status": "PAID", "amount": 12000,
		"items":    []any{obj{"sku_id": "sku_tee", "product_id": "prod_tee", "quantity": 2, "price": 6000}},
		"customer": obj{"source_id": "aud-frank"}, "metadata": obj{"channel": "web"},
	}), "Idempotency-Key", "aud-order-1-paid")
	ex := s.do(step{name: "orders_create_paid", want: http.StatusOK, req: create,
		expect: map[string]any{"source_id": "aud-order-1", "status": "PAID", "amount": 12000, "object": "order",
			"customer_id": ids.frank, "items.0.amount": 12000, "metadata.channel": "web"}})
	ids.order = s.field(ex, "id")
	s.do(step{name: "orders_create_retry", want: http.StatusOK, writes: writesNothing, req: create,
		expect: map[string]any{"id": ids.order}})
	// Without an amount, the order's is the sum of its items'.
	s.do(step{name: "orders_create", want: http.StatusOK,
		req: srv("POST", "/v1/orders", obj{
			"source_id": "aud-order-2",
			"items":     []any{obj{"source_id": "mug", "related_object": "product", "quantity": 1, "price": 2500}},
			"customer":  obj{"source_id": "aud-grace"},
		}),
		expect: map[string]any{"status": "CREATED", "amount": 2500, "customer_id": ids.grace, "items.0.product_id": "mug"}})
	s.do(step{name: "orders_update", want: http.StatusOK, req: srv("PUT", "/v1/orders/aud-order-2", obj{"status": "PAID"}),
		expect: map[string]any{"source_id": "aud-order-2", "status": "PAID", "amount": 2500}})
	s.do(step{name: "orders_get", want: http.StatusOK, req: srv("GET", "/v1/orders/"+ids.order, nil),
		expect: map[string]any{"id": ids.order, "source_id": "aud-order-1"}})
	s.do(step{name: "orders_get_by_source_id", want: http.StatusOK, req: srv("GET", "/v1/orders/aud-order-1", nil),
		expect: map[string]any{"id": ids.order}})
	s.do(step{name: "orders_list", want: http.StatusOK, req: srv("GET", "/v1/orders?limit=2", nil),
		expect: map[string]any{"total": 2, "orders.0.source_id": "aud-order-2", "orders.1.source_id": "aud-order-1"}})
	// Frank's paid order is in his summary, and put him in Big spenders.
	s.do(step{name: "customers_get_order_summary", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-frank", nil),
		expect: map[string]any{"summary.orders.total_amount": 12000, "summary.orders.total_count": 1,
			"summary.orders.average_amount": 12000, "summary.orders.last_order_amount": 12000},
		own: map[string]any{"summary.orders.skus.sku_tee.quantity": 2}})

	// Imported orders: grace's paid one (dated before her other) adds to
	// her aggregates; the canceled one has no customer.
	ex = s.started(step{name: "orders_import", want: http.StatusOK,
		req: srv("POST", "/v1/orders/import", []any{
			obj{"source_id": "aud-order-3", "status": "PAID", "amount": 3000, "customer": obj{"source_id": "aud-grace"},
				"created_at": "2025-05-01T12:00:00Z"},
			obj{"source_id": "aud-order-4", "status": "CANCELED", "amount": 1000},
		})})
	s.do(step{name: "orders_import_async_action", want: http.StatusOK,
		req: srv("GET", "/v1/async-actions/"+s.field(ex, "async_action_id"), nil),
		own: map[string]any{"status": "DONE", "type": "ORDERS.IMPORT", "result.done_count": 2}})
	s.do(step{name: "customers_get_after_order_import", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-grace", nil),
		expect: map[string]any{"summary.orders.total_amount": 5500, "summary.orders.total_count": 2,
			"summary.orders.last_order_amount": 2500}})
	s.do(step{name: "segments_customers_after_orders", want: http.StatusOK,
		req: srv("GET", "/v1/segments/"+ids.spend+"/customers", nil),
		own: map[string]any{"total": 2, "data.0.id": ids.frank, "data.1.id": ids.grace}})

	s.refusedOwn("orders_create_bad_status", http.StatusBadRequest, "invalid_order",
		srv("POST", "/v1/orders", obj{"source_id": "aud-order-x", "status": "SHIPPED", "amount": 100}))
	s.refusedOwn("orders_create_negative_amount", http.StatusBadRequest, "invalid_order",
		srv("POST", "/v1/orders", obj{"source_id": "aud-order-x", "amount": -100}))
	s.refusedOwn("orders_create_without_source_id", http.StatusBadRequest, "invalid_order",
		srv("POST", "/v1/orders", obj{"amount": 100}))
	s.refused("orders_create_wrong_type", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/orders", obj{"source_id": "aud-order-x", "amount": "100.00"}))
	s.refused("orders_create_unknown_customer", http.StatusNotFound, "not_found",
		srv("POST", "/v1/orders", obj{"source_id": "aud-order-x", "amount": 100, "customer": obj{"id": unknownCustomer}}))
	s.refused("orders_get_unknown", http.StatusNotFound, "not_found", srv("GET", "/v1/orders/"+unknownOrder, nil))
	s.refused("orders_update_unknown", http.StatusNotFound, "not_found",
		srv("PUT", "/v1/orders/aud-order-nope", obj{"status": "PAID"}))
	s.refused("orders_import_bad_order", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/orders/import", []any{
			obj{"source_id": "aud-order-5", "status": "PAID", "amount": 100},
			obj{"status": "PAID", "amount": 100},
		}))
	s.refusedOwn("orders_list_unsupported_order", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/orders?order=updated_at", nil))
}

// customerReads reads what the steps before did to frank: his activity,
// and the code published to him.
func (s *scenario) customerReads(ids *audienceIDs) {
	// Newest first; every entry has the scenario's one time, and the
	// event's occurrence sorts first.
	ex := s.do(step{name: "customers_activity", want: http.StatusOK,
		req:    srv("GET", "/v1/customers/aud-frank/activity?limit=3", nil),
		expect: map[string]any{"object": "list", "data_ref": "data", "has_more": true},
		own:    map[string]any{"data.0.type": "customer.custom_event", "data.0.data.event": "cart_abandoned"}})
	s.do(step{name: "customers_activity_next_page", want: http.StatusOK,
		req: srv("GET", "/v1/customers/aud-frank/activity?limit=3&starting_after_id="+url.QueryEscape(s.field(ex, "data", 2, "id")), nil)})
	s.do(step{name: "customers_activities_by_type", want: http.StatusOK,
		req:    srv("GET", "/v1/customers/"+ids.frank+"/activities?type=customer.order.paid", nil),
		expect: map[string]any{"total": 1, "data.0.type": "customer.order.paid"}})
	s.do(step{name: "customers_activity_before_start", want: http.StatusOK,
		req:    srv("GET", "/v1/customers/aud-frank/activity?end_date=2025-06-01T00:00:00Z", nil),
		expect: map[string]any{"has_more": false, "data": []any{}}})
	s.refusedOwn("customers_activity_unsupported_filter", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/customers/aud-frank/activity?campaign_type=PROMOTION", nil))
	s.refusedOwn("customers_activity_oldest_first", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/customers/aud-frank/activity?order=created_at", nil))
	s.refused("customers_activity_bad_date", http.StatusBadRequest, "invalid_payload",
		srv("GET", "/v1/customers/aud-frank/activity?start_date=yesterday", nil))
	s.refused("customers_activity_unknown", http.StatusNotFound, "not_found",
		srv("GET", "/v1/customers/aud-nobody/activity", nil))

	s.ok("customers_redeemable_voucher", srv("POST", "/v1/vouchers/AUD-WELCOME", obj{
		"type": "DISCOUNT_VOUCHER", "discount": obj{"type": "AMOUNT", "amount_off": 500},
	}))
	s.ok("customers_redeemable_publication", srv("POST", "/v1/publications", obj{
		"voucher": "AUD-WELCOME", "customer": obj{"source_id": "aud-frank"},
	}))
	s.do(step{name: "customers_redeemables", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-frank/redeemables", nil),
		expect: map[string]any{"total": 1, "has_more": false, "data.0.customer_id": ids.frank, "data.0.holder_role": "OWNER",
			"data.0.redeemable_object": "voucher", "data.0.voucher_type": "DISCOUNT_VOUCHER", "data.0.campaign_id": nil,
			"data.0.redeemable.type": "voucher", "data.0.redeemable.status": "ACTIVE",
			"data.0.redeemable.voucher.code": "AUD-WELCOME"}})
	s.refusedOwn("customers_redeemables_filtered", http.StatusBadRequest, "unsupported_parameter",
		srv("GET", "/v1/customers/aud-frank/redeemables?filters[junction]=and", nil))
	s.refused("customers_segments_unknown", http.StatusNotFound, "not_found",
		srv("GET", "/v1/customers/aud-nobody/segments", nil))
}

// customerBulk imports, updates and deletes customers in bulk.
func (s *scenario) customerBulk(ids *audienceIDs) {
	// Ivan is new (and in Poland); Judy's email is refused; Frank's row
	// adds a metadata key (a column that is no customer field).
	csv := "Source_id,Name,Email,Address_City,Address_Country,Loyalty_tier\n" +
		"aud-ivan,Ivan Example,ivan@example.com,Krakow,Poland,bronze\n" +
		"aud-judy,Judy Example,not-an-email,,,\n" +
		"aud-frank,,,,,gold\n"
	ex := s.started(step{name: "customers_import_csv", want: http.StatusAccepted, req: upload("/v1/customers/importCSV", csv)})
	s.do(step{name: "customers_import_csv_async_action", want: http.StatusOK,
		req: srv("GET", "/v1/async-actions/"+s.field(ex, "async_action_id"), nil),
		own: map[string]any{"status": "DONE", "type": "CUSTOMERS.IMPORT_CSV", "result.done_count": 2,
			"result.failed_count": 1, "result.failed.0.line": 3}})
	s.do(step{name: "customers_get_imported", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-ivan", nil),
		expect: map[string]any{"name": "Ivan Example", "address.country": "Poland", "metadata.Loyalty_tier": "bronze"},
		own:    map[string]any{"segments.0": ids.poland}})
	s.refused("customers_import_csv_space_in_header", http.StatusBadRequest, "invalid_payload",
		upload("/v1/customers/importCSV", "Source id,Name\naud-kate,Kate\n"))
	s.refused("customers_import_csv_without_source_id", http.StatusBadRequest, "invalid_payload",
		upload("/v1/customers/importCSV", "Name,Email\nKate,kate@example.com\n"))
	s.refused("customers_import_csv_not_multipart", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/customers/importCSV", obj{"file": "Source_id\naud-kate\n"}))

	s.started(step{name: "customers_bulk_update", want: http.StatusAccepted,
		req: srv("POST", "/v1/customers/bulk/async", []any{
			obj{"source_id": "aud-ken", "name": "Ken Example"},
			obj{"source_id": "aud-grace", "metadata": obj{"bulk": true}},
		})})
	s.refused("customers_bulk_update_without_source_id", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/customers/bulk/async", []any{obj{"source_id": "aud-ken"}, obj{"name": "Nobody"}}))
	s.refused("customers_bulk_update_not_array", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/customers/bulk/async", obj{"source_id": "aud-ken"}))
	s.started(step{name: "customers_metadata_update", want: http.StatusAccepted,
		req: srv("POST", "/v1/customers/metadata/async", obj{
			"source_ids": []any{"aud-ken", "aud-leo"}, "metadata": obj{"newsletter": true},
		})})
	s.refused("customers_metadata_update_without_ids", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/customers/metadata/async", obj{"source_ids": []any{}, "metadata": obj{"newsletter": true}}))
	s.do(step{name: "customers_get_bulk_updated", want: http.StatusOK, req: srv("GET", "/v1/customers/aud-ken", nil),
		expect: map[string]any{"name": "Ken Example", "metadata.newsletter": true}})

	s.do(step{name: "customers_delete", want: http.StatusNoContent, req: srv("DELETE", "/v1/customers/aud-leo", nil)})
	s.refused("customers_get_deleted", http.StatusNotFound, "not_found", srv("GET", "/v1/customers/aud-leo", nil))
	s.refused("customers_delete_unknown", http.StatusNotFound, "not_found", srv("DELETE", "/v1/customers/aud-leo", nil))
	s.do(step{name: "customers_permanent_deletion", want: http.StatusOK,
		req: srv("POST", "/v1/customers/aud-ken/permanent-deletion", nil),
		expect: map[string]any{"related_object": "customer", "status": "DONE", "object": "pernament_deletion",
			"data_json.customer": 1}})
	s.refused("customers_permanent_deletion_unknown", http.StatusNotFound, "not_found",
		srv("POST", "/v1/customers/aud-ken/permanent-deletion", nil))
}

// audienceCleanup deletes the scenario's segments, so that the customers
// of later parts fall into none of them.
func (s *scenario) audienceCleanup(ids *audienceIDs) {
	s.do(step{name: "segments_delete", want: http.StatusNoContent, req: srv("DELETE", "/v1/segments/"+ids.imported, nil)})
	s.refused("segments_get_deleted", http.StatusNotFound, "not_found", srv("GET", "/v1/segments/"+ids.imported, nil))
	s.refused("segments_delete_unknown", http.StatusNotFound, "not_found", srv("DELETE", "/v1/segments/"+ids.imported, nil))
	for _, seg := range []struct{ name, id string }{
		{"static", ids.vip}, {"auto", ids.poland}, {"auto_by_event", ids.cart}, {"auto_by_orders", ids.spend},
	} {
		s.do(step{name: "segments_delete_" + seg.name, want: http.StatusNoContent, req: srv("DELETE", "/v1/segments/"+seg.id, nil)})
	}
	s.do(step{name: "segments_list_after_delete", want: http.StatusOK, req: srv("GET", "/v1/segments", nil),
		own: map[string]any{"total": 0}})
}

// snapshotAudience adds the audience state to a no-write snapshot: every
// customer with its event counters and activity, every segment with its
// members, every order, and the async actions' ids (a refused bulk
// request must start no job).
func (h *harness) snapshotAudience(tb testing.TB, out map[string]any) {
	tb.Helper()
	ctx := context.Background()
	p := h.keys.ProjectID
	aud := h.app.Audience
	var custs []customer.Profile
	for cursor := ""; ; {
		page, next, err := aud.ListCustomers(ctx, p, audience.CustomerRange{}, 100, cursor)
		if err != nil {
			tb.Fatalf("snapshot: list customers: %v", err)
		}
		custs = append(custs, page...)
		if cursor = next; cursor == "" {
			break
		}
	}
	out["audience customers"] = custs
	for _, c := range custs {
		counts, err := aud.EventCounts(ctx, p, c.ID)
		if err != nil {
			tb.Fatalf("snapshot: event counts of %s: %v", c.ID, err)
		}
		out["event counts of "+c.ID] = counts
		acts, err := aud.Activity(ctx, p, c.ID, audience.ActivityFilter{Limit: audience.MaxActivity})
		if err != nil {
			tb.Fatalf("snapshot: activity of %s: %v", c.ID, err)
		}
		out["activity of "+c.ID] = acts
	}
	segs, _, err := aud.ListSegments(ctx, p, 100, "")
	if err != nil {
		tb.Fatalf("snapshot: list segments: %v", err)
	}
	out["segments"] = segs
	for _, seg := range segs {
		var members []string
		for cursor := ""; ; {
			page, next, err := aud.Members(ctx, p, seg.ID, 100, cursor)
			if err != nil {
				tb.Fatalf("snapshot: members of %s: %v", seg.ID, err)
			}
			members = append(members, page...)
			if cursor = next; cursor == "" {
				break
			}
		}
		out["members of "+seg.ID] = members
	}
	var orders []audience.Order
	for cursor := ""; ; {
		page, next, err := aud.ListOrders(ctx, p, 100, cursor)
		if err != nil {
			tb.Fatalf("snapshot: list orders: %v", err)
		}
		orders = append(orders, page...)
		if cursor = next; cursor == "" {
			break
		}
	}
	out["orders"] = orders
	var jobs []string
	for cursor := ""; ; {
		page, next, err := h.app.Promo.ListJobs(ctx, p, 100, cursor)
		if err != nil {
			tb.Fatalf("snapshot: list async actions: %v", err)
		}
		for _, j := range page {
			jobs = append(jobs, j.ID+" "+j.Type)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	out["async actions"] = jobs
}
