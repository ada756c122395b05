package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/promorelay/promorelay/core"
)

// statusOf is the one table from error code to HTTP status.
var statusOf = map[core.Code]int{
	core.CodeInvalid:           http.StatusBadRequest,
	core.CodeNotFound:          http.StatusNotFound,
	core.CodeConditionFailed:   http.StatusConflict,
	core.CodeConflict:          http.StatusConflict,
	core.CodeThrottled:         http.StatusTooManyRequests,
	core.CodeUnauthorized:      http.StatusUnauthorized,
	core.CodeForbidden:         http.StatusForbidden,
	core.CodeUnavailable:       http.StatusServiceUnavailable,
	core.CodeInternal:          http.StatusInternalServerError,
	core.CodePayloadTooLarge:   http.StatusRequestEntityTooLarge,
	core.CodeIdempotencyReused: http.StatusConflict,
}

// Status returns the HTTP status for err.
func Status(err error) int {
	if s, ok := statusOf[core.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is Voucherify's error object: code is the HTTP status, key the
// machine-readable error key.
type ErrorBody struct {
	Code      int    `json:"code"`
	Key       string `json:"key"`
	Message   string `json:"message"`
	Details   string `json:"details,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// ResourceID and ResourceType name the object concerned, e.g. the failed
	// redemption recorded for a refused redeem call.
	ResourceID   string `json:"resource_id,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
}

// WriteError answers with err's status and error body. Internal errors are
// logged in full and shown to the client as "internal error" only.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := Status(err)
	body := ErrorBody{
		Code:      status,
		Key:       core.ErrorKey(err),
		Message:   core.ErrorMessage(err),
		RequestID: RequestID(r.Context()),
	}
	var ce *core.Error
	if errors.As(err, &ce) && ce.Code != core.CodeInternal {
		body.Details = ce.Message
		body.Message = http.StatusText(status)
		body.ResourceID, body.ResourceType = ce.ResourceID, ce.ResourceType
	}
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "err", err, "status", status)
	}
	WriteJSON(w, status, body)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
