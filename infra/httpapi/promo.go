package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
)

// maxBody bounds a JSON request body (Voucherify's own limit is similar).
const maxBody = 1 << 20

func (a *API) promoRoutes() {
	srv := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.authenticate(project.Server, h)) }
	cli := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.authenticate(project.Client, h)) }

	srv("POST /v1/vouchers", a.createVoucher)
	srv("GET /v1/vouchers", a.listVouchers)
	srv("POST /v1/vouchers/{code}", a.createVoucher)
	srv("GET /v1/vouchers/{code}", a.getVoucher)
	srv("PUT /v1/vouchers/{code}", a.updateVoucher)
	srv("DELETE /v1/vouchers/{code}", a.deleteVoucher)
	srv("POST /v1/vouchers/{code}/enable", a.setVoucherActive(true))
	srv("POST /v1/vouchers/{code}/disable", a.setVoucherActive(false))
	srv("POST /v1/vouchers/{code}/balance", a.addBalance)
	srv("POST /v1/vouchers/{code}/validate", a.validateVoucher)
	srv("POST /v1/vouchers/{code}/redemption", a.redeemVoucher)
	srv("GET /v1/vouchers/{code}/redemption", a.voucherRedemptions)

	srv("POST /v1/campaigns", a.createCampaignOrStart)
	srv("GET /v1/campaigns", a.listCampaigns)
	srv("GET /v1/campaigns/{campaignId}", a.getCampaign)
	srv("PUT /v1/campaigns/{campaignId}", a.updateCampaign)
	srv("DELETE /v1/campaigns/{campaignId}", a.deleteCampaign)
	srv("POST /v1/campaigns/{campaignId}/enable", a.setCampaignActive(true))
	srv("POST /v1/campaigns/{campaignId}/disable", a.setCampaignActive(false))
	srv("POST /v1/campaigns/{campaignId}/vouchers", a.addCampaignVouchersOrStart)
	srv("POST /v1/campaigns/{campaignId}/vouchers/{code}", a.addCampaignVoucher)

	srv("POST /v1/publications", a.publish)
	srv("GET /v1/publications/create", a.publishGet)

	srv("POST /v1/validations", a.validateStack)
	srv("POST /v1/redemptions", a.redeemStack)
	srv("GET /v1/redemptions", a.listRedemptions)
	srv("GET /v1/redemptions/{redemptionId}", a.getRedemption)
	srv("POST /v1/redemptions/{redemptionId}/rollback", a.rollback)
	srv("POST /v1/redemptions/{redemptionId}/rollbacks", a.rollbackStack)

	cli("POST /client/v1/validations", a.validateStack)
	cli("POST /client/v1/redemptions", a.clientRedeem(a.redeemStack))
	cli("GET /client/v1/validate", a.clientValidateGet)
	cli("POST /client/v1/redeem", a.clientRedeem(a.clientRedeemOne))
	cli("POST /client/v1/publish", a.publish)
	a.mux.HandleFunc("OPTIONS /client/v1/", a.clientPreflight)

	srv("POST /v1/vouchers/import", a.importJSON(promo.JobImport))
	srv("POST /v1/vouchers/importCSV", a.importCSV(promo.JobImportCSV, http.StatusAccepted))
	srv("POST /v1/campaigns/{campaignId}/import", a.importJSON(promo.JobCampaignImport))
	srv("POST /v1/campaigns/{campaignId}/importCSV", a.importCSV(promo.JobCampaignImportCSV, http.StatusOK))
	srv("GET /v1/async-actions", a.listAsyncActions)
	srv("GET /v1/async-actions/{asyncActionId}", a.getAsyncAction)
}

// decode reads the JSON body into v; syntax and type errors are 400s that
// say where the problem is.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) (context.Context, error) {
	body, ctx, err := a.readBody(w, r, maxBody)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := decodeJSON(body, v); err != nil {
		return nil, err
	}
	return ctx, nil
}

