package httpapi

import (
	"context"
	"net/http"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/export"
	"github.com/promorelay/promorelay/core/project"
)

// exportRoutes serve Voucherify's exports: POST /v1/orders/export and
// /v1/exports make a CSV file in the background; GET /v1/exports/{id}
// shows its status and, once DONE, result.url, the download link. The link
// (promorelay's /download path) carries its own token instead of API keys,
// as Voucherify's download links do.
func (a *API) exportRoutes() {
	srv := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.authenticate(project.Server, h)) }
	srv("POST /v1/orders/export", a.createOrderExport)
	srv("POST /v1/exports", a.createExport)
	srv("GET /v1/exports", a.listExports)
	srv("GET /v1/exports/{exportId}", a.getExport)
	srv("DELETE /v1/exports/{exportId}", a.deleteExport)
	a.mux.HandleFunc("GET /v1/exports/{exportId}/download", a.downloadExport)
}

type orderExportBody struct {
	Parameters export.Parameters `json:"parameters"`
}

type exportBody struct {
	ExportedObject string            `json:"exported_object"`
	Parameters     export.Parameters `json:"parameters"`
}

func (a *API) createOrderExport(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in orderExportBody) (export.Export, error) {
		return a.o.Exports.Create(ctx, proj(r), "order", in.Parameters, baseURL(r))
	}, nil)
}

func (a *API) createExport(w http.ResponseWriter, r *http.Request) {
	run(a, w, r, http.StatusOK, func(ctx context.Context, in exportBody) (export.Export, error) {
		if in.ExportedObject == "" {
			return export.Export{}, core.KeyedError(core.CodeInvalid, "invalid_payload", "exported_object is required")
		}
		return a.o.Exports.Create(ctx, proj(r), in.ExportedObject, in.Parameters, baseURL(r))
	}, nil)
}

func (a *API) listExports(w http.ResponseWriter, r *http.Request) {
	serveList(a, w, r, "exports", func(limit int, cursor string) ([]export.Export, string, error) {
		return a.o.Exports.List(r.Context(), proj(r), limit, cursor)
	})
}

func (a *API) getExport(w http.ResponseWriter, r *http.Request) {
	e, err := a.o.Exports.Get(r.Context(), proj(r), r.PathValue("exportId"))
	serveOne(a, w, r, e, err)
}

func (a *API) deleteExport(w http.ResponseWriter, r *http.Request) {
	serveNoContent(a, w, r, a.o.Exports.Delete(r.Context(), proj(r), r.PathValue("exportId")))
}

// downloadExport serves an export's CSV file to whoever holds its link.
func (a *API) downloadExport(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("exportId")
	started := false
	err := a.o.Exports.Download(r.Context(), id, r.URL.Query().Get("token"), func(e export.Export) {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+e.ExportedObject+`-`+e.ID+`.csv"`)
		w.Header().Set("Cache-Control", "private, no-store")
		w.WriteHeader(http.StatusOK)
	}, w)
	switch {
	case err == nil:
	case !started:
		a.fail(w, r, err)
	default:
		// The status line is sent: the client sees a cut file, the log why.
		a.o.Logger.ErrorContext(r.Context(), "export download cut short", "export", id, "err", err)
	}
}

// baseURL is the scheme and host clients reached this API at.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
