package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/core/promo/rules"
)

// insightRoutes serve what reads across objects: qualifications,
// publications, transactions and summaries.
func (a *API) insightRoutes() {
	srv := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.authenticate(project.Server, h)) }
	cli := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.authenticate(project.Client, h)) }
	srv("POST /v1/qualifications", a.qualify)
	cli("POST /client/v1/qualifications", a.qualify)
	srv("GET /v1/publications", a.listPublications)

	srv("GET /v1/campaigns/{campaignId}/summary", a.campaignSummary)
	srv("GET /v1/campaigns/{campaignId}/transactions", a.campaignTransactions)
	srv("GET /v1/vouchers/{code}/transactions", a.voucherTransactions)
	srv("DELETE /v1/vouchers/{code}/sessions/{sessionKey}", a.releaseSession)

	srv("POST /v1/validation-rules", a.createRule)
	srv("GET /v1/validation-rules", a.listRules)
	srv("GET /v1/validation-rules/{id}", a.getRule)
	srv("PUT /v1/validation-rules/{id}", a.updateRule)
	srv("DELETE /v1/validation-rules/{id}", a.deleteRule)
	srv("GET /v1/validation-rules/{id}/assignments", a.listAssignments)
	srv("POST /v1/validation-rules/{id}/assignments", a.createAssignment)
	srv("DELETE /v1/validation-rules/{id}/assignments/{assignmentId}", a.deleteAssignment)
	srv("GET /v1/validation-rules-assignments", a.listAllAssignments)
}

func (a *API) campaignSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := a.o.Promo.Summary(r.Context(), proj(r), r.PathValue("campaignId"))
	serveOne(a, w, r, sum, err)
}

func (a *API) voucherTransactions(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "data", func(limit int, cursor string) ([]promo.Transaction, string, error) {
		return a.o.Promo.ListTransactions(r.Context(), proj(r), r.PathValue("code"), limit, cursor)
	})
}

func (a *API) createRule(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, body json.RawMessage) (rules.Rule, error) {
		return a.o.Promo.CreateRule(ctx, proj(r), body)
	}, nil)
}

func (a *API) getRule(w http.ResponseWriter, r *http.Request) {
	rule, err := a.o.Promo.GetRule(r.Context(), proj(r), r.PathValue("id"))
	serveOne(a, w, r, rule, err)
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "data", func(limit int, cursor string) ([]rules.Rule, string, error) {
		return a.o.Promo.ListRules(r.Context(), proj(r), limit, cursor)
	})
}

func (a *API) updateRule(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, body json.RawMessage) (rules.Rule, error) {
		return a.o.Promo.UpdateRule(ctx, proj(r), r.PathValue("id"), body)
	}, nil)
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Promo.DeleteRule(r.Context(), proj(r), r.PathValue("id")))
}

func (a *API) listAssignments(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "data", func(limit int, cursor string) ([]promo.Assignment, string, error) {
		return a.o.Promo.ListAssignments(r.Context(), proj(r), r.PathValue("id"), limit, cursor)
	})
}

// listAllAssignments is GET /v1/validation-rules-assignments?rule=…
func (a *API) listAllAssignments(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("rule")
	if id == "" {
		a.fail(w, r, core.Errorf(core.CodeInvalid, "query parameter rule (a validation rule id) is required"))
		return
	}
	r.SetPathValue("id", id)
	a.listAssignments(w, r)
}

func (a *API) createAssignment(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.AssignmentInput) (promo.Assignment, error) {
		return a.o.Promo.CreateAssignment(ctx, proj(r), r.PathValue("id"), in)
	}, nil)
}

func (a *API) deleteAssignment(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Promo.DeleteAssignment(r.Context(), proj(r), r.PathValue("id"), r.PathValue("assignmentId")))
}

// listPublications is GET /v1/publications?customer=…|voucher=…; a customer
// may be named by id or source_id.
func (a *API) listPublications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := promo.PublicationFilter{Voucher: q.Get("voucher")}
	if c := q.Get("customer"); c != "" {
		cust, err := a.o.Promo.Customers.Find(r.Context(), proj(r), customerRef(c))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		f.Customer = cust.ID
	}
	serveList(a, w, r, "publications", func(limit int, cursor string) ([]promo.Publication, string, error) {
		f.Limit, f.Cursor = limit, cursor
		return a.o.Promo.ListPublications(r.Context(), proj(r), f)
	})
}

// customerRef reads a customer named by id ("cust_…") or by source_id.
func customerRef(s string) customer.Ref {
	if strings.HasPrefix(s, "cust_") {
		return customer.Ref{ID: s}
	}
	return customer.Ref{SourceID: s}
}

func (a *API) qualify(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.QualifyInput) (promo.QualifyResult, error) {
		return a.o.Promo.Qualify(ctx, proj(r), in)
	}, nil)
}

func (a *API) releaseSession(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Promo.ReleaseSession(r.Context(), proj(r), r.PathValue("code"), r.PathValue("sessionKey")))
}

func (a *API) campaignTransactions(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "data", func(limit int, cursor string) ([]promo.Transaction, string, error) {
		return a.o.Promo.ListCampaignTransactions(r.Context(), proj(r), r.PathValue("campaignId"), limit, cursor)
	})
}