// respond runs a mutating operation and writes its result with status. An
// idempotent replay writes the first call's result the same way.
func respond[T any](a *API, w http.ResponseWriter, r *http.Request, status int, ctx context.Context, fn func(context.Context) (T, error), view func(T) any) {
	res, err := fn(ctx)
	if rep := (*core.Replayed)(nil); errors.As(err, &rep) {
		var prev T
		if err := json.Unmarshal(rep.Result, &prev); err != nil {
			a.fail(w, r, fmt.Errorf("decode replayed result: %w", err))
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		res, err = prev, nil
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if view == nil {
		WriteJSON(w, status, res)
		return
	}
	WriteJSON(w, status, view(res))
}

// run is respond for operations with a JSON body of type In.
func run[In, T any](a *API, w http.ResponseWriter, r *http.Request, status int, fn func(context.Context, In) (T, error), view func(T) any) {
	var in In
	ctx, err := a.decode(w, r, &in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	respond(a, w, r, status, ctx, func(ctx context.Context) (T, error) {
		// Every mutating route looks its idempotency key up first; the
		// service's transaction settles races between concurrent twins.
		if err := core.CheckIdempotency(ctx, a.o.Store); err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, in)
	}, view)
}

func proj(r *http.Request) string { return principal(r.Context()).ProjectID }

func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, core.Errorf(core.CodeInvalid, "query parameter %s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// list is Voucherify's list envelope, with promorelay's cursor for the next page.
func list(name string, items any, total int, next string) map[string]any {
	out := map[string]any{"object": "list", "data_ref": name, name: items, "total": total, "has_more": next != ""}
	if next != "" {
		out["more_starting_after"] = next
	}
	return out
}

// pageWalk serves Voucherify's page/limit parameters on top of cursors: page
// N skips N-1 pages (page ≤ 99 bounds the work), and a starting_after cursor
// continues directly.
func pageWalk[T any](r *http.Request, fetch func(limit int, cursor string) ([]T, string, error)) ([]T, string, error) {
	limit, err := queryInt(r, "limit", 10, 1, 100)
	if err != nil {
		return nil, "", err
	}
	page, err := queryInt(r, "page", 1, 1, 99)
	if err != nil {
		return nil, "", err
	}
	cursor := r.URL.Query().Get("starting_after")
	for ; page > 1; page-- {
		_, next, err := fetch(limit, cursor)
		if err != nil || next == "" {
			return nil, "", err
		}
		cursor = next
	}
	return fetch(limit, cursor)
}

// queryTimes reads the query parameters named in params as ISO 8601 (RFC
// 3339) date-times; a parameter that is absent leaves its time unchanged.
func queryTimes(r *http.Request, params map[string]*time.Time) error {
	q := r.URL.Query()
	var errs []error
	for param, at := range params {
		v := q.Get(param)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs = append(errs, core.KeyedError(core.CodeInvalid, "invalid_payload",
				"%s must be an ISO 8601 date-time such as 2025-06-01T00:00:00Z", param))
			continue
		}
		*at = t
	}
	return errors.Join(errs...)
}

// serveList answers a list endpoint: Voucherify's envelope around one page.
func serveList[T any](a *API, w http.ResponseWriter, r *http.Request, name string, fetch func(limit int, cursor string) ([]T, string, error)) {
	items, next, err := pageWalk(r, fetch)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if items == nil {
		items = []T{}
	}
	WriteJSON(w, http.StatusOK, list(name, items, len(items), next))
}

// serveOne answers 200 with v when the read that produced it succeeded.
func serveOne(a *API, w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// serveNoContent answers 204 when the operation succeeded.
func serveNoContent(a *API, w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- vouchers

func (a *API) createVoucher(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.VoucherInput) (promo.Voucher, error) {
		if code != "" {
			in.Code = code
		}
		return a.o.Promo.CreateVoucher(ctx, proj(r), in)
	}, nil)
}

func (a *API) getVoucher(w http.ResponseWriter, r *http.Request) {
	v, err := a.o.Promo.GetVoucher(r.Context(), proj(r), r.PathValue("code"))
	serveOne(a, w, r, v, err)
}

func (a *API) listVouchers(w http.ResponseWriter, r *http.Request) {
	camp := r.URL.Query().Get("campaign_id")
	if camp == "" {
		camp = r.URL.Query().Get("campaign")
	}
	serveList(a, w, r, "vouchers", func(limit int, cursor string) ([]promo.Voucher, string, error) {
		pg, err := a.o.Promo.ListVouchers(r.Context(), proj(r), camp, limit, cursor)
		return pg.Vouchers, pg.Next, err
	})
}

func (a *API) updateVoucher(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.VoucherUpdate) (promo.Voucher, error) {
		return a.o.Promo.UpdateVoucher(ctx, proj(r), r.PathValue("code"), in)
	}, nil)
}

