// Package httpapi is promorelay's HTTP adapter: one handler tree, served by
// the local binary and, through the API Gateway proxy, by the api Lambda.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"golang.org/x/time/rate"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/audience"
	"github.com/promorelay/promorelay/core/export"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/core/promo"
)

// Options are the dependencies of the handler tree.
type Options struct {
	Store    core.Store
	Engine   string // reported by /healthz
	Logger   *slog.Logger
	Clock    core.Clock
	Projects *project.Service
	Promo    *promo.Service
	Audience *audience.Service
	Exports  *export.Service
	// RatePerSecond and RateBurst bound each API key's request rate.
	RatePerSecond float64
	RateBurst     int
	// AdminToken guards the /admin endpoints; empty disables them.
	AdminToken string
}

// API is the handler tree.
type API struct {
	o      Options
	mux    *http.ServeMux
	limits *limiters
}

// New returns the handler tree with its middleware.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = core.SystemClock{}
	}
	if o.RatePerSecond <= 0 {
		o.RatePerSecond = 500
	}
	if o.RateBurst <= 0 {
		o.RateBurst = 1000
	}
	a := &API{o: o, mux: http.NewServeMux(), limits: &limiters{per: rate.Limit(o.RatePerSecond), burst: o.RateBurst}}
	a.mux.HandleFunc("GET /healthz", a.health)
	if o.Projects != nil && o.Promo != nil {
		a.promoRoutes()
		a.insightRoutes()
	}
	if o.Projects != nil && o.Audience != nil {
		a.audienceRoutes()
		a.inboundRoutes()
	}
	if o.Projects != nil && o.Exports != nil {
		a.exportRoutes()
	}
	if o.Projects != nil {
		a.mux.HandleFunc("POST /admin/v1/projects/{name}/keys", a.admin(a.createKeys))
		a.mux.HandleFunc("PUT /admin/v1/projects/{name}/settings", a.admin(a.updateSettings))
		a.mux.HandleFunc("PUT /admin/v1/projects/{name}/secrets", a.admin(a.updateSecrets))
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, core.Errorf(core.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	return chain(a.mux, requestID, recoverer(o.Logger), accessLog(o.Logger))
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(w, r, a.o.Logger, err)
}

// health answers 200 when the store answers a read within two seconds.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	_, err := a.o.Store.Get(ctx, core.Key{PK: "health", SK: "probe"})
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		a.o.Logger.WarnContext(r.Context(), "health check failed", "err", err)
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": a.o.Engine})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "store": a.o.Engine})
}

// admin guards the admin endpoints: they need the admin token as a Bearer
// token, and are off when no token is configured.
func (a *API) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := "Bearer " + a.o.AdminToken
		if a.o.AdminToken == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			a.fail(w, r, core.Errorf(core.CodeUnauthorized, "admin endpoints need Authorization: Bearer <PROMORELAY_ADMIN_TOKEN>"))
			return
		}
		next(w, r)
	}
}

// updateSettings is PUT /admin/v1/projects/{name}/settings: whether client
// keys may redeem, and the browser origins they may be used from.
func (a *API) updateSettings(w http.ResponseWriter, r *http.Request) {
	var set project.Settings
	ctx, err := a.decode(w, r, &set)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, o := range set.AllowedOrigins {
		if u, err := url.Parse(o); o != "*" && (err != nil || u.Scheme == "" || u.Host == "" || u.Path != "") {
			a.fail(w, r, core.Errorf(core.CodeInvalid, "allowed_origins: %q is not an origin such as https://shop.example", o))
			return
		}
	}
	p, err := a.o.Projects.ByName(ctx, r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err = a.o.Projects.UpdateSettings(ctx, p.ID, set)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, p)
}

// createKeys is the admin endpoint behind "promorelay keys create".
func (a *API) createKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := a.o.Projects.CreateKeys(r.Context(), r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, keys)
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

// updateSecrets sets inbound secrets (those given; the others stay). The
// answer names which secrets are configured, never their values.
func (a *API) updateSecrets(w http.ResponseWriter, r *http.Request) {
	var set project.Secrets
	ctx, err := a.decode(w, r, &set)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if set == (project.Secrets{}) {
		a.fail(w, r, core.Errorf(core.CodeInvalid, "name at least one of segment_shared_secret, shopify_secret, woocommerce_secret, webhook_secret"))
		return
	}
	p, err := a.o.Projects.ByName(ctx, r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.o.Projects.SetSecrets(ctx, p.ID, set); err != nil {
		a.fail(w, r, err)
		return
	}
	sec, err := a.o.Projects.InboundSecrets(ctx, p.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"project_id": p.ID, "configured": map[string]bool{
		"segment_shared_secret": sec.SegmentSharedSecret != "", "shopify_secret": sec.ShopifySecret != "",
		"woocommerce_secret": sec.WooCommerceSecret != "", "webhook_secret": sec.WebhookSecret != "",
	}})
}
