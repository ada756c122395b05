package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/events"
)

// Inbound credentials: the harness signs (or authenticates) these requests
// at send time with the scenario project's secrets, which are random, so
// neither the signatures nor the write key appear in golden files.
const (
	authWriteKey   auth = 100 + iota // HTTP Basic with the Segment write key
	authSegmentSig                   // X-Signature (HMAC-SHA1, hex)
	authShopifySig                   // X-Shopify-Hmac-Sha256 (base64)
	authWooSig                       // X-WC-Webhook-Signature (base64)
	authWebhookSig                   // Standard Webhooks webhook-signature
	authBadSig                       // a well-formed but wrong signature in every header
)

var inboundAuthNames = map[auth]string{
	authWriteKey: "segment-write-key", authSegmentSig: "segment-signature", authShopifySig: "shopify-signature",
	authWooSig: "woocommerce-signature", authWebhookSig: "standard-webhooks-signature", authBadSig: "wrong-signature",
}

// shopifySecret is what the scenario configures as the shop's Shopify
// webhook secret (Shopify generates it; the admin API sets it).
const shopifySecret = "shpss_golden_scenario_secret_0001"

func b64hmac(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (h *harness) signInbound(tb testing.TB, a auth, req *http.Request, body []byte) {
	tb.Helper()
	switch a {
	case authWriteKey:
		req.SetBasicAuth(h.keys.SegmentWriteKey, "")
	case authSegmentSig:
		m := hmac.New(sha1.New, []byte(h.keys.SegmentSharedSecret))
		m.Write(body)
		req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	case authShopifySig:
		req.Header.Set("X-Shopify-Hmac-Sha256", b64hmac(shopifySecret, body))
	case authWooSig:
		req.Header.Set("X-WC-Webhook-Signature", b64hmac(h.keys.WooCommerceSecret, body))
	case authWebhookSig:
		sig, err := events.SignStandardWebhook(h.keys.WebhookSecret, req.Header.Get("webhook-id"), h.clock.Now(), body)
		if err != nil {
			tb.Fatal(err)
		}
		req.Header.Set("webhook-timestamp", fmt.Sprint(h.clock.Now().Unix()))
		req.Header.Set("webhook-signature", sig)
	case authBadSig:
		wrong := b64hmac("not-the-secret", body)
		req.Header.Set("X-Signature", strings.Repeat("ab", 20))
		req.Header.Set("X-Shopify-Hmac-Sha256", wrong)
		req.Header.Set("X-WC-Webhook-Signature", wrong)
		req.Header.Set("webhook-timestamp", fmt.Sprint(h.clock.Now().Unix()))
		req.Header.Set("webhook-signature", "v1,"+wrong)
	}
}

func inboundReq(path string, a auth, raw string, kv ...string) request {
	return withHeader(request{Method: "POST", Path: path, Auth: a, Raw: raw}, kv...)
}

// inbound walks the tracking endpoints and webhooks: the story's calls on
// each path, their duplicates (answered 200, applied once) and every kind
// of refusal, which must write nothing.
func (s *scenario) inbound() {
	s.segmentEndpoints()
	s.segmentDestination()
	s.shopWebhooks()
}

func (s *scenario) segmentEndpoints() {
	identify := `{"messageId":"golden-id-1","userId":"michael","traits":{"name":"Michael Scott","email":"michael@dundermifflin.com","phone":"+15705550100"},"timestamp":"2025-06-02T09:59:00Z"}`
	s.ok("inbound_segment_identify", inboundReq("/v1/identify", authWriteKey, identify))
	s.ok("inbound_segment_identify_duplicate", inboundReq("/v1/identify", authWriteKey, identify))
	s.ok("inbound_segment_track", inboundReq("/v1/track", authWriteKey,
		`{"messageId":"golden-tr-1","userId":"michael","event":"review_left","properties":{"rating":5}}`))
	s.ok("inbound_segment_page", inboundReq("/v1/page", authWriteKey,
		`{"messageId":"golden-pg-1","anonymousId":"anon-42","name":"Pricing","properties":{"url":"https://dunder.example/pricing"}}`))
	s.ok("inbound_segment_screen", inboundReq("/v1/screen", authWriteKey,
		`{"messageId":"golden-sc-1","userId":"michael","name":"Checkout"}`))
	s.ok("inbound_segment_group", inboundReq("/v1/group", authWriteKey,
		`{"messageId":"golden-gr-1","userId":"michael","groupId":"dunder-mifflin","traits":{"name":"Dunder Mifflin"}}`))
	s.ok("inbound_segment_alias", inboundReq("/v1/alias", authWriteKey,
		`{"messageId":"golden-al-1","userId":"michael","previousId":"anon-42"}`))
	batch := `{"batch":[` +
		`{"type":"identify","messageId":"golden-b-1","userId":"dwight","traits":{"name":"Dwight Schrute"}},` +
		`{"type":"track","messageId":"golden-b-2","userId":"dwight","event":"beet_sold","properties":{"kg":12}}` +
		`],"context":{"library":{"name":"analytics-go","version":"3.3.0"}}}`
	s.ok("inbound_segment_batch", inboundReq("/v1/batch", authWriteKey, batch))
	s.ok("inbound_segment_import", inboundReq("/v1/import", authWriteKey,
		`{"batch":[{"type":"track","messageId":"golden-b-3","userId":"dwight","event":"beet_sold"}]}`))

	s.refused("inbound_segment_no_write_key", http.StatusUnauthorized, "", inboundReq("/v1/track", authNone,
		`{"messageId":"x1","userId":"michael","event":"review_left"}`))
	s.refused("inbound_segment_wrong_write_key", http.StatusUnauthorized, "", withHeader(inboundReq("/v1/track", authNone,
		`{"messageId":"x2","userId":"michael","event":"review_left"}`), "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wk_nope:"))))
	s.refused("inbound_segment_bad_json", http.StatusBadRequest, "", inboundReq("/v1/track", authWriteKey, `{"userId":`))
	s.refused("inbound_segment_track_without_event", http.StatusBadRequest, "", inboundReq("/v1/track", authWriteKey,
		`{"messageId":"x3","userId":"michael"}`))
	// One bad message refuses the whole batch: the good one is not applied.
	s.refused("inbound_segment_batch_one_bad", http.StatusBadRequest, "", inboundReq("/v1/batch", authWriteKey,
		`{"batch":[{"type":"track","messageId":"x4","userId":"jim","event":"prank"},{"type":"track","messageId":"x5"}]}`))
	s.refused("inbound_segment_call_over_32kb", http.StatusBadRequest, "", request{Method: "POST", Path: "/v1/track", Auth: authWriteKey,
		Raw:     `{"messageId":"x6","userId":"michael","event":"big","properties":{"blob":"` + strings.Repeat("x", 33<<10) + `"}}`,
		RawNote: "a track call of 33 KB (Segment's limit is 32 KB per call)"})
}

