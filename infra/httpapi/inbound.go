package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
	"github.com/promorelay/promorelay/core/project"
	"github.com/promorelay/promorelay/events"
)

// MaxWebhookAge is the oldest shop webhook accepted: replays older than
// the deduplication window (audience.SeenTTL) could apply twice, so they
// are refused instead. Shopify retries for far less.
const MaxWebhookAge = 7 * 24 * time.Hour

// inboundRoutes serve what shops and Segment send: the Segment-compatible
// tracking endpoints, Segment's Webhooks destination and order webhooks.
// Every call is answered only after what it says is durably applied (each
// message once, by its id), so a 2xx means nothing is lost and a retry of
// anything else changes nothing twice.
func (a *API) inboundRoutes() {
	wk := func(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, a.writeKey(h)) }
	wk("POST /v1/batch", a.segmentBatch)
	wk("POST /v1/import", a.segmentBatch) // Segment's older name of batch
	wk("POST /v1/identify", a.segmentCall("identify"))
	wk("POST /v1/track", a.segmentCall("track"))
	wk("POST /v1/page", a.segmentCall("page"))
	wk("POST /v1/screen", a.segmentCall("screen"))
	wk("POST /v1/group", a.segmentCall("group"))
	wk("POST /v1/alias", a.segmentCall("alias"))
	a.mux.HandleFunc("POST /inbound/{projectId}/segment", a.segmentDestination)
	a.mux.HandleFunc("POST /inbound/{projectId}/shopify", a.shopify)
	a.mux.HandleFunc("POST /inbound/{projectId}/woocommerce", a.wooCommerce)
	a.mux.HandleFunc("POST /inbound/{projectId}/orders", a.orderWebhook)
}

