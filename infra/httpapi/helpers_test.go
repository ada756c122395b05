package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/infra/embedded"
	"github.com/promorelay/promorelay/internal/app"
)

// epoch is the harness clock's time: a Monday inside every validity window
// the scenario sets.
var epoch = time.Date(2025, time.June, 2, 10, 0, 0, 0, time.UTC)

const (
	adminToken    = "golden-admin-token"
	allowedOrigin = "https://shop.example"
)

// coveredRoutes are the routes the HTTP adapter registers (promoRoutes,
// insightRoutes, /healthz and the admin keys endpoint). The scenario must
// reach each of them with a successful request; the contract test checks that
// it does, and TestRoutesCovered that this list holds every route the
// adapter's source registers.
var coveredRoutes = []string{
	"PUT /admin/v1/projects/{name}/secrets",
	"POST /v1/batch",
	"POST /v1/import",
	"POST /v1/identify",
	"POST /v1/track",
	"POST /v1/page",
	"POST /v1/screen",
	"POST /v1/group",
	"POST /v1/alias",
	"POST /inbound/{projectId}/segment",
	"POST /inbound/{projectId}/shopify",
	"POST /inbound/{projectId}/woocommerce",
	"POST /inbound/{projectId}/orders",
	"GET /healthz",
	"POST /admin/v1/projects/{name}/keys",
	"PUT /admin/v1/projects/{name}/settings",

	"POST /v1/vouchers",
	"GET /v1/vouchers",
	"POST /v1/vouchers/{code}",
	"GET /v1/vouchers/{code}",
	"PUT /v1/vouchers/{code}",
	"DELETE /v1/vouchers/{code}",
	"POST /v1/vouchers/{code}/enable",
	"POST /v1/vouchers/{code}/disable",
	"POST /v1/vouchers/{code}/balance",
	"POST /v1/vouchers/{code}/validate",
	"POST /v1/vouchers/{code}/redemption",
	"GET /v1/vouchers/{code}/redemption",

	"POST /v1/campaigns",
	"GET /v1/campaigns",
	"GET /v1/campaigns/{campaignId}",
	"PUT /v1/campaigns/{campaignId}",
	"DELETE /v1/campaigns/{campaignId}",
	"POST /v1/campaigns/{campaignId}/enable",
	"POST /v1/campaigns/{campaignId}/disable",
	"POST /v1/campaigns/{campaignId}/vouchers",
	"POST /v1/campaigns/{campaignId}/vouchers/{code}",

	"POST /v1/publications",
	"GET /v1/publications/create",

	"POST /v1/validations",
	"POST /v1/redemptions",
	"GET /v1/redemptions",
	"GET /v1/redemptions/{redemptionId}",
	"POST /v1/redemptions/{redemptionId}/rollback",
	"POST /v1/redemptions/{redemptionId}/rollbacks",

	"POST /client/v1/validations",
	"POST /client/v1/redemptions",
	"GET /client/v1/validate",
	"POST /client/v1/redeem",
	"POST /client/v1/publish",
	"OPTIONS /client/v1/",

	"POST /v1/qualifications",
	"POST /client/v1/qualifications",
	"GET /v1/publications",
	"GET /v1/campaigns/{campaignId}/summary",
	"GET /v1/campaigns/{campaignId}/transactions",
	"GET /v1/vouchers/{code}/transactions",
	"DELETE /v1/vouchers/{code}/sessions/{sessionKey}",

	"POST /v1/validation-rules",
	"GET /v1/validation-rules",
	"GET /v1/validation-rules/{id}",
	"PUT /v1/validation-rules/{id}",
	"DELETE /v1/validation-rules/{id}",
	"GET /v1/validation-rules/{id}/assignments",
	"POST /v1/validation-rules/{id}/assignments",
	"DELETE /v1/validation-rules/{id}/assignments/{assignmentId}",
	"GET /v1/validation-rules-assignments",

	"POST /v1/vouchers/import",
	"POST /v1/vouchers/importCSV",
	"POST /v1/campaigns/{campaignId}/import",
	"POST /v1/campaigns/{campaignId}/importCSV",
	"GET /v1/async-actions",
	"GET /v1/async-actions/{asyncActionId}",

	"GET /v1/customers",
	"POST /v1/customers",
	"GET /v1/customers/{customerId}",
	"PUT /v1/customers/{customerId}",
	"DELETE /v1/customers/{customerId}",
	"POST /v1/customers/{customerId}/permanent-deletion",
	"POST /v1/customers/importCSV",
	"POST /v1/customers/bulk/async",
	"POST /v1/customers/metadata/async",
	"GET /v1/customers/{customerId}/activity",
	"GET /v1/customers/{customerId}/activities",
	"GET /v1/customers/{customerId}/segments",
	"GET /v1/customers/{customerId}/redeemables",
	"POST /v1/segments",
	"GET /v1/segments",
	"POST /v1/segments/importCSV",
	"GET /v1/segments/{segmentId}",
	"DELETE /v1/segments/{segmentId}",
	"PUT /v1/segments/{segmentId}",
	"GET /v1/segments/{segmentId}/customers",
	"GET /v1/segments/{segmentId}/backfill",
	"POST /v1/events",
	"GET /v1/event-schema",
	"GET /v1/orders",
	"POST /v1/orders",
	"POST /v1/orders/import",
	"POST /v1/orders/export",
	"POST /v1/exports",
	"GET /v1/exports",
	"GET /v1/exports/{exportId}",
	"DELETE /v1/exports/{exportId}",
	"GET /v1/exports/{exportId}/download",
	"GET /v1/orders/{orderId}",
	"PUT /v1/orders/{orderId}",
}

// routeMux matches a request to its covered route pattern, the way the
// adapter's own ServeMux does.
var routeMux = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range coveredRoutes {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	return mux
}()

// routeOf returns the covered route pattern of method and target ("" when
// none matches).
func routeOf(method, target string) string {
	r, err := http.NewRequest(method, "http://golden"+target, nil)
	if err != nil {
		return ""
	}
	_, pattern := routeMux.Handler(r)
	return pattern
}

// auth is the credentials a request carries.
type auth int