func (s *scenario) segmentDestination() {
	call := `{"type":"track","messageId":"golden-dest-1","userId":"michael","event":"review_left","timestamp":"2025-06-02T09:58:00Z","properties":{"rating":4}}`
	path := "/inbound/" + s.h.keys.ProjectID + "/segment"
	s.ok("inbound_destination_track", inboundReq(path, authSegmentSig, call))
	s.ok("inbound_destination_batch", inboundReq(path, authSegmentSig,
		`{"batch":[{"type":"identify","messageId":"golden-dest-2","userId":"pam","traits":{"name":"Pam Beesly"}}]}`))
	s.refused("inbound_destination_bad_signature", http.StatusUnauthorized, "", inboundReq(path, authBadSig, call))
	s.refused("inbound_destination_unsigned", http.StatusUnauthorized, "", inboundReq(path, authNone, call))
	s.refused("inbound_destination_unknown_project", http.StatusUnauthorized, "",
		inboundReq("/inbound/proj_00000000000000000000000000/segment", authSegmentSig, call))
}

const shopifyOrder = `{"id":820982911946154508,"email":"michael@dundermifflin.com","created_at":"2025-06-02T05:55:00-04:00",
"updated_at":"2025-06-02T05:55:00-04:00","processed_at":"2025-06-02T05:55:00-04:00","currency":"USD","total_price":"42.50",
"financial_status":"paid","cancelled_at":null,"discount_codes":[{"code":"WELCOME10","amount":"5.00","type":"fixed_amount"}],
"customer":{"id":5550100,"email":"michael@dundermifflin.com","first_name":"Michael","last_name":"Scott","phone":"+15705550100"},
"line_items":[{"id":1,"sku":"PAPER-A4","product_id":632910392,"quantity":5,"price":"8.50"}],"refunds":[]}`

