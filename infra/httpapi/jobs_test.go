package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
	"github.com/promorelay/promorelay/internal/app"
	"github.com/promorelay/promorelay/internal/dynamolocal"
	"github.com/promorelay/promorelay/internal/enginetest"
)

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

// apiClient calls a test server with one project's server keys.
type apiClient struct {
	t      *testing.T
	url    string
	keys   project.Keys
	runner *promo.JobRunner
}

// newAPI serves the app over s with a job runner, and returns a client of
// a new project.
func newAPI(t *testing.T, s core.Store) (*apiClient, *app.App) {
	t.Helper()
	a := app.New(s, nil)
	if a.Promo.Jobs == nil {
		a.Promo.Jobs = promo.NewJobRunner()
	}
	runner := a.Promo.Jobs
	t.Cleanup(func() { _ = runner.Close() })
	srv := httptest.NewServer(a.Handler(app.HTTPOptions{Engine: "test"}))
	t.Cleanup(srv.Close)
	return newClient(t, a, srv.URL, "Jobs"), a
}

func newClient(t *testing.T, a *app.App, url, projectName string) *apiClient {
	t.Helper()
	keys, err := a.Projects.CreateKeys(context.Background(), projectName)
	if err != nil {
		t.Fatal(err)
	}
	return &apiClient{t: t, url: url, keys: keys, runner: a.Promo.Jobs}
}

// do sends a request and returns the status, body and headers.
func (c *apiClient) do(method, path, contentType string, body []byte, header ...string) (int, []byte, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-App-Id", c.keys.AppID)
	req.Header.Set("X-App-Token", c.keys.AppToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, out, resp.Header
}

func (c *apiClient) json(method, path string, body any, wantStatus int, out any) {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	status, resp, _ := c.do(method, path, "application/json", b)
	if status != wantStatus {
		c.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, wantStatus, resp)
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, resp, err)
		}
	}
}

type asyncAction struct {
	ID             string           `json:"id"`
	Type           string           `json:"type"`
	Status         string           `json:"status"`
	Progress       int              `json:"progress"`
	DoneCount      int64            `json:"done_count"`
	TotalCount     int64            `json:"total_count"`
	Result         *promo.JobResult `json:"result"`
	CreatedAt      string           `json:"created_at"`
	UpdatedAt      string           `json:"updated_at"`
	RequestID      string           `json:"request_id"`
	ProcessingTime *int64           `json:"processing_time"`
	Object         string           `json:"object"`
}

// finished waits for the runner and reads the async action.
func (c *apiClient) finished(id string) asyncAction {
	c.t.Helper()
	c.runner.Wait()
	var aa asyncAction
	c.json("GET", "/v1/async-actions/"+id, nil, http.StatusOK, &aa)
	if aa.ID != id || aa.Object != "async_action" || aa.CreatedAt == "" || aa.UpdatedAt == "" || aa.ProcessingTime == nil || aa.RequestID == "" {
		c.t.Fatalf("async action %+v lacks Voucherify's fields", aa)
	}
	return aa
}

type errorBody struct {
	Code        int                   `json:"code"`
	Key         string                `json:"key"`
	Message     string                `json:"message"`
	Details     string                `json:"details"`
	Errors      []promo.ImportProblem `json:"errors"`
	ErrorsTotal int                   `json:"errors_total"`
}

func (c *apiClient) wantError(status int, body []byte, wantStatus int, wantKey string) errorBody {
	c.t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		c.t.Fatalf("error body %s: %v", body, err)
	}
	if status != wantStatus || e.Code != wantStatus || e.Key != wantKey || e.Details == "" {
		c.t.Fatalf("status %d body %s, want %d with key %s", status, body, wantStatus, wantKey)
	}
	return e
}

func (c *apiClient) wantNoVoucher(codes ...string) {
	c.t.Helper()
	for _, code := range codes {
		if status, body, _ := c.do("GET", "/v1/vouchers/"+code, "", nil); status != http.StatusNotFound {
			c.t.Fatalf("voucher %s: status %d (%s), want 404", code, status, body)
		}
	}
}