func (a *API) deleteVoucher(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Promo.DeleteVoucher(r.Context(), proj(r), r.PathValue("code")))
}

func (a *API) setVoucherActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		run(a, w, r, http.StatusOK, func(ctx context.Context, _ struct{}) (promo.Voucher, error) {
			return a.o.Promo.SetVoucherActive(ctx, proj(r), r.PathValue("code"), active)
		}, nil)
	}
}

type balanceInput struct {
	Amount   *int64 `json:"amount"`
	SourceID string `json:"source_id"`
	Reason   string `json:"reason"`
}

func (a *API) addBalance(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in balanceInput) (promo.Balance, error) {
		if in.Amount == nil {
			return promo.Balance{}, core.Errorf(core.CodeInvalid, "amount is required")
		}
		return a.o.Promo.AddBalance(ctx, proj(r), r.PathValue("code"), promo.BalanceChange{Amount: *in.Amount, SourceID: in.SourceID, Reason: in.Reason})
	}, nil)
}

// ---- campaigns

func (a *API) createCampaign(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.CampaignInput) (promo.Campaign, error) {
		return a.o.Promo.CreateCampaign(ctx, proj(r), in)
	}, nil)
}

func (a *API) getCampaign(w http.ResponseWriter, r *http.Request) {
	c, err := a.o.Promo.GetCampaign(r.Context(), proj(r), r.PathValue("campaignId"))
	serveOne(a, w, r, c, err)
}

func (a *API) listCampaigns(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "campaigns", func(limit int, cursor string) ([]promo.Campaign, string, error) {
		return a.o.Promo.ListCampaigns(r.Context(), proj(r), limit, cursor)
	})
}

func (a *API) updateCampaign(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.CampaignUpdate) (promo.Campaign, error) {
		return a.o.Promo.UpdateCampaign(ctx, proj(r), r.PathValue("campaignId"), in)
	}, nil)
}

func (a *API) deleteCampaign(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Promo.DeleteCampaign(r.Context(), proj(r), r.PathValue("campaignId")))
}

func (a *API) setCampaignActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		run(a, w, r, http.StatusOK, func(ctx context.Context, _ struct{}) (promo.Campaign, error) {
			return a.o.Promo.SetCampaignActive(ctx, proj(r), r.PathValue("campaignId"), active)
		}, nil)
	}
}

func (a *API) addCampaignVouchers(w http.ResponseWriter, r *http.Request) {
	n, err := queryInt(r, "vouchers_count", 1, 1, promo.MaxInlineCodes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	run(a, w, r, http.StatusOK, func(ctx context.Context, _ struct{}) ([]string, error) {
		return a.o.Promo.GenerateCodes(ctx, proj(r), r.PathValue("campaignId"), int64(n), nil)
	}, func(codes []string) any {
		if len(codes) == 1 {
			v, err := a.o.Promo.GetVoucher(r.Context(), proj(r), codes[0])
			if err == nil {
				return v
			}
		}
		return map[string]any{"object": "list", "data_ref": "codes", "codes": codes, "total": len(codes)}
	})
}

func (a *API) addCampaignVoucher(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.VoucherInput) (promo.Voucher, error) {
		in.Code, in.CampaignID = r.PathValue("code"), r.PathValue("campaignId")
		return a.o.Promo.CreateVoucher(ctx, proj(r), in)
	}, nil)
}

// ---- publications

type publishInput struct {
	Voucher  string          `json:"voucher"`
	Campaign json.RawMessage `json:"campaign"` // a name, or {"name": …}
	Customer *promo.Customer `json:"customer"`
	SourceID string          `json:"source_id"`
	Channel  string          `json:"channel"`
	Metadata map[string]any  `json:"metadata"`
}