const (
	authNone     auth = iota
	authServer        // the scenario project's server key
	authClient        // the scenario project's client key
	authOther         // the server key of a second project
	authBadToken      // the scenario project's server app id with a wrong token
	authAdmin         // the admin token
)

func (a auth) String() string {
	if name, ok := inboundAuthNames[a]; ok {
		return name
	}
	return [...]string{"none", "server", "client", "other-project", "bad-token", "admin"}[a]
}

// obj is a JSON object in request bodies.
type obj = map[string]any

// harness serves the real handler tree over the embedded engine with a
// stopped clock.
type harness struct {
	app   *app.App
	srv   *httptest.Server
	clock *core.ManualClock
	keys  project.Keys // the project the scenario works in
	other project.Keys // a second project that must see none of it
}

func mustHarness(tb testing.TB) *harness {
	tb.Helper()
	clock := core.NewManualClock(epoch)
	store, err := embedded.Open(embedded.Config{Dir: tb.TempDir(), Clock: clock, SweepEvery: -1})
	if err != nil {
		tb.Fatalf("open embedded store: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	a := app.New(store, clock)
	// Imports and code generation run as jobs; steps that start one wait
	// for it (closed before the store: cleanups run last-in first-out).
	a.Promo.Jobs = promo.NewJobRunner()
	tb.Cleanup(func() { _ = a.Promo.Jobs.Close() })
	srv := httptest.NewServer(a.Handler(app.HTTPOptions{Engine: "embedded", AdminToken: adminToken}))
	tb.Cleanup(srv.Close)
	h := &harness{app: a, srv: srv, clock: clock}
	ctx := context.Background()
	if h.keys, err = a.Projects.CreateKeys(ctx, "shop"); err != nil {
		tb.Fatalf("create keys: %v", err)
	}
	if h.other, err = a.Projects.CreateKeys(ctx, "other-shop"); err != nil {
		tb.Fatalf("create keys: %v", err)
	}
	return h
}

// request is one HTTP call of the scenario.
type request struct {
	Method string
	Path   string // with query
	Auth   auth
	Header map[string]string
	Body   any    // sent as JSON when non-nil
	Raw    string // sent as is when non-empty (malformed or oversized bodies)
	// RawNote replaces Raw in the golden file (for bodies too big to keep).
	RawNote string
}

func (rq request) payload() ([]byte, error) {
	switch {
	case rq.Raw != "":
		return []byte(rq.Raw), nil
	case rq.Body != nil:
		return json.Marshal(rq.Body)
	}
	return nil, nil
}

// writes says what a request may change.
type writes int

const (
	writesAnything         writes = iota
	writesNothing                 // refused or replayed: state must not change
	writesFailedRedemption        // a refused redemption is recorded (as Voucherify does); nothing else changes
)

// step is one request of the scenario and what the reference says of it.
type step struct {
	name string
	req  request
	// want is the status the reference documents for this request.
	want int
	// refKey is the error key the reference documents for this case.
	refKey string
	// refShape overrides the route's response shape.
	refShape *shape
	// sortList names a list array whose order the golden ignores (codes are
	// random, and lists are ordered by their hash).
	sortList string
	writes   writes
	// expect holds values the reference fixes for this request, by dotted
	// path into the response body (numbers index arrays).
	expect map[string]any
	// own holds values promorelay's own contract fixes where the reference
	// says nothing (its additions), by the same paths; mentions are texts
	// the response body must contain.
	own      map[string]any
	mentions []string
}

// exchange is a step with its response.
type exchange struct {
	step
	Route  string
	Sent   []byte
	Status int
	Header http.Header
	Body   []byte
	JSON   any // decoded with UseNumber; nil for an empty body
	// Before and After are state snapshots around requests that must not
	// write (empty otherwise).
	Before, After string
}

func (h *harness) send(tb testing.TB, rq request) *exchange {
	tb.Helper()
	payload, err := rq.payload()
	if err != nil {
		tb.Fatalf("encode %s %s: %v", rq.Method, rq.Path, err)
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequest(rq.Method, h.srv.URL+rq.Path, body)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch rq.Auth {
	case authServer:
		req.Header.Set("X-App-Id", h.keys.AppID)
		req.Header.Set("X-App-Token", h.keys.AppToken)
	case authClient:
		req.Header.Set("X-Client-Application-Id", h.keys.ClientAppID)
		req.Header.Set("X-Client-Token", h.keys.ClientToken)
	case authOther:
		req.Header.Set("X-App-Id", h.other.AppID)
		req.Header.Set("X-App-Token", h.other.AppToken)
	case authBadToken:
		req.Header.Set("X-App-Id", h.keys.AppID)
		req.Header.Set("X-App-Token", strings.Repeat("0", len(h.keys.AppToken)))
	case authAdmin:
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	for k, v := range rq.Header {
		req.Header.Set(k, v)
	}
	h.signInbound(tb, rq.Auth, req, payload)
	res, err := h.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", rq.Method, rq.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", rq.Method, rq.Path, err)
	}
	ex := &exchange{Route: routeOf(rq.Method, rq.Path), Sent: payload, Status: res.StatusCode, Header: res.Header, Body: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		ex.JSON = string(raw) // a file: kept whole
	} else if len(bytes.TrimSpace(raw)) > 0 {
		if ex.JSON, err = decodeJSON(raw); err != nil {
			tb.Fatalf("%s %s: response is not JSON: %v\n%s", rq.Method, rq.Path, err, raw)
		}
	}
	return ex
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// probeCustomers are the source ids of every customer the scenario names:
// the no-write check looks them up, so a refused request that creates a
// customer is caught.
var probeCustomers = []string{"alice", "bob", "carol", "dave", "erin", "ghost", "ghost2"}

func promoFilter(code, customerID string) promo.RedemptionFilter {
	return promo.RedemptionFilter{Voucher: code, Customer: customerID, Limit: 100}
}

// snapshot reads the scenario project's state through the services: every
// campaign, every listed code with its counters, the probe customers, the
// validation rules with their assignments and, with redemptions, every
// code's and customer's redemptions, every code's transactions, every
// customer's publications and every campaign's summary.
func (h *harness) snapshot(tb testing.TB, redemptions bool) string {
	tb.Helper()
	ctx := context.Background()
	p := h.keys.ProjectID
	out := map[string]any{}
	camps, _, err := h.app.Promo.ListCampaigns(ctx, p, 100, "")
	if err != nil {
		tb.Fatalf("snapshot: list campaigns: %v", err)
	}
	out["campaigns"] = camps
	lists := map[string]string{"": "standalone"}
	for _, c := range camps {
		lists[c.ID] = c.Name
	}
	var codes []string
	for id, name := range lists {
		var vs []promo.Voucher
		cursor := ""
		for {
			pg, err := h.app.Promo.ListVouchers(ctx, p, id, 100, cursor)
			if err != nil {
				tb.Fatalf("snapshot: list vouchers of %q: %v", name, err)
			}
			vs = append(vs, pg.Vouchers...)
			if cursor = pg.Next; cursor == "" {
				break
			}
		}
		out["vouchers of "+name] = vs
		for _, v := range vs {
			codes = append(codes, v.Code)
		}
	}
	for _, src := range probeCustomers {
		prof, err := h.app.Customers.Find(ctx, p, customer.Ref{SourceID: src})
		switch {
		case err == nil:
			out["customer "+src] = prof
		case core.ErrorCode(err) == core.CodeNotFound:
			out["customer "+src] = "none"
			continue
		default:
			tb.Fatalf("snapshot: find customer %s: %v", src, err)
		}
		if redemptions {
			rs, _, err := h.app.Promo.ListRedemptions(ctx, p, promoFilter("", prof.ID))
			if err != nil {
				tb.Fatalf("snapshot: redemptions of %s: %v", src, err)
			}
			out["redemptions of customer "+src] = rs
			pubs, _, err := h.app.Promo.ListPublications(ctx, p, promo.PublicationFilter{Customer: prof.ID, Limit: 100})
			if err != nil {
				tb.Fatalf("snapshot: publications of %s: %v", src, err)
			}
			out["publications of customer "+src] = pubs
		}
	}
	h.snapshotRules(tb, out)
	h.snapshotAudience(tb, out)
	if redemptions {
		for _, code := range codes {
			rs, _, err := h.app.Promo.ListRedemptions(ctx, p, promoFilter(code, ""))
			if err != nil {
				tb.Fatalf("snapshot: redemptions of %s: %v", code, err)
			}
			out["redemptions of code "+code] = rs
			txs, _, err := h.app.Promo.ListTransactions(ctx, p, code, 100, "")
			if err != nil {
				tb.Fatalf("snapshot: transactions of %s: %v", code, err)
			}
			out["transactions of code "+code] = txs
		}
		// A failed redemption counts in its campaign's summary: only the
		// full snapshot compares summaries.
		for _, c := range camps {
			sum, err := h.app.Promo.Summary(ctx, p, c.ID)
			if err != nil {
				tb.Fatalf("snapshot: summary of %s: %v", c.Name, err)
			}
			out["summary of "+c.Name] = sum
		}
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	return string(b)
}

// snapshotRules adds the validation rules and their assignments to out.
func (h *harness) snapshotRules(tb testing.TB, out map[string]any) {
	tb.Helper()
	ctx := context.Background()
	p := h.keys.ProjectID
	rules, _, err := h.app.Promo.ListRules(ctx, p, 100, "")
	if err != nil {
		tb.Fatalf("snapshot: list validation rules: %v", err)
	}
	out["validation rules"] = rules
	for _, r := range rules {
		as, _, err := h.app.Promo.ListAssignments(ctx, p, r.ID, 100, "")
		if err != nil {
			tb.Fatalf("snapshot: assignments of %s: %v", r.ID, err)
		}
		out["assignments of rule "+r.ID] = as
	}
}

// scenario walks every covered endpoint, recording each exchange.
type scenario struct {
	t         *testing.T
	h         *harness
	exchanges []*exchange
	names     map[string]bool
}

// do sends the step's request and records the exchange; for requests that
// must not write it snapshots the state before and after.
func (s *scenario) do(st step) *exchange {
	s.t.Helper()
	if s.names[st.name] {
		s.t.Fatalf("duplicate step name %s", st.name)
	}
	s.names[st.name] = true
	var before string
	if st.writes != writesAnything {
		before = s.h.snapshot(s.t, st.writes == writesNothing)
	}
	ex := s.h.send(s.t, st.req)
	ex.step = st
	if st.writes != writesAnything {
		ex.Before, ex.After = before, s.h.snapshot(s.t, st.writes == writesNothing)
	}
	s.exchanges = append(s.exchanges, ex)
	return ex
}

// ok runs a request the reference answers with 200.
func (s *scenario) ok(name string, rq request) *exchange {
	s.t.Helper()
	return s.do(step{name: name, req: rq, want: http.StatusOK})
}

// refused runs a request the reference refuses with want (and refKey when
// it documents one); it must write nothing.
func (s *scenario) refused(name string, want int, refKey string, rq request) *exchange {
	s.t.Helper()
	return s.do(step{name: name, req: rq, want: want, refKey: refKey, writes: writesNothing})
}

// timeField returns the RFC 3339 time at path in the exchange's JSON body.
func (s *scenario) timeField(ex *exchange, path ...any) time.Time {
	s.t.Helper()
	t, err := time.Parse(time.RFC3339Nano, s.field(ex, path...))
	if err != nil {
		s.t.Fatalf("%s: %v", ex.step.name, err)
	}
	return t
}

// field returns the string at path in the exchange's JSON body, failing the
// test when it is not there: later steps depend on it.
func (s *scenario) field(ex *exchange, path ...any) string {
	s.t.Helper()
	v := ex.JSON
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				s.t.Fatalf("%s: no %v in response %d %s", ex.name, path, ex.Status, ex.Body)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				s.t.Fatalf("%s: no %v in response %d %s", ex.name, path, ex.Status, ex.Body)
			}
			v = a[k]
		}
	}
	str, ok := v.(string)
	if !ok || str == "" {
		s.t.Fatalf("%s: no string at %v in response %d %s", ex.name, path, ex.Status, ex.Body)
	}
	return str
}

func esc(s string) string { return url.PathEscape(s) }

func srv(method, path string, body any) request {
	return request{Method: method, Path: path, Auth: authServer, Body: body}
}

func cli(method, path string, body any) request {
	return request{Method: method, Path: path, Auth: authClient, Body: body}
}

func withHeader(rq request, kv ...string) request {
	h := map[string]string{}
	for k, v := range rq.Header {
		h[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	rq.Header = h
	return rq
}

func withAuth(rq request, a auth) request {
	rq.Auth = a
	return rq
}

// runScenario builds a harness and walks every covered endpoint, then the
// refusals. The exchanges come back in order.
func runScenario(t *testing.T) []*exchange {
	t.Helper()
	s := &scenario{t: t, h: mustHarness(t), names: map[string]bool{}}
	s.service()
	s.vouchers()
	c := s.campaigns()
	s.publications(c)
	r := s.redemptions()
	s.clientSide()
	s.refusals(c)
	s.idempotency()
	s.otherProject(c, r)
	s.insights(c)
	s.jobs(c)
	s.audience()
	s.exports()
	s.inbound()
	return s.exchanges
}

func (s *scenario) service() {
	s.ok("service_healthz", request{Method: "GET", Path: "/healthz"})
	s.do(step{name: "admin_keys_create", want: http.StatusCreated,
		req: request{Method: "POST", Path: "/admin/v1/projects/shop/keys", Auth: authAdmin}})
	s.refused("admin_keys_without_token", http.StatusUnauthorized, "",
		request{Method: "POST", Path: "/admin/v1/projects/shop/keys"})
	s.refused("admin_keys_wrong_token", http.StatusUnauthorized, "",
		withHeader(request{Method: "POST", Path: "/admin/v1/projects/shop/keys"}, "Authorization", "Bearer nope"))
	s.refused("route_unknown", http.StatusNotFound, "not_found", srv("GET", "/v1/nothing-here", nil))
}

func (s *scenario) vouchers() {
	s.ok("vouchers_create_amount", srv("POST", "/v1/vouchers", obj{
		"code": "WELCOME10", "type": "DISCOUNT_VOUCHER", "category": "welcome",
		"discount":   obj{"type": "AMOUNT", "amount_off": 1000},
		"redemption": obj{"quantity": 5},
		"metadata":   obj{"source": "newsletter"},
	}))
	s.ok("vouchers_create_percent_by_path", srv("POST", "/v1/vouchers/PCT15", obj{
		"type":            "DISCOUNT_VOUCHER",
		"discount":        obj{"type": "PERCENT", "percent_off": 15, "amount_limit": 5000},
		"start_date":      "2025-01-01T00:00:00Z",
		"expiration_date": "2025-12-31T23:59:59Z",
	}))
	s.ok("vouchers_create_gift_card", srv("POST", "/v1/vouchers/GIFTCARD-100", obj{
		"type": "GIFT_VOUCHER", "gift": obj{"amount": 10000},
	}))
	s.ok("vouchers_create_generated_code", srv("POST", "/v1/vouchers", obj{
		"type":        "DISCOUNT_VOUCHER",
		"discount":    obj{"type": "FIXED", "fixed_amount": 2500},
		"code_config": obj{"prefix": "RND-", "length": 6},
	}))
	s.ok("vouchers_create_single_use", srv("POST", "/v1/vouchers/ONCE", obj{
		"type": "DISCOUNT_VOUCHER", "discount": obj{"type": "AMOUNT", "amount_off": 500},
		"redemption": obj{"quantity": 1},
	}))
	s.ok("vouchers_create_to_delete", srv("POST", "/v1/vouchers/TEMP-DELETE", obj{
		"type": "DISCOUNT_VOUCHER", "discount": obj{"type": "AMOUNT", "amount_off": 100},
	}))
	s.do(step{name: "vouchers_list_standalone", want: http.StatusOK, sortList: "vouchers",
		req: srv("GET", "/v1/vouchers?limit=20", nil)})
	s.ok("vouchers_get", srv("GET", "/v1/vouchers/WELCOME10", nil))
	s.ok("vouchers_update", srv("PUT", "/v1/vouchers/PCT15", obj{
		"category": "seasonal", "additional_info": "15% off, at most 50.00",
		"metadata": obj{"tier": "gold"},
	}))
	s.ok("vouchers_disable", srv("POST", "/v1/vouchers/PCT15/disable", nil))
	s.ok("validate_single_disabled", srv("POST", "/v1/vouchers/PCT15/validate", obj{"order": obj{"amount": 10000}}))
	s.ok("vouchers_enable", srv("POST", "/v1/vouchers/PCT15/enable", nil))
	s.do(step{name: "vouchers_delete", want: http.StatusNoContent, req: srv("DELETE", "/v1/vouchers/TEMP-DELETE", nil)})
	s.refused("vouchers_get_deleted", http.StatusNotFound, "not_found", srv("GET", "/v1/vouchers/TEMP-DELETE", nil))
	// The reference's amount is the amount added, total the card's lifetime
	// income, balance what is left: 10000 + 2500.
	s.do(step{name: "vouchers_balance_add", want: http.StatusOK,
		expect: map[string]any{"amount": 2500, "total": 12500, "balance": 12500},
		req:    srv("POST", "/v1/vouchers/GIFTCARD-100/balance", obj{"amount": 2500})})
}

// campaignIDs are the ids the campaign steps learn.
type campaignIDs struct {
	summer, gift, temp string
}

func (s *scenario) campaigns() campaignIDs {
	var c campaignIDs
	ex := s.ok("campaigns_create_discount_coupons", srv("POST", "/v1/campaigns", obj{
		"name": "Summer Sale", "campaign_type": "DISCOUNT_COUPONS", "type": "AUTO_UPDATE",
		"vouchers_count": 1,
		"voucher": obj{
			"type":        "DISCOUNT_VOUCHER",
			"discount":    obj{"type": "PERCENT", "percent_off": 20},
			"redemption":  obj{"quantity": 1},
			"code_config": obj{"prefix": "SUM-", "length": 6},
		},
		"metadata": obj{"season": "summer"},
	}))
	c.summer = s.field(ex, "id")
	s.ok("campaigns_list_vouchers_generated", srv("GET", "/v1/vouchers?campaign_id="+c.summer, nil))
	ex = s.ok("campaigns_create_gift_vouchers", srv("POST", "/v1/campaigns", obj{
		"name": "Gift Cards", "campaign_type": "GIFT_VOUCHERS", "type": "STATIC",
		"voucher": obj{
			"type":        "GIFT_VOUCHER",
			"gift":        obj{"amount": 5000},
			"code_config": obj{"prefix": "GV-", "length": 6},
		},
	}))
	c.gift = s.field(ex, "id")
	ex = s.ok("campaigns_create_to_delete", srv("POST", "/v1/campaigns", obj{
		"name": "Spring Clearance", "campaign_type": "DISCOUNT_COUPONS",
		"voucher": obj{"discount": obj{"type": "AMOUNT", "amount_off": 300}},
	}))
	c.temp = s.field(ex, "id")
	s.ok("campaigns_list", srv("GET", "/v1/campaigns", nil))
	s.ok("campaigns_get", srv("GET", "/v1/campaigns/"+c.summer, nil))
	s.ok("campaigns_get_by_name", srv("GET", "/v1/campaigns/"+esc("Gift Cards"), nil))
	s.ok("campaigns_update", srv("PUT", "/v1/campaigns/"+c.summer, obj{
		"description": "Twenty percent off the summer collection", "category": "seasonal",
	}))
	s.ok("campaigns_disable", srv("POST", "/v1/campaigns/"+c.summer+"/disable", nil))
	s.ok("campaigns_enable", srv("POST", "/v1/campaigns/"+c.summer+"/enable", nil))
	s.do(step{name: "campaigns_delete", want: http.StatusAccepted, req: srv("DELETE", "/v1/campaigns/"+c.temp, nil)})
	s.refused("campaigns_get_deleted", http.StatusNotFound, "not_found", srv("GET", "/v1/campaigns/"+c.temp, nil))
	s.ok("campaigns_add_gift_code", srv("POST", "/v1/campaigns/"+c.gift+"/vouchers/GIFT-ALICE", obj{}))
	s.ok("campaigns_add_gift_code_spare", srv("POST", "/v1/campaigns/"+c.gift+"/vouchers/GIFT-SPARE", obj{
		"metadata": obj{"batch": "spare"},
	}))
	s.do(step{name: "campaigns_list_vouchers_by_name", want: http.StatusOK, sortList: "vouchers",
		req: srv("GET", "/v1/vouchers?campaign="+url.QueryEscape("Gift Cards"), nil)})
	// Pages of one: the reference's total counts every matching code.
	s.ok("vouchers_list_page_1", srv("GET", "/v1/vouchers?campaign_id="+c.gift+"&limit=1", nil))
	s.ok("vouchers_list_page_2", srv("GET", "/v1/vouchers?campaign_id="+c.gift+"&limit=1&page=2", nil))
	s.ok("vouchers_list_page_3", srv("GET", "/v1/vouchers?campaign_id="+c.gift+"&limit=1&page=3", nil))
	return c
}

func (s *scenario) publications(c campaignIDs) {
	// The summer pool holds exactly one code: publication takes it.
	s.ok("publications_create_by_campaign", srv("POST", "/v1/publications", obj{
		"campaign": obj{"name": "Summer Sale"},
		"customer": obj{"source_id": "alice", "name": "Alice Example", "email": "alice@example.com"},
		"metadata": obj{"note": "welcome mail"},
	}))
	// The pool is empty now; an AUTO_UPDATE campaign makes a new code.
	s.ok("publications_create_by_campaign_new_code", srv("POST", "/v1/publications", obj{
		"campaign": "Summer Sale", "customer": obj{"source_id": "bob"},
	}))
	s.ok("publications_create_by_code", srv("POST", "/v1/publications", obj{
		"voucher": "WELCOME10", "customer": obj{"source_id": "alice"}, "source_id": "pub-welcome-alice",
	}))
	s.ok("publications_create_same_source_id", srv("POST", "/v1/publications", obj{
		"voucher": "WELCOME10", "customer": obj{"source_id": "alice"}, "source_id": "pub-welcome-alice",
	}))
	s.ok("publications_create_campaign_code_by_code", srv("POST", "/v1/publications", obj{
		"voucher": "GIFT-ALICE", "customer": obj{"source_id": "alice"},
	}))
	// GIFT-SPARE is the static gift campaign's one free code.
	s.ok("publications_create_from_static_campaign", srv("POST", "/v1/publications", obj{
		"campaign": obj{"name": "Gift Cards"}, "customer": obj{"source_id": "carol"},
	}))
	s.ok("publications_create_by_query", srv("GET",
		"/v1/publications/create?voucher=WELCOME10&customer[source_id]=dave&channel=API", nil))

	// Adding codes after publication keeps the published codes deterministic.
	s.ok("campaigns_add_voucher_code", srv("POST", "/v1/campaigns/"+c.summer+"/vouchers/SUMMER-VIP", obj{
		"redemption": obj{"quantity": 3}, "metadata": obj{"vip": true},
	}))
	s.ok("campaigns_add_voucher_generated", srv("POST", "/v1/campaigns/"+c.summer+"/vouchers", nil))
	s.do(step{name: "campaigns_add_vouchers_bulk", want: http.StatusAccepted, refShape: asyncActionShape,
		req: srv("POST", "/v1/campaigns/"+c.summer+"/vouchers?vouchers_count=2", nil)})
	s.ok("campaigns_get_counts", srv("GET", "/v1/campaigns/"+c.summer, nil))
}

// redemptionIDs are the ids the redemption steps learn.
type redemptionIDs struct {
	single, parent, bobID string
}

func (s *scenario) redemptions() redemptionIDs {
	var r redemptionIDs
	s.ok("validate_single", srv("POST", "/v1/vouchers/WELCOME10/validate", obj{
		"order": obj{"amount": 5000}, "customer": obj{"source_id": "alice"}, "tracking_id": "track-alice",
	}))
	s.ok("validate_single_gift_card", srv("POST", "/v1/vouchers/GIFTCARD-100/validate", obj{
		"order": obj{"amount": 4000},
	}))
	s.ok("validations_stacked", srv("POST", "/v1/validations", obj{
		"redeemables": []any{
			obj{"object": "voucher", "id": "WELCOME10"},
			obj{"object": "voucher", "id": "GIFT-ALICE", "gift": obj{"credits": 2000}},
		},
		"order": obj{"amount": 10000, "items": []any{
			obj{"product_id": "prod_tee", "quantity": 2, "price": 5000},
		}},
		"customer": obj{"source_id": "alice"},
	}))
	s.ok("validations_stacked_inapplicable", srv("POST", "/v1/validations", obj{
		"redeemables": []any{
			obj{"object": "voucher", "id": "NO-SUCH-CODE"},
			obj{"object": "voucher", "id": "WELCOME10"},
		},
		"order": obj{"amount": 3000},
	}))
	ex := s.ok("redeem_single", srv("POST", "/v1/vouchers/WELCOME10/redemption", obj{
		"order":       obj{"amount": 5000, "source_id": "order-1001"},
		"customer":    obj{"source_id": "alice"},
		"tracking_id": "track-alice",
		"metadata":    obj{"pos": "web"},
	}))
	r.single = s.field(ex, "id")
	ex = s.ok("redeem_single_without_customer", srv("POST", "/v1/vouchers/ONCE/redemption", obj{
		"order": obj{"amount": 2000},
	}))
	anonymous := s.field(ex, "id")
	s.do(step{name: "redeem_single_quantity_exceeded", want: http.StatusBadRequest, refKey: "quantity_exceeded",
		writes: writesFailedRedemption,
		req:    srv("POST", "/v1/vouchers/ONCE/redemption", obj{"order": obj{"amount": 2000}})})
	ex = s.ok("redeem_stacked", srv("POST", "/v1/redemptions", obj{
		"redeemables": []any{
			obj{"object": "voucher", "id": "PCT15"},
			obj{"object": "voucher", "id": "GIFT-ALICE", "gift": obj{"credits": 3000}},
		},
		"order":    obj{"amount": 20000, "source_id": "order-1002"},
		"customer": obj{"source_id": "bob"},
	}))
	r.parent = s.field(ex, "parent_redemption", "id")
	r.bobID = s.field(ex, "parent_redemption", "customer_id")
	s.ok("redemptions_list_by_voucher", srv("GET", "/v1/redemptions?voucher=WELCOME10", nil))
	s.ok("redemptions_list_by_customer", srv("GET", "/v1/redemptions?customer="+r.bobID, nil))
	s.do(step{name: "redemptions_list_unfiltered", want: http.StatusOK, writes: writesNothing,
		req: srv("GET", "/v1/redemptions", nil)})
	s.ok("redemptions_voucher_entries", srv("GET", "/v1/vouchers/WELCOME10/redemption", nil))
	s.ok("redemptions_get", srv("GET", "/v1/redemptions/"+r.single, nil))
	s.ok("redemptions_get_without_customer", srv("GET", "/v1/redemptions/"+anonymous, nil))
	s.ok("redemptions_get_stack_parent", srv("GET", "/v1/redemptions/"+r.parent, nil))
	s.ok("rollback_single", srv("POST", "/v1/redemptions/"+r.single+"/rollback?reason="+url.QueryEscape("customer returned the order"), obj{
		"metadata": obj{"ticket": "T-1"},
	}))
	s.refused("rollback_single_again", http.StatusBadRequest, "already_rolled_back",
		srv("POST", "/v1/redemptions/"+r.single+"/rollback", obj{}))
	s.ok("rollback_stacked", srv("POST", "/v1/redemptions/"+r.parent+"/rollbacks", obj{"reason": "order cancelled"}))
	s.ok("vouchers_get_gift_after_rollback", srv("GET", "/v1/vouchers/GIFT-ALICE", nil))
	return r
}

func (s *scenario) clientSide() {
	origin := func(rq request, o string) request { return withHeader(rq, "Origin", o) }
	s.ok("client_validate_query", cli("GET", "/client/v1/validate?code=WELCOME10&amount=5000", nil))
	s.ok("client_validations", cli("POST", "/client/v1/validations", obj{
		"redeemables": []any{obj{"object": "voucher", "id": "PCT15"}},
		"order":       obj{"amount": 8000},
	}))
	s.refused("client_redeem_not_allowed", http.StatusForbidden, "forbidden",
		cli("POST", "/client/v1/redeem?code=WELCOME10", obj{"order": obj{"amount": 5000}}))
	s.refused("client_redemptions_not_allowed", http.StatusForbidden, "forbidden",
		cli("POST", "/client/v1/redemptions", obj{
			"redeemables": []any{obj{"object": "voucher", "id": "WELCOME10"}},
			"order":       obj{"amount": 5000},
		}))
	s.ok("client_publish", cli("POST", "/client/v1/publish", obj{
		"voucher": "WELCOME10", "customer": obj{"source_id": "erin"},
	}))

	s.do(step{name: "admin_project_settings", want: http.StatusOK, req: request{Method: "PUT", Path: "/admin/v1/projects/shop/settings",
		Auth: authAdmin, Body: obj{"client_redeem": true, "allowed_origins": []any{allowedOrigin}}}})
	s.refused("admin_project_settings_bad_origin", http.StatusBadRequest, "invalid",
		request{Method: "PUT", Path: "/admin/v1/projects/shop/settings", Auth: authAdmin, Body: obj{"allowed_origins": []any{"not an origin"}}})

	s.ok("client_validate_allowed_origin", origin(cli("GET", "/client/v1/validate?code=PCT15&amount=10000", nil), allowedOrigin))
	s.refused("client_validate_denied_origin", http.StatusForbidden, "",
		origin(cli("GET", "/client/v1/validate?code=PCT15&amount=10000", nil), "https://evil.example"))
	s.refused("client_redeem_denied_origin", http.StatusForbidden, "",
		origin(cli("POST", "/client/v1/redeem?code=WELCOME10", obj{"order": obj{"amount": 5000}}), "https://evil.example"))
	s.ok("client_redeem", origin(cli("POST", "/client/v1/redeem?code=WELCOME10", obj{
		"order": obj{"amount": 5000}, "customer": obj{"source_id": "erin"},
	}), allowedOrigin))
	s.ok("client_redemptions", origin(cli("POST", "/client/v1/redemptions", obj{
		"redeemables": []any{obj{"object": "voucher", "id": "GIFTCARD-100", "gift": obj{"credits": 1500}}},
		"order":       obj{"amount": 1500},
		"customer":    obj{"source_id": "erin"},
	}), allowedOrigin))
	s.do(step{name: "client_preflight", want: http.StatusNoContent, req: withHeader(
		request{Method: "OPTIONS", Path: "/client/v1/redemptions"},
		"Origin", allowedOrigin, "Access-Control-Request-Method", "POST")})
	s.refused("client_route_with_server_key", http.StatusUnauthorized, "",
		srv("GET", "/client/v1/validate?code=WELCOME10", nil))
	s.refused("client_key_on_server_route", http.StatusUnauthorized, "",
		cli("GET", "/v1/vouchers/WELCOME10", nil))
	s.refused("client_missing_keys", http.StatusUnauthorized, "",
		withAuth(cli("POST", "/client/v1/validations", obj{"redeemables": []any{obj{"object": "voucher", "id": "PCT15"}}}), authNone))
}

// oversized is a create-voucher body one byte over the adapter's 1 MiB limit.
func oversized() string {
	const limit = 1 << 20
	head := `{"code":"HUGE","type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"additional_info":"`
	tail := `"}`
	return head + strings.Repeat("x", limit+1-len(head)-len(tail)) + tail
}

func (s *scenario) refusals(c campaignIDs) {
	discount := func(code string, d obj) obj {
		return obj{"code": code, "type": "DISCOUNT_VOUCHER", "discount": d}
	}
	// 401
	s.refused("errors_missing_keys", http.StatusUnauthorized, "", withAuth(srv("GET", "/v1/vouchers", nil), authNone))
	s.refused("errors_bad_token", http.StatusUnauthorized, "",
		withAuth(srv("POST", "/v1/vouchers", discount("SNEAKY", obj{"type": "AMOUNT", "amount_off": 100})), authBadToken))
	// 404
	s.refused("errors_unknown_voucher", http.StatusNotFound, "not_found", srv("GET", "/v1/vouchers/NO-SUCH-CODE", nil))
	s.refused("errors_unknown_voucher_update", http.StatusNotFound, "not_found",
		srv("PUT", "/v1/vouchers/NO-SUCH-CODE", obj{"active": false}))
	s.refused("errors_unknown_campaign", http.StatusNotFound, "not_found",
		srv("GET", "/v1/campaigns/"+esc("No Such Campaign"), nil))
	s.refused("errors_unknown_campaign_add_code", http.StatusNotFound, "not_found",
		srv("POST", "/v1/campaigns/"+esc("No Such Campaign")+"/vouchers/GHOST-1", obj{}))
	s.refused("errors_unknown_redemption", http.StatusNotFound, "not_found",
		srv("GET", "/v1/redemptions/r_01jwx0000000000000000000zz", nil))
	s.refused("errors_unknown_redemption_rollback", http.StatusNotFound, "not_found",
		srv("POST", "/v1/redemptions/r_01jwx0000000000000000000zz/rollback", obj{}))
	s.do(step{name: "errors_redeem_unknown_code", want: http.StatusNotFound, writes: writesFailedRedemption,
		req: srv("POST", "/v1/vouchers/NO-SUCH-CODE/redemption", obj{"order": obj{"amount": 1000}})})
	s.refused("errors_publish_unknown_campaign", http.StatusNotFound, "not_found", srv("POST", "/v1/publications", obj{
		"campaign": obj{"name": "No Such Campaign"}, "customer": obj{"source_id": "ghost"},
	}))
	// 400: the body
	s.refused("errors_malformed_json", http.StatusBadRequest, "invalid_payload",
		request{Method: "POST", Path: "/v1/vouchers", Auth: authServer, Raw: `{"code": "BROKEN", "type": `})
	s.refused("errors_wrong_type", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/vouchers", discount("BAD-TYPE", obj{"type": "AMOUNT", "amount_off": "ten"})))
	s.refused("errors_wrong_type_order_amount", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/vouchers/WELCOME10/redemption", obj{"order": obj{"amount": "50.00"}}))
	s.refused("errors_negative_amount_off", http.StatusBadRequest, "",
		srv("POST", "/v1/vouchers", discount("BAD-NEG", obj{"type": "AMOUNT", "amount_off": -100})))
	s.refused("errors_negative_gift_amount", http.StatusBadRequest, "",
		srv("POST", "/v1/vouchers", obj{"code": "BAD-GIFT", "type": "GIFT_VOUCHER", "gift": obj{"amount": -5000}}))
	s.refused("errors_negative_order_amount", http.StatusBadRequest, "",
		srv("POST", "/v1/vouchers/WELCOME10/redemption", obj{"order": obj{"amount": -5000}, "customer": obj{"source_id": "ghost"}}))
	s.refused("errors_negative_gift_credits", http.StatusBadRequest, "",
		srv("POST", "/v1/redemptions", obj{
			"redeemables": []any{obj{"object": "voucher", "id": "GIFTCARD-100", "gift": obj{"credits": -100}}},
			"order":       obj{"amount": 1000},
		}))
	s.refused("errors_unknown_discount_type", http.StatusBadRequest, "",
		srv("POST", "/v1/vouchers", discount("BAD-KIND", obj{"type": "BOGUS", "amount_off": 100})))
	s.refused("errors_percent_over_100", http.StatusBadRequest, "",
		srv("POST", "/v1/vouchers", discount("BAD-PCT", obj{"type": "PERCENT", "percent_off": 150})))
	s.refused("errors_percent_over_100_update", http.StatusBadRequest, "",
		srv("PUT", "/v1/vouchers/PCT15", obj{"discount": obj{"type": "PERCENT", "percent_off": 101}}))
	s.refused("errors_percent_over_100_campaign", http.StatusBadRequest, "", srv("POST", "/v1/campaigns", obj{
		"name": "Too Generous", "campaign_type": "DISCOUNT_COUPONS", "vouchers_count": 3,
		"voucher": obj{"discount": obj{"type": "PERCENT", "percent_off": 120}},
	}))
	s.refused("errors_body_too_large", http.StatusRequestEntityTooLarge, "payload_too_large",
		request{Method: "POST", Path: "/v1/vouchers", Auth: authServer, Raw: oversized(),
			RawNote: "<create-voucher JSON of " + strconv.Itoa(len(oversized())) + " bytes>"})
	s.refused("errors_bad_limit", http.StatusBadRequest, "", srv("GET", "/v1/vouchers?limit=500", nil))
	// 400: the request does not fit the state
	s.refused("errors_duplicated_redeemables", http.StatusBadRequest, "duplicated_redeemables",
		srv("POST", "/v1/validations", obj{
			"redeemables": []any{obj{"object": "voucher", "id": "WELCOME10"}, obj{"object": "voucher", "id": "WELCOME10"}},
			"order":       obj{"amount": 5000},
		}))
	s.refused("errors_publish_without_voucher_or_campaign", http.StatusBadRequest, "missing_vouchers",
		srv("POST", "/v1/publications", obj{"customer": obj{"source_id": "alice"}}))
	s.refused("errors_publish_already_published", http.StatusBadRequest, "voucher_already_published",
		srv("POST", "/v1/publications", obj{"voucher": "GIFT-ALICE", "customer": obj{"source_id": "bob"}}))
	s.refused("errors_publish_static_campaign_exhausted", http.StatusBadRequest, "",
		srv("POST", "/v1/publications", obj{"campaign": obj{"name": "Gift Cards"}, "customer": obj{"source_id": "ghost2"}}))
	s.refused("errors_publish_duplicate_source_id", http.StatusBadRequest, "duplicate_source_id",
		srv("POST", "/v1/publications", obj{
			"voucher": "WELCOME10", "customer": obj{"source_id": "bob"}, "source_id": "pub-welcome-alice",
		}))
	s.refused("errors_balance_not_gift_card", http.StatusBadRequest, "",
		srv("POST", "/v1/vouchers/WELCOME10/balance", obj{"amount": 1000}))
	// 409
	s.refused("errors_duplicate_code", http.StatusConflict, "duplicate_found",
		srv("POST", "/v1/vouchers", discount("WELCOME10", obj{"type": "AMOUNT", "amount_off": 9900})))
	s.refused("errors_duplicate_campaign_name", http.StatusConflict, "duplicate_found", srv("POST", "/v1/campaigns", obj{
		"name": "Summer Sale", "campaign_type": "DISCOUNT_COUPONS", "vouchers_count": 2,
		"voucher": obj{"discount": obj{"type": "AMOUNT", "amount_off": 100}},
	}))
	s.refused("errors_duplicate_campaign_code", http.StatusConflict, "duplicate_found",
		srv("POST", "/v1/campaigns/"+c.summer+"/vouchers/SUMMER-VIP", obj{}))
}

func (s *scenario) idempotency() {
	create := func(code string) request {
		return withHeader(srv("POST", "/v1/vouchers", obj{
			"code": code, "type": "DISCOUNT_VOUCHER", "discount": obj{"type": "AMOUNT", "amount_off": 700},
		}), "Idempotency-Key", "idem-create-1")
	}
	s.ok("idempotency_first", create("IDEM-1"))
	s.do(step{name: "idempotency_replay", want: http.StatusOK, writes: writesNothing, req: create("IDEM-1")})
	s.refused("idempotency_key_reused", http.StatusConflict, "idempotency_reused", create("IDEM-2"))

	redeem := withHeader(srv("POST", "/v1/vouchers/SUMMER-VIP/redemption", obj{
		"order": obj{"amount": 6000}, "customer": obj{"source_id": "dave"},
	}), "Idempotency-Key", "idem-redeem-1")
	s.ok("idempotency_redeem_first", redeem)
	s.do(step{name: "idempotency_redeem_replay", want: http.StatusOK, writes: writesNothing, req: redeem})
}

func (s *scenario) otherProject(c campaignIDs, r redemptionIDs) {
	other := func(rq request) request { return withAuth(rq, authOther) }
	s.refused("other_project_get_voucher", http.StatusNotFound, "not_found", other(srv("GET", "/v1/vouchers/WELCOME10", nil)))
	s.refused("other_project_update_voucher", http.StatusNotFound, "not_found",
		other(srv("PUT", "/v1/vouchers/WELCOME10", obj{"active": false, "metadata": obj{"hijacked": true}})))
	s.refused("other_project_disable_voucher", http.StatusNotFound, "not_found",
		other(srv("POST", "/v1/vouchers/WELCOME10/disable", nil)))
	s.refused("other_project_delete_voucher", http.StatusNotFound, "not_found",
		other(srv("DELETE", "/v1/vouchers/WELCOME10", nil)))
	s.refused("other_project_balance", http.StatusNotFound, "not_found",
		other(srv("POST", "/v1/vouchers/GIFTCARD-100/balance", obj{"amount": 100000})))
	s.do(step{name: "other_project_redeem", want: http.StatusNotFound, writes: writesNothing,
		req: other(srv("POST", "/v1/vouchers/WELCOME10/redemption", obj{"order": obj{"amount": 5000}}))})
	s.refused("other_project_rollback", http.StatusNotFound, "not_found",
		other(srv("POST", "/v1/redemptions/"+r.parent+"/rollbacks", obj{})))
	s.refused("other_project_get_campaign", http.StatusNotFound, "not_found", other(srv("GET", "/v1/campaigns/"+c.summer, nil)))
	s.refused("other_project_delete_campaign", http.StatusNotFound, "not_found",
		other(srv("DELETE", "/v1/campaigns/"+c.summer, nil)))
	s.do(step{name: "other_project_list_vouchers", want: http.StatusOK, writes: writesNothing,
		req: other(srv("GET", "/v1/vouchers", nil))})
}