func multipartCSV(t *testing.T, csv, mapping string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	f, err := w.CreateFormFile("file", "codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, csv)
	if mapping != "" {
		_ = w.WriteField("mapping", mapping)
	}
	_ = w.WriteField("webhooks_enable", "true")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

func TestAsyncGenerationOverHTTP(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		c, _ := newAPI(t, s)
		var created struct {
			ID            string `json:"id"`
			Name          string `json:"name"`
			VouchersCount int64  `json:"vouchers_count"`
			AsyncActionID string `json:"async_action_id"`
			Object        string `json:"object"`
		}
		c.json("POST", "/v1/campaigns", map[string]any{"name": "Bulk", "campaign_type": "DISCOUNT_COUPONS",
			"vouchers_count": promo.MaxInlineCodes + 1,
			"voucher":        map[string]any{"discount": map[string]any{"type": "PERCENT", "percent_off": 10}}}, http.StatusOK, &created)
		if created.ID == "" || created.Object != "campaign" || !strings.HasPrefix(created.AsyncActionID, "aa_") {
			t.Fatalf("created %+v, want a campaign with an async_action_id", created)
		}
		aa := c.finished(created.AsyncActionID)
		if aa.Status != promo.JobDone || aa.Type != promo.JobGenerate || aa.Progress != 100 || aa.DoneCount != promo.MaxInlineCodes+1 || aa.Result == nil {
			t.Fatalf("campaign's job %+v, want DONE", aa)
		}

		var started promo.JobStarted
		c.json("POST", fmt.Sprintf("/v1/campaigns/%s/vouchers?vouchers_count=%d", created.ID, promo.MaxInlineCodes+1), nil, http.StatusAccepted, &started)
		if aa := c.finished(started.AsyncActionID); aa.Status != promo.JobDone || aa.TotalCount != promo.MaxInlineCodes+1 {
			t.Fatalf("job %+v, want DONE", aa)
		}
		var camp struct {
			VouchersCount int64 `json:"vouchers_count"`
		}
		c.json("GET", "/v1/campaigns/"+created.ID, nil, http.StatusOK, &camp)
		if camp.VouchersCount != 2*(promo.MaxInlineCodes+1) {
			t.Fatalf("campaign has %d codes, want %d", camp.VouchersCount, 2*(promo.MaxInlineCodes+1))
		}
		// Small counts stay synchronous.
		var one struct {
			Code string `json:"code"`
		}
		c.json("POST", "/v1/campaigns/"+created.ID+"/vouchers?vouchers_count=1", nil, http.StatusOK, &one)
		if one.Code == "" {
			t.Fatal("vouchers_count=1 did not answer the voucher")
		}

		var listed struct {
			Object       string      `json:"object"`
			DataRef      string      `json:"data_ref"`
			AsyncActions []promo.Job `json:"async_actions"`
		}
		c.json("GET", "/v1/async-actions?limit=10", nil, http.StatusOK, &listed)
		if listed.Object != "list" || listed.DataRef != "async_actions" || len(listed.AsyncActions) != 2 ||
			listed.AsyncActions[0].ID != started.AsyncActionID || listed.AsyncActions[1].ID != created.AsyncActionID {
			t.Fatalf("list %+v, want both jobs, newest first", listed)
		}

		status, body, _ := c.do("POST", fmt.Sprintf("/v1/campaigns/%s/vouchers?vouchers_count=%d", created.ID, promo.MaxGeneratedCodes+1), "", nil)
		c.wantError(status, body, http.StatusBadRequest, "invalid")
		status, body, _ = c.do("POST", "/v1/campaigns/nope/vouchers?vouchers_count=5000", "", nil)
		c.wantError(status, body, http.StatusNotFound, "not_found")
		status, body, _ = c.do("GET", "/v1/async-actions/aa_nope", "", nil)
		c.wantError(status, body, http.StatusNotFound, "not_found")
	})
}