func (in publishInput) toCore() (promo.PublishInput, error) {
	out := promo.PublishInput{Voucher: in.Voucher, SourceID: in.SourceID, Channel: in.Channel, Metadata: in.Metadata}
	if len(in.Campaign) > 0 && string(in.Campaign) != "null" {
		var name string
		if err := json.Unmarshal(in.Campaign, &name); err != nil {
			var obj struct {
				Name string `json:"name"`
				ID   string `json:"id"`
			}
			if err := json.Unmarshal(in.Campaign, &obj); err != nil {
				return out, core.Errorf(core.CodeInvalid, "campaign: give a campaign name or {\"name\": …}")
			}
			name = firstNonEmpty(obj.ID, obj.Name)
		}
		out.Campaign = name
	}
	if in.Customer != nil {
		c := in.Customer
		out.Customer = customer.Ref{ID: c.ID, SourceID: c.SourceID, Name: c.Name, Email: c.Email, Phone: c.Phone, Metadata: c.Metadata}
	}
	return out, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (a *API) publish(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in publishInput) (promo.Publication, error) {
		pin, err := in.toCore()
		if err != nil {
			return promo.Publication{}, err
		}
		return a.o.Promo.Publish(ctx, proj(r), pin)
	}, nil)
}

// publishGet is Voucherify's GET form of publication (query parameters).
func (a *API) publishGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := promo.PublishInput{Voucher: q.Get("voucher"), Campaign: firstNonEmpty(q.Get("campaign[name]"), q.Get("campaign")),
		SourceID: q.Get("source_id"), Channel: q.Get("channel"),
		Customer: customer.Ref{ID: q.Get("customer[id]"), SourceID: firstNonEmpty(q.Get("customer[source_id]"), q.Get("customer")), Email: q.Get("customer[email]")}}
	respond(a, w, r, http.StatusOK, r.Context(), func(ctx context.Context) (promo.Publication, error) {
		return a.o.Promo.Publish(ctx, proj(r), in)
	}, nil)
}

// ---- validation and redemption

func (a *API) validateStack(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.StackInput) (promo.ValidationResult, error) {
		return a.o.Promo.Validate(ctx, proj(r), in)
	}, nil)
}

func (a *API) redeemStack(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.StackInput) (promo.RedeemResult, error) {
		return a.o.Promo.Redeem(ctx, proj(r), in)
	}, nil)
}

// singleInput is the body of the one-code endpoints.
type singleInput struct {
	Order      *promo.Order       `json:"order"`
	Customer   *promo.Customer    `json:"customer"`
	Gift       *promo.GiftCredits `json:"gift"`
	TrackingID string             `json:"tracking_id"`
	Metadata   map[string]any     `json:"metadata"`
}

func (in singleInput) stack(code string) promo.StackInput {
	return promo.StackInput{Redeemables: []promo.Redeemable{{Object: "voucher", ID: code, Gift: in.Gift}},
		Order: in.Order, Customer: in.Customer, TrackingID: in.TrackingID, Metadata: in.Metadata}
}

// validateVoucher is POST /v1/vouchers/{code}/validate: Voucherify's
// single-code answer shape.
func (a *API) validateVoucher(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	run(a, w, r, http.StatusOK, func(ctx context.Context, in singleInput) (promo.ValidationResult, error) {
		return a.o.Promo.Validate(ctx, proj(r), in.stack(code))
	}, func(res promo.ValidationResult) any { return singleValidation(code, res) })
}

func singleValidation(code string, res promo.ValidationResult) any {
	out := map[string]any{"valid": res.Valid, "code": code, "tracking_id": res.TrackingID}
	if res.Valid {
		rr := res.Redeemables[0]
		if rr.Result.Discount != nil {
			out["discount"] = rr.Result.Discount
		}
		if rr.Result.Gift != nil {
			out["gift"] = rr.Result.Gift
		}
		out["order"] = res.Order
		out["metadata"] = rr.Metadata
		if rr.Metadata == nil {
			out["metadata"] = map[string]any{}
		}
		return out
	}
	e := res.InapplicableRedeemables[0].Result.Error
	out["reason"], out["error"] = e.Details, e
	return out
}

func (a *API) redeemVoucher(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	run(a, w, r, http.StatusOK, func(ctx context.Context, in singleInput) (promo.RedeemResult, error) {
		return a.o.Promo.Redeem(ctx, proj(r), in.stack(code))
	}, func(res promo.RedeemResult) any { return res.Redemptions[0] })
}