func (s *scenario) shopWebhooks() {
	s.ok("admin_project_secrets", request{Method: "PUT", Path: "/admin/v1/projects/shop/secrets", Auth: authAdmin,
		Body: obj{"shopify_secret": shopifySecret}})
	s.refused("admin_project_secrets_empty", http.StatusBadRequest, "", request{Method: "PUT", Path: "/admin/v1/projects/shop/secrets",
		Auth: authAdmin, Body: obj{}})
	shop := "/inbound/" + s.h.keys.ProjectID + "/shopify"
	now := s.h.clock.Now().UTC()
	shopHeaders := func(event string, at time.Time) []string {
		return []string{"X-Shopify-Topic", "orders/paid", "X-Shopify-Event-Id", event,
			"X-Shopify-Triggered-At", at.Format(time.RFC3339), "X-Shopify-Shop-Domain", "dunder.myshopify.com"}
	}
	s.ok("inbound_shopify_order_paid", inboundReq(shop, authShopifySig, shopifyOrder, shopHeaders("shp-evt-1", now)...))
	s.ok("inbound_shopify_order_paid_duplicate", inboundReq(shop, authShopifySig, shopifyOrder, shopHeaders("shp-evt-1", now)...))
	s.refused("inbound_shopify_bad_signature", http.StatusUnauthorized, "", inboundReq(shop, authBadSig, shopifyOrder, shopHeaders("shp-evt-2", now)...))
	s.refused("inbound_shopify_stale", http.StatusBadRequest, "", inboundReq(shop, authShopifySig, shopifyOrder,
		shopHeaders("shp-evt-3", now.Add(-8*24*time.Hour))...))
	s.refused("inbound_shopify_unknown_topic", http.StatusBadRequest, "", withHeader(inboundReq(shop, authShopifySig, shopifyOrder,
		shopHeaders("shp-evt-4", now)...), "X-Shopify-Topic", "products/create"))

	woo := "/inbound/" + s.h.keys.ProjectID + "/woocommerce"
	s.ok("inbound_woocommerce_ping", inboundReq(woo, authNone, "webhook_id=12", "Content-Type", "application/x-www-form-urlencoded"))
	wooOrder := `{"id":727,"status":"processing","currency":"USD","total":"19.99","customer_id":0,
"billing":{"first_name":"Pam","last_name":"Beesly","email":"pam@dundermifflin.com","phone":"+15705550111"},
"line_items":[{"id":1,"sku":"MUG-01","product_id":93,"quantity":1,"price":19.99,"total":"19.99"}],
"coupon_lines":[],"refunds":[],"date_created_gmt":"2025-06-02T09:30:00","date_modified_gmt":"2025-06-02T09:30:00"}`
	wooHeaders := []string{"X-WC-Webhook-Topic", "order.created", "X-WC-Webhook-Resource", "order", "X-WC-Webhook-Event", "created",
		"X-WC-Webhook-ID", "12", "X-WC-Webhook-Delivery-ID", "woo-d-1", "X-WC-Webhook-Source", "https://dunder.example/"}
	s.ok("inbound_woocommerce_order_created", inboundReq(woo, authWooSig, wooOrder, wooHeaders...))
	s.refused("inbound_woocommerce_bad_signature", http.StatusUnauthorized, "", inboundReq(woo, authBadSig, wooOrder, wooHeaders...))

	hook := "/inbound/" + s.h.keys.ProjectID + "/orders"
	generic := `{"type":"order.paid","timestamp":"2025-06-02T09:45:00Z","data":{"id":"WEB-1","status":"paid","amount":9900,"currency":"USD",
"customer":{"source_id":"michael","email":"michael@dundermifflin.com"},"items":[{"sku_id":"TONER","product_id":"toner","quantity":1,"price":9900}]}}`
	s.ok("inbound_webhook_order_paid", inboundReq(hook, authWebhookSig, generic, "webhook-id", "msg_golden_1"))
	s.refused("inbound_webhook_bad_signature", http.StatusUnauthorized, "", inboundReq(hook, authBadSig, generic, "webhook-id", "msg_golden_2"))
	s.refused("inbound_webhook_stale", http.StatusUnauthorized, "", inboundReq(hook, authNone, generic, "webhook-id", "msg_golden_3",
		"webhook-timestamp", fmt.Sprint(now.Add(-time.Hour).Unix()), "webhook-signature", "v1,"+b64hmac("x", []byte(generic))))
}
