package httpapi_test

import (
	"net/http"
	"strings"
)

// exports walks the export endpoints over the audience part's orders
// (aud-order-1: PAID 12000, channel web; aud-order-2: PAID 2500).
func (s *scenario) exports() {
	create := withHeader(srv("POST", "/v1/orders/export", obj{"parameters": obj{
		"order":   "created_at",
		"fields":  []any{"source_id", "status", "amount", "metadata.channel", "total_amount"},
		"filters": obj{"source_id": obj{"conditions": obj{"$in": []any{"aud-order-1", "aud-order-2"}}}},
	}}), "Idempotency-Key", "orders-export-1")
	ex := s.do(step{name: "orders_export_create", want: http.StatusOK, req: create,
		expect: map[string]any{"object": "export", "status": "SCHEDULED", "exported_object": "order", "channel": "API",
			"parameters.order": "created_at"}})
	id := s.field(ex, "id")
	s.do(step{name: "orders_export_retry", want: http.StatusOK, writes: writesNothing, req: create,
		expect: map[string]any{"id": id}})
	s.h.app.Exports.Workers.Wait()
	ex = s.do(step{name: "exports_get", want: http.StatusOK, writes: writesNothing, req: srv("GET", "/v1/exports/"+id, nil),
		expect: map[string]any{"id": id, "status": "DONE"}, own: map[string]any{"rows": 2}})
	link := s.field(ex, "result", "url")
	path, ok := strings.CutPrefix(link, s.h.srv.URL)
	if !ok {
		s.t.Fatalf("result.url %s is not on this server", link)
	}
	// The link works without API keys, as Voucherify's download links do.
	ex = s.do(step{name: "exports_download", want: http.StatusOK, writes: writesNothing,
		req: request{Method: "GET", Path: path, Auth: authNone}})
	const file = "source_id,status,amount,metadata.channel,total_amount\naud-order-1,PAID,12000,web,\naud-order-2,PAID,2500,,\n"
	if string(ex.Body) != file {
		s.t.Errorf("exports_download: file\n%s\nwant\n%s", ex.Body, file)
	}
	s.refusedOwn("exports_download_wrong_token", http.StatusNotFound, "not_found",
		request{Method: "GET", Path: "/v1/exports/" + id + "/download?token=" + strings.Repeat("0", 48), Auth: authNone})
	s.refusedOwn("exports_download_without_token", http.StatusNotFound, "not_found",
		request{Method: "GET", Path: "/v1/exports/" + id + "/download", Auth: authNone})

	ex = s.do(step{name: "exports_create", want: http.StatusOK,
		req:    srv("POST", "/v1/exports", obj{"exported_object": "order"}),
		expect: map[string]any{"exported_object": "order", "parameters.order": "-created_at"},
		own:    map[string]any{"parameters.fields": []any{"id", "source_id", "status"}}})
	second := s.field(ex, "id")
	s.h.app.Exports.Workers.Wait()
	s.do(step{name: "exports_list", want: http.StatusOK, writes: writesNothing, req: srv("GET", "/v1/exports", nil),
		own: map[string]any{"total": 2, "exports.0.id": second, "exports.1.id": id}})

	s.refusedOwn("exports_create_unknown_object", http.StatusBadRequest, "unsupported_parameter",
		srv("POST", "/v1/exports", obj{"exported_object": "voucher"}))
	s.refusedOwn("exports_create_without_object", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/exports", obj{}))
	s.refusedOwn("orders_export_unknown_field", http.StatusBadRequest, "invalid_payload",
		srv("POST", "/v1/orders/export", obj{"parameters": obj{"fields": []any{"id", "colour"}}}))
	s.refusedOwn("orders_export_unserved_order", http.StatusBadRequest, "unsupported_parameter",
		srv("POST", "/v1/orders/export", obj{"parameters": obj{"order": "-status"}}))
	s.refusedOwn("orders_export_bad_filter", http.StatusBadRequest, "invalid_export_filter",
		srv("POST", "/v1/orders/export", obj{"parameters": obj{"filters": obj{"amount": obj{"conditions": obj{"$count": 1}}}}}))
	s.refused("exports_other_project", http.StatusNotFound, "not_found",
		withAuth(srv("GET", "/v1/exports/"+id, nil), authOther))
	s.refused("exports_delete_other_project", http.StatusNotFound, "not_found",
		withAuth(srv("DELETE", "/v1/exports/"+id, nil), authOther))

	s.do(step{name: "exports_delete", want: http.StatusNoContent, req: srv("DELETE", "/v1/exports/"+second, nil)})
	s.refused("exports_get_deleted", http.StatusNotFound, "not_found", srv("GET", "/v1/exports/"+second, nil))
	s.do(step{name: "exports_delete_first", want: http.StatusNoContent, req: srv("DELETE", "/v1/exports/"+id, nil)})
	s.refusedOwn("exports_download_deleted", http.StatusNotFound, "not_found",
		request{Method: "GET", Path: path, Auth: authNone})
}