func (a *API) voucherRedemptions(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	v, err := a.o.Promo.GetVoucher(r.Context(), proj(r), code)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rs, next, err := pageWalk(r, func(limit int, cursor string) ([]promo.Redemption, string, error) {
		return a.o.Promo.ListRedemptions(r.Context(), proj(r), promo.RedemptionFilter{Voucher: code, Limit: limit, Cursor: cursor})
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if rs == nil {
		rs = []promo.Redemption{}
	}
	out := map[string]any{"object": "list", "data_ref": "redemption_entries", "redemption_entries": rs,
		"total": len(rs), "quantity": v.Redemption.Quantity, "redeemed_quantity": v.Redemption.RedeemedQuantity, "has_more": next != "",
		"url": "/v1/vouchers/" + code + "/redemption"}
	if next != "" {
		out["more_starting_after"] = next
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *API) listRedemptions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := promo.RedemptionFilter{Voucher: q.Get("voucher"), Result: q.Get("result")}
	if c := q.Get("campaign"); c != "" {
		camp, err := a.o.Promo.GetCampaign(r.Context(), proj(r), c)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		f.Campaign = camp.ID
	}
	if err := queryTimes(r, map[string]*time.Time{"created_at[after]": &f.After, "created_at[before]": &f.Before}); err != nil {
		a.fail(w, r, err)
		return
	}
	if c := q.Get("customer"); c != "" {
		cust, err := a.o.Promo.Customers.Find(r.Context(), proj(r), customerRef(c))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		f.Customer = cust.ID
	}
	rs, next, err := pageWalk(r, func(limit int, cursor string) ([]promo.Redemption, string, error) {
		f.Limit, f.Cursor = limit, cursor
		return a.o.Promo.ListRedemptions(r.Context(), proj(r), f)
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}

	if rs == nil {
		rs = []promo.Redemption{}
	}
	WriteJSON(w, http.StatusOK, list("redemptions", rs, len(rs), next))
}

func (a *API) getRedemption(w http.ResponseWriter, r *http.Request) {
	red, err := a.o.Promo.GetRedemption(r.Context(), proj(r), r.PathValue("redemptionId"))
	serveOne(a, w, r, red, err)
}

// rollback is POST /v1/redemptions/{id}/rollback; reason may also come as a
// query parameter, as Voucherify allows.
func (a *API) rollback(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.RollbackInput) (promo.RollbackResult, error) {
		if in.Reason == "" {
			in.Reason = r.URL.Query().Get("reason")
		}
		return a.o.Promo.Rollback(ctx, proj(r), r.PathValue("redemptionId"), in)
	}, func(res promo.RollbackResult) any {
		if res.ParentRollback != nil {
			return res
		}
		return res.Rollbacks[0]
	})
}

func (a *API) rollbackStack(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.RollbackInput) (promo.RollbackResult, error) {
		if in.Reason == "" {
			in.Reason = r.URL.Query().Get("reason")
		}
		return a.o.Promo.Rollback(ctx, proj(r), r.PathValue("redemptionId"), in)
	}, nil)
}

// ---- client side

// clientRedeem refuses redemption with client keys unless the project allows it.
func (a *API) clientRedeem(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !principal(r.Context()).Settings.ClientRedeem {
			a.fail(w, r, core.Errorf(core.CodeForbidden, "this project does not allow redemption with client-side keys"))
			return
		}
		next(w, r)
	}
}

// clientValidateGet is GET /client/v1/validate?code=…&amount=…
func (a *API) clientValidateGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("code")
	if code == "" {
		a.fail(w, r, core.Errorf(core.CodeInvalid, "query parameter code is required"))
		return
	}
	in := singleInput{TrackingID: q.Get("tracking_id")}
	if s := q.Get("amount"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			a.fail(w, r, core.Errorf(core.CodeInvalid, "amount must be a non-negative whole number of cents"))
			return
		}
		in.Order = &promo.Order{Amount: n}
	}
	if s := q.Get("customer[source_id]"); s != "" {
		in.Customer = &promo.Customer{SourceID: s}
	}
	res, err := a.o.Promo.Validate(r.Context(), proj(r), in.stack(code))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, singleValidation(code, res))
}

// clientRedeemOne is POST /client/v1/redeem?code=…
func (a *API) clientRedeemOne(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if code == "" {
		a.fail(w, r, core.Errorf(core.CodeInvalid, "query parameter code is required"))
		return
	}
	run(a, w, r, http.StatusOK, func(ctx context.Context, in singleInput) (promo.RedeemResult, error) {
		return a.o.Promo.Redeem(ctx, proj(r), in.stack(code))
	}, func(res promo.RedeemResult) any { return res.Redemptions[0] })
}