func TestImportsOverHTTP(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		c, a := newAPI(t, s)

		// JSON, with an idempotency key sent twice.
		body := []byte(`[{"code": "J-1", "type": "GIFT_VOUCHER", "gift": {"amount": 2500}, "expiration_date": "2030-01-01"},
			{"code": "J-2", "type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 500}}]`)
		status, resp, _ := c.do("POST", "/v1/vouchers/import", "application/json", body, "Idempotency-Key", "import-1")
		var started promo.JobStarted
		if status != http.StatusAccepted || json.Unmarshal(resp, &started) != nil || started.AsyncActionID == "" {
			t.Fatalf("import: %d %s", status, resp)
		}
		status, resp, hdr := c.do("POST", "/v1/vouchers/import", "application/json", body, "Idempotency-Key", "import-1")
		var again promo.JobStarted
		if status != http.StatusAccepted || json.Unmarshal(resp, &again) != nil || again != started || hdr.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replayed import: %d %s", status, resp)
		}
		if aa := c.finished(started.AsyncActionID); aa.Status != promo.JobDone || aa.Type != promo.JobImport || aa.Result.DoneCount != 2 {
			t.Fatalf("import job %+v", aa)
		}
		var v promo.Voucher
		c.json("GET", "/v1/vouchers/J-1", nil, http.StatusOK, &v)
		if v.Gift == nil || v.Gift.Balance != 2500 || v.ExpirationDate == nil {
			t.Fatalf("J-1 = %+v", v)
		}

		// CSV as Voucherify sends it, into a campaign, with a mapping.
		var camp promo.Campaign
		c.json("POST", "/v1/campaigns", map[string]any{"name": "Cards", "campaign_type": "GIFT_VOUCHERS",
			"voucher": map[string]any{"gift": map[string]any{"amount": 1000}}}, http.StatusOK, &camp)
		form, ctype := multipartCSV(t, "Coupon,Value,Expiration Date,Tier\nC-1,1500,2030-01-01,gold\nC-2,,,silver\n", `{"Coupon": "code"}`)
		status, resp, _ = c.do("POST", "/v1/campaigns/"+camp.ID+"/importCSV", ctype, form)
		if status != http.StatusOK || json.Unmarshal(resp, &started) != nil {
			t.Fatalf("campaign importCSV: %d %s", status, resp)
		}
		if aa := c.finished(started.AsyncActionID); aa.Status != promo.JobDone || aa.Type != promo.JobCampaignImportCSV || aa.DoneCount != 2 {
			t.Fatalf("campaign import job %+v", aa)
		}
		c.json("GET", "/v1/vouchers/C-1", nil, http.StatusOK, &v)
		if v.CampaignID != camp.ID || v.Gift.Amount != 1500 || v.Metadata["Tier"] != "gold" {
			t.Fatalf("C-1 = %+v", v)
		}

		// Raw text/csv with the mapping as a query parameter.
		status, resp, _ = c.do("POST", `/v1/vouchers/importCSV?mapping={"Kind":"type"}`, "text/csv; charset=utf-8",
			[]byte("Code,Kind,Value,Discount Type\nR-1,DISCOUNT_VOUCHER,15,PERCENT\n"))
		if status != http.StatusAccepted || json.Unmarshal(resp, &started) != nil {
			t.Fatalf("raw importCSV: %d %s", status, resp)
		}
		if aa := c.finished(started.AsyncActionID); aa.Status != promo.JobDone {
			t.Fatalf("raw import job %+v", aa)
		}
		c.json("GET", "/v1/vouchers/R-1", nil, http.StatusOK, &v)
		if v.Discount == nil || v.Discount.PercentOff == nil || *v.Discount.PercentOff != 15 {
			t.Fatalf("R-1 = %+v", v)
		}

		// Another project cannot see the jobs.
		other := newClient(t, a, c.url, "Other")
		status, resp, _ = other.do("GET", "/v1/async-actions/"+started.AsyncActionID, "", nil)
		other.wantError(status, resp, http.StatusNotFound, "not_found")
	})
}

