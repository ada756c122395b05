package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/time/rate"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/project"
)

type principalKey struct{}

// principal returns the authenticated caller of the request.
func principal(ctx context.Context) project.Principal {
	p, _ := ctx.Value(principalKey{}).(project.Principal)
	return p
}

// limiters keeps one token bucket per application id.
type limiters struct {
	mu    sync.Mutex
	per   rate.Limit
	burst int
	by    map[string]*rate.Limiter
}

func (l *limiters) get(appID string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string]*rate.Limiter{}
	}
	lim, ok := l.by[appID]
	if !ok {
		lim = rate.NewLimiter(l.per, l.burst)
		l.by[appID] = lim
	}
	return lim
}

// authenticate checks Voucherify's credentials: X-App-Id/X-App-Token for
// server keys, X-Client-Application-Id/X-Client-Token for client keys (which
// must also come from an allowed origin when a browser sends one). It applies
// the per-key rate limit and reports it in X-RateLimit-* headers.
func (a *API) authenticate(kind project.Kind, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		idHeader, tokenHeader := "X-App-Id", "X-App-Token"
		if kind == project.Client {
			idHeader, tokenHeader = "X-Client-Application-Id", "X-Client-Token"
		}
		appID := r.Header.Get(idHeader)
		pr, err := a.o.Projects.Authenticate(r.Context(), appID, r.Header.Get(tokenHeader), kind)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if kind == project.Client {
			if origin := r.Header.Get("Origin"); origin != "" {
				if !slices.Contains(pr.Settings.AllowedOrigins, origin) && !slices.Contains(pr.Settings.AllowedOrigins, "*") {
					a.fail(w, r, core.Errorf(core.CodeForbidden, "origin %s is not allowed for this project's client keys", origin))
					return
				}
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Add("Vary", "Origin")
			}
		}
		lim := a.limits.get(appID)
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(lim.Burst()))
		if !lim.Allow() {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("Retry-After", "1")
			a.fail(w, r, core.KeyedError(core.CodeThrottled, "too_many_requests", "rate limit of %d requests exceeded; retry after a second", lim.Burst()))
			return
		}
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(0, int(lim.Tokens()))))
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, pr)))
	}
}

// clientPreflight answers browsers' CORS preflight for client-side routes.
func (a *API) clientPreflight(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Client-Application-Id, X-Client-Token, Idempotency-Key")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// withIdempotency reads the body once (bounded), and when the request
// carries an Idempotency-Key puts it in the context with the request's hash.
func (a *API) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, context.Context, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, nil, core.Errorf(core.CodePayloadTooLarge, "request body larger than %d bytes", limit)
	}
	ctx := r.Context()
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if len(key) > 255 {
			return nil, nil, core.Errorf(core.CodeInvalid, "Idempotency-Key longer than 255 characters")
		}
		h := sha256.New()
		io.WriteString(h, r.Method+" "+r.URL.RequestURI()+"\n")
		h.Write(body)
		ctx = core.WithIdempotency(ctx, core.Idempotency{
			Project: principal(ctx).ProjectID, Key: key, Hash: hex.EncodeToString(h.Sum(nil)),
		})
	}
	return body, ctx, nil
}
