package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/promo"
)

// maxImportBody bounds an import's body (Voucherify's limit), CSV
// multipart overhead included.
const maxImportBody = 10 << 20

// maxMappingField bounds the mapping form field of a CSV import.
const maxMappingField = 64 << 10

// createCampaignOrStart is POST /v1/campaigns: campaigns with up to
// MaxInlineCodes codes are created by createCampaign; above, the answer is
// the campaign with the async_action_id of the job generating its codes.
func (a *API) createCampaignOrStart(w http.ResponseWriter, r *http.Request) {
	body, _, err := a.readBody(w, r, maxBody)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var peek struct {
		VouchersCount int64 `json:"vouchers_count"`
	}
	if json.Unmarshal(body, &peek) != nil || peek.VouchersCount <= promo.MaxInlineCodes {
		a.createCampaign(w, r)
		return
	}
	run(a, w, r, http.StatusOK, func(ctx context.Context, in promo.CampaignInput) (promo.CampaignCreated, error) {
		return a.o.Promo.CreateCampaignAsync(withRequestID(ctx), proj(r), in)
	}, nil)
}

// addCampaignVouchersOrStart is POST /v1/campaigns/{id}/vouchers: up to
// MaxInlineCodes codes are made by addCampaignVouchers; more (up to
// promo.MaxGeneratedCodes) by a job, answered 202 with its async_action_id.
func (a *API) addCampaignVouchersOrStart(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("vouchers_count"), 10, 64)
	if err != nil || n <= promo.MaxInlineCodes {
		a.addCampaignVouchers(w, r)
		return
	}
	if n > promo.MaxGeneratedCodes {
		a.fail(w, r, core.Errorf(core.CodeInvalid, "query parameter vouchers_count must be a whole number from 1 to %d", promo.MaxGeneratedCodes))
		return
	}
	run(a, w, r, http.StatusAccepted, func(ctx context.Context, _ struct{}) (promo.JobStarted, error) {
		return a.o.Promo.StartGeneration(withRequestID(ctx), proj(r), r.PathValue("campaignId"), n)
	}, nil)
}

// importJSON is POST /v1/vouchers/import and /v1/campaigns/{id}/import.
func (a *API) importJSON(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ctx, err := a.readBody(w, r, maxImportBody)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		rows, err := promo.ParseImportJSON(body)
		if err != nil {
			a.failImport(w, r, err)
			return
		}
		a.startImport(w, r, ctx, http.StatusAccepted, promo.ImportInput{Type: kind, Campaign: r.PathValue("campaignId"), Rows: rows})
	}
}

// importCSV is POST /v1/vouchers/importCSV and /v1/campaigns/{id}/importCSV:
// the file comes as the multipart/form-data field "file" (as Voucherify
// takes it) or as a text/csv body. promorelay also takes a column mapping,
// a JSON object of header name to field, as the form field or query
// parameter "mapping".
func (a *API) importCSV(kind string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ctx, err := a.readBody(w, r, maxImportBody)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		file, mapping, err := csvUpload(r, body)
		if err != nil {
			a.failImport(w, r, err)
			return
		}
		rows, err := promo.ParseImportCSV(file, mapping)
		if err != nil {
			a.failImport(w, r, err)
			return
		}
		a.startImport(w, r, ctx, status, promo.ImportInput{Type: kind, Campaign: r.PathValue("campaignId"), Rows: rows})
	}
}

func (a *API) startImport(w http.ResponseWriter, r *http.Request, ctx context.Context, status int, in promo.ImportInput) {
	ctx = withRequestID(ctx)
	err := core.CheckIdempotency(ctx, a.o.Store)
	var started promo.JobStarted
	if err == nil {
		started, err = a.o.Promo.ImportVouchers(ctx, proj(r), in)
	}
	if rep := (*core.Replayed)(nil); errors.As(err, &rep) {
		w.Header().Set("Idempotent-Replayed", "true")
		WriteJSON(w, status, json.RawMessage(rep.Result))
		return
	}
	if err != nil {
		a.failImport(w, r, err)
		return
	}
	WriteJSON(w, status, started)
}

// csvUpload finds the CSV file and the mapping in a request.
func csvUpload(r *http.Request, body []byte) ([]byte, map[string]string, error) {
	mapping := r.URL.Query().Get("mapping")
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, badPayload("send the CSV as multipart/form-data (field file) or with Content-Type: text/csv")
	}
	var file []byte
	switch mediaType {
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		found := false
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, badPayload("malformed multipart body: %v", err)
			}
			switch part.FormName() {
			case "file":
				if file, err = io.ReadAll(part); err != nil {
					return nil, nil, badPayload("malformed multipart body: %v", err)
				}
				found = true
			case "mapping":
				b, err := io.ReadAll(io.LimitReader(part, maxMappingField+1))
				if err != nil || len(b) > maxMappingField {
					return nil, nil, badPayload("the mapping field must be a JSON object of at most %d bytes", maxMappingField)
				}
				mapping = string(b)
			}
		}
		if !found {
			return nil, nil, badPayload("the multipart body needs the CSV file in the field file")
		}
	case "text/csv", "application/csv", "text/plain":
		file = body
	default:
		return nil, nil, badPayload("send the CSV as multipart/form-data (field file) or with Content-Type: text/csv, not %s", mediaType)
	}
	if strings.TrimSpace(mapping) == "" {
		return file, nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(mapping), &m); err != nil {
		return nil, nil, badPayload(`mapping must be a JSON object of CSV header to field, e.g. {"Coupon": "code", "Amount": "gift_amount"}`)
	}
	return file, m, nil
}

func badPayload(format string, args ...any) error {
	return core.KeyedError(core.CodeInvalid, "invalid_payload", format, args...)
}

// importErrorBody is the error body of a refused import: Voucherify's error
// with promorelay's list of bad rows.
type importErrorBody struct {
	ErrorBody
	Errors      []promo.ImportProblem `json:"errors"`
	ErrorsTotal int                   `json:"errors_total"`
}

// failImport writes err; a refused import also lists its bad rows.
func (a *API) failImport(w http.ResponseWriter, r *http.Request, err error) {
	var probs *promo.ImportProblems
	var ce *core.Error
	if !errors.As(err, &probs) || !errors.As(err, &ce) {
		a.fail(w, r, err)
		return
	}
	status := Status(err)
	WriteJSON(w, status, importErrorBody{
		ErrorBody: ErrorBody{Code: status, Key: core.ErrorKey(err), Message: http.StatusText(status),
			Details: ce.Message, RequestID: RequestID(r.Context())},
		Errors: probs.Problems, ErrorsTotal: probs.Total,
	})
}

func (a *API) getAsyncAction(w http.ResponseWriter, r *http.Request) {
	job, err := a.o.Promo.GetJob(r.Context(), proj(r), r.PathValue("asyncActionId"))
	serveOne(a, w, r, job, err)
}

// listAsyncActions is GET /v1/async-actions, newest first.
func (a *API) listAsyncActions(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "async_actions", func(limit int, cursor string) ([]promo.Job, string, error) {
		return a.o.Promo.ListJobs(r.Context(), proj(r), limit, cursor)
	})
}

func withRequestID(ctx context.Context) context.Context {
	return promo.WithRequestID(ctx, RequestID(ctx))
}