func TestImportErrorsOverHTTP(t *testing.T) {
	enginetest.Run(t, nil, func(t *testing.T, s core.Store) {
		c, _ := newAPI(t, s)
		if status, _, _ := c.do("POST", "/v1/vouchers", "application/json", []byte(`{"code": "EXISTS", "type": "GIFT_VOUCHER", "gift": {"amount": 100}}`)); status != http.StatusOK {
			t.Fatalf("create EXISTS: %d", status)
		}

		badRows := "Code,Voucher Type,Value\nB-1,GIFT_VOUCHER,100\nB-2,GIFT_VOUCHER,-1\nB-3,GIFT_VOUCHER,abc\nB-4,LOYALTY_CARD,1\nB-5,GIFT_VOUCHER,100\n"
		form, ctype := multipartCSV(t, badRows, "")
		status, body, _ := c.do("POST", "/v1/vouchers/importCSV", ctype, form)
		e := c.wantError(status, body, http.StatusBadRequest, "invalid_voucher")
		if e.ErrorsTotal != 3 || len(e.Errors) != 3 || e.Errors[0].Line != 3 || e.Errors[1].Line != 4 || e.Errors[2].Line != 5 {
			t.Fatalf("errors %+v, want lines 3, 4, 5", e)
		}

		form, ctype = multipartCSV(t, "Code,Voucher Type,Value\nD-1,GIFT_VOUCHER,100\nEXISTS,GIFT_VOUCHER,100\n", "")
		status, body, _ = c.do("POST", "/v1/vouchers/importCSV", ctype, form)
		if e := c.wantError(status, body, http.StatusBadRequest, "duplicate_key"); len(e.Errors) != 1 || e.Errors[0].Line != 3 {
			t.Fatalf("duplicate errors %+v", e)
		}

		for _, tt := range []struct {
			name, path, ctype string
			body              []byte
			status            int
			key               string
		}{
			{"malformed JSON", "/v1/vouchers/import", "application/json", []byte(`[{"code": "X-1",}]`), 400, "invalid_payload"},
			{"JSON not a list", "/v1/vouchers/import", "application/json", []byte(`{"code": "X-1"}`), 400, "invalid_payload"},
			{"unknown mapping column", `/v1/vouchers/importCSV?mapping={"Amount":"value"}`, "text/csv", []byte("Code\nX-1\n"), 400, "invalid_payload"},
			{"bad mapping", `/v1/vouchers/importCSV?mapping=Amount`, "text/csv", []byte("Code\nX-1\n"), 400, "invalid_payload"},
			{"no file field", "/v1/vouchers/importCSV", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--xyz--\r\n"), 400, "invalid_payload"},
			{"unsupported type", "/v1/vouchers/importCSV", "application/json", []byte(`{}`), 400, "invalid_payload"},
			{"bad quotes", "/v1/vouchers/importCSV", "text/csv", []byte("Code\n\"X-1\n"), 400, "invalid_payload"},
			{"unknown campaign", "/v1/campaigns/nope/import", "application/json", []byte(`[{"code": "X-1"}]`), 404, "not_found"},
			{"too large", "/v1/vouchers/importCSV", "text/csv", append([]byte("Code\nX-1\n"), bytes.Repeat([]byte("X\n"), 5<<20+1)...), 413, "payload_too_large"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, body, _ := c.do("POST", tt.path, tt.ctype, tt.body)
				c.wantError(status, body, tt.status, tt.key)
			})
		}
		c.wantNoVoucher("B-1", "B-5", "D-1", "X-1")
		var listed struct {
			AsyncActions []promo.Job `json:"async_actions"`
		}
		c.json("GET", "/v1/async-actions", nil, http.StatusOK, &listed)
		if len(listed.AsyncActions) != 0 {
			t.Fatalf("refused imports stored jobs: %+v", listed.AsyncActions)
		}
	})
}