// writeKey authenticates Segment libraries: HTTP Basic with the write key
// as user name and an empty password.
func (a *API) writeKey(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, _, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="promorelay"`)
			a.fail(w, r, core.KeyedError(core.CodeUnauthorized, "unauthorized", "send the write key as the HTTP Basic user name"))
			return
		}
		pr, err := a.o.Projects.AuthenticateWriteKey(r.Context(), key)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, pr)))
	}
}

// segmentLimit answers oversized Segment calls as Segment does: 400.
func segmentLimit(err error) error {
	var ce *core.Error
	if errors.As(err, &ce) && ce.Code == core.CodePayloadTooLarge {
		return core.KeyedError(core.CodeInvalid, "payload_too_large", "%s", ce.Message)
	}
	return err
}

// readLimited reads at most limit bytes, reporting more as too large.
func readLimited(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, core.KeyedError(core.CodeInvalid, "invalid_payload", "reading the body failed")
	}
	if int64(len(body)) > limit {
		return nil, core.KeyedError(core.CodePayloadTooLarge, "payload_too_large", "body larger than %d bytes", limit)
	}
	return body, nil
}

// segmentOK is Segment's answer to an accepted call.
var segmentOK = map[string]bool{"success": true}

func (a *API) segmentBatch(w http.ResponseWriter, r *http.Request) {
	body, err := readLimited(r, events.MaxBatchBytes)
	if err != nil {
		a.fail(w, r, segmentLimit(err))
		return
	}
	msgs, err := events.ParseBatch(body, a.o.Clock.Now())
	if err != nil {
		a.fail(w, r, segmentLimit(err))
		return
	}
	a.applyMessages(w, r, proj(r), msgs)
}

func (a *API) segmentCall(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readLimited(r, events.MaxCallBytes)
		if err != nil {
			a.fail(w, r, segmentLimit(err))
			return
		}
		m, err := events.ParseCall(kind, body, a.o.Clock.Now())
		if err != nil {
			a.fail(w, r, segmentLimit(err))
			return
		}
		a.applyMessages(w, r, proj(r), []customer.Message{m})
	}
}

// applyMessages applies a validated call; the whole call was checked
// before the first message is applied, so a bad message refuses it all.
func (a *API) applyMessages(w http.ResponseWriter, r *http.Request, p string, msgs []customer.Message) {
	if _, err := a.o.Audience.Apply(r.Context(), p, msgs); err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, segmentOK)
}

// inboundProject loads the project named in the path and its secrets. An
// unknown project or a path without a configured secret is answered like a
// bad signature, so probing learns nothing.
func (a *API) inboundProject(r *http.Request, secret func(project.Secrets) string) (string, string, error) {
	id := r.PathValue("projectId")
	denied := core.KeyedError(core.CodeUnauthorized, "invalid_signature", "signature missing or invalid")
	if len(id) > 100 {
		return "", "", denied
	}
	if _, err := a.o.Projects.Get(r.Context(), id); err != nil {
		if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrInvalid) {
			return "", "", denied
		}
		return "", "", err
	}
	sec, err := a.o.Projects.InboundSecrets(r.Context(), id)
	if err != nil {
		return "", "", err
	}
	if secret(sec) == "" {
		return "", "", denied
	}
	return id, secret(sec), nil
}

// verified reads a webhook's body and checks its signature with the
// project's secret for the path; on failure it has answered the request.
func (a *API) verified(w http.ResponseWriter, r *http.Request, secretOf func(project.Secrets) string,
	verify func(secret string, body []byte) error) (p string, body []byte, ok bool) {
	p, secret, err := a.inboundProject(r, secretOf)
	if err == nil {
		body, err = readLimited(r, events.MaxWebhookBytes)
	}
	if err == nil {
		err = verify(secret, body)
	}
	if err != nil {
		a.fail(w, r, err)
		return "", nil, false
	}
	return p, body, true
}

func (a *API) segmentDestination(w http.ResponseWriter, r *http.Request) {
	p, body, ok := a.verified(w, r, func(s project.Secrets) string { return s.SegmentSharedSecret },
		func(secret string, body []byte) error {
			return events.VerifySegmentSignature(secret, body, r.Header.Get("X-Signature"))
		})
	if !ok {
		return
	}
	msgs, err := events.ParseDestination(body, a.o.Clock.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.applyMessages(w, r, p, msgs)
}

func (a *API) shopify(w http.ResponseWriter, r *http.Request) {
	p, body, ok := a.verified(w, r, func(s project.Secrets) string { return s.ShopifySecret },
		func(secret string, body []byte) error {
			return events.VerifyShopify(secret, body, r.Header.Get("X-Shopify-Hmac-Sha256"))
		})
	if !ok {
		return
	}
	h := events.ShopifyHeadersFrom(r.Header.Get)
	if at, ok := h.Triggered(); ok {
		if err := events.CheckFresh(at, a.o.Clock.Now(), MaxWebhookAge); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	call, err := events.ParseShopify(h.Topic, body, h)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if call.Customer != nil {
		m := *call.Customer
		m.ReceivedAt = a.o.Clock.Now()
		a.applyMessages(w, r, p, []customer.Message{m})
		return
	}
	a.applyOrder(w, r, p, *call.Order)
}

func (a *API) applyOrder(w http.ResponseWriter, r *http.Request, p string, o customer.Order) {
	if _, _, err := a.o.Audience.ApplyOrder(r.Context(), p, o); err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, segmentOK)
}

// wooCommerce answers WooCommerce's unsigned creation ping before anything
// else: WooCommerce activates a webhook only after the ping gets a 200, and
// the ping carries nothing to apply.
func (a *API) wooCommerce(w http.ResponseWriter, r *http.Request) {
	body, err := readLimited(r, events.MaxWebhookBytes)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if events.IsWooPing(body, r.Header.Get) {
		WriteJSON(w, http.StatusOK, segmentOK)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := events.WooHeadersFrom(r.Header.Get)
	p, body, ok := a.verified(w, r, func(s project.Secrets) string { return s.WooCommerceSecret },
		func(secret string, body []byte) error { return events.VerifyWooCommerce(secret, body, h.Signature) })
	if !ok {
		return
	}
	o, err := events.ParseWooCommerce(h.Topic, body, h.DeliveryID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.applyOrder(w, r, p, o)
}

func (a *API) orderWebhook(w http.ResponseWriter, r *http.Request) {
	h := events.StandardHeadersFrom(r.Header.Get)
	p, body, ok := a.verified(w, r, func(s project.Secrets) string { return s.WebhookSecret },
		func(secret string, body []byte) error {
			return events.VerifyStandardWebhook(secret, h, body, a.o.Clock.Now())
		})
	if !ok {
		return
	}
	o, err := events.ParseOrderWebhook(body, h.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.applyOrder(w, r, p, o)
}
