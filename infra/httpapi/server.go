// Package httpapi is promorelay's HTTP adapter: one handler tree, served by
// the local binary and, through the API Gateway proxy, by the api Lambda.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/promorelay/promorelay/core"
)

// Options are the dependencies of the handler tree.
type Options struct {
	Store  core.Store
	Engine string // reported by /healthz
	Logger *slog.Logger
	Clock  core.Clock
}

// New returns the handler tree with its middleware.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = core.SystemClock{}
	}
	mux := http.NewServeMux()
	h := &handlers{o: o}
	mux.HandleFunc("GET /healthz", h.health)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, o.Logger, core.Errorf(core.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	return chain(mux, requestID, recoverer(o.Logger), accessLog(o.Logger))
}

type handlers struct{ o Options }

// health answers 200 when the store answers a read within two seconds.
func (h *handlers) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := h.o.Store.Get(ctx, core.Key{PK: "health", SK: "probe"})
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		h.o.Logger.WarnContext(r.Context(), "health check failed", "err", err)
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": h.o.Engine})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "store": h.o.Engine})
}

// Middleware wraps a handler with a cross-cutting concern.
type Middleware func(http.Handler) http.Handler

// chain applies mws so that the first is the outermost.
func chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

type ctxKey int

const requestIDKey ctxKey = 1

// RequestID returns the request's id ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// requestID gives every request an id, echoed in X-Request-Id and error bodies.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := "r-" + hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func recoverer(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
					WriteError(w, r, log, core.Errorf(core.CodeInternal, "panic"))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs one line per request: method, path (never the query, which
// may carry tokens), status, size and duration. Headers are never logged.
func accessLog(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			log.InfoContext(r.Context(), "request",
				"method", r.Method, "path", r.URL.Path, "status", rec.status,
				"bytes", rec.bytes, "duration", time.Since(start), "request_id", RequestID(r.Context()))
		})
	}
}
