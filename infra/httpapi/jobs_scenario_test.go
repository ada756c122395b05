package httpapi_test

import "net/http"

// jobs imports codes, as JSON and as CSV, standalone and into the Gift
// Cards campaign, and reads the async actions that did it. Each step that
// starts a job waits for it, so the next step sees its work.
func (s *scenario) jobs(c campaignIDs) {
	csv := func(path, body string) request {
		return withHeader(request{Method: "POST", Path: path, Auth: authServer, Raw: body}, "Content-Type", "text/csv")
	}
	ex := s.started(step{name: "imports_vouchers_json", want: http.StatusAccepted,
		req: srv("POST", "/v1/vouchers/import", []any{
			obj{"code": "IMP-1", "type": "DISCOUNT_VOUCHER", "discount": obj{"type": "AMOUNT", "amount_off": 300}},
			obj{"code": "IMP-2", "type": "GIFT_VOUCHER", "gift": obj{"amount": 2000}},
		})})
	first := s.field(ex, "async_action_id")
	s.started(step{name: "imports_vouchers_csv", want: http.StatusAccepted,
		req: csv("/v1/vouchers/importCSV", "Code,Voucher Type,Value\nIMP-CSV-1,GIFT_VOUCHER,1500\n")})
	s.started(step{name: "imports_campaign_json", want: http.StatusAccepted,
		req: srv("POST", "/v1/campaigns/"+c.gift+"/import", []any{obj{"code": "GIFT-IMP-1"}})})
	// The reference answers a campaign's CSV import with 200, not 202.
	s.started(step{name: "imports_campaign_csv", want: http.StatusOK,
		req: csv("/v1/campaigns/"+c.gift+"/importCSV", "Code\nGIFT-IMP-2\n")})
	s.ok("async_actions_get", srv("GET", "/v1/async-actions/"+first, nil))
	s.ok("async_actions_list", srv("GET", "/v1/async-actions", nil))
	s.ok("vouchers_get_imported", srv("GET", "/v1/vouchers/GIFT-IMP-2", nil))

	s.refused("imports_malformed_json", http.StatusBadRequest, "invalid_payload",
		request{Method: "POST", Path: "/v1/vouchers/import", Auth: authServer, Raw: `[{"code": "IMP-X",}]`})
	s.refused("imports_unknown_campaign", http.StatusNotFound, "not_found",
		srv("POST", "/v1/campaigns/"+esc("No Such Campaign")+"/import", []any{obj{"code": "IMP-Y"}}))
	s.refused("errors_unknown_async_action", http.StatusNotFound, "not_found",
		srv("GET", "/v1/async-actions/aa_01jwx0000000000000000000zz", nil))
}

// started runs a step that starts a job and waits for the job to end.
func (s *scenario) started(st step) *exchange {
	s.t.Helper()
	ex := s.do(st)
	s.h.app.Promo.Jobs.Wait()
	return ex
}
