package events

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

func shopifyHeaders(topic string) ShopifyHeaders {
	h := http.Header{}
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5")
	h.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	h.Set("X-Shopify-Triggered-At", "2026-03-05T12:00:00.123456789Z")
	h.Set("X-Shopify-Shop-Domain", "example.myshopify.com")
	h.Set("X-Shopify-API-Version", "2025-01")
	return ShopifyHeadersFrom(h.Get)
}

const shopifyEventID = "98880550-7158-44d4-b7cd-2c97c8a091b5"

func TestShopifyHeadersFrom(t *testing.T) {
	h := shopifyHeaders("orders/create")
	want := ShopifyHeaders{
		Topic: "orders/create", EventID: shopifyEventID, WebhookID: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
		TriggeredAt: "2026-03-05T12:00:00.123456789Z", ShopDomain: "example.myshopify.com", APIVersion: "2025-01",
	}
	if h != want {
		t.Fatalf("headers = %+v", h)
	}
	if h.DeliveryID() != shopifyEventID {
		t.Errorf("DeliveryID = %q, want the event id", h.DeliveryID())
	}
	h.EventID = ""
	if h.DeliveryID() != "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043" {
		t.Errorf("DeliveryID without an event id = %q, want the webhook id", h.DeliveryID())
	}
	if tr, ok := h.Triggered(); !ok || !tr.Equal(at(t, "2026-03-05T12:00:00.123456789Z")) {
		t.Errorf("Triggered = %v, %v", tr, ok)
	}
}

var shopMetadata = map[string]any{"order_name": "#1042", "shop_domain": "example.myshopify.com"}

func TestParseShopifyOrders(t *testing.T) {
	grace := customer.OrderCustomer{ID: "7012345678901", Email: "grace.hopper@example.com", Phone: "+12125550142", FirstName: "Grace", LastName: "Hopper"}
	graceItems := []customer.OrderItem{
		{SKU: "CAP-NVY", ProductID: "8061536829755", Quantity: 2, Price: 2400},
		{SKU: "TOTE-01", ProductID: "8061536829756", Quantity: 1, Price: 4500},
	}
	tests := []struct {
		topic, file string
		want        customer.Order
	}{
		{"orders/create", "orders_create", customer.Order{
			Transition: "created", Status: "created", ID: "5934123456789", Customer: grace,
			Amount: 9150, Currency: "USD", Items: graceItems, DiscountCodes: []string{"WELCOME10"},
			Metadata: shopMetadata, At: at(t, "2026-03-02T14:14:21Z"), // processed_at
		}},
		{"orders/paid", "orders_paid", customer.Order{
			Transition: "paid", Status: "paid", ID: "5934123459999",
			Customer: customer.OrderCustomer{ID: "7099999999901", Email: "haruki@example.jp", Phone: "+81312345678", FirstName: "Haruki", LastName: "Sato"},
			Amount:   12800, Currency: "JPY", Items: []customer.OrderItem{{SKU: "MATCHA-100", ProductID: "8099999999901", Quantity: 2, Price: 6400}},
			Metadata: map[string]any{"order_name": "#2001", "shop_domain": "example.myshopify.com"},
			At:       at(t, "2026-03-02T09:02:10Z"), // updated_at
		}},
		{"orders/cancelled", "orders_cancelled", customer.Order{
			Transition: "canceled", Status: "canceled", ID: "5934123460001",
			// A guest checkout: the order's email and the billing contact.
			Customer: customer.OrderCustomer{Email: "guest.buyer@example.net", Phone: "+33142000000", FirstName: "Jean", LastName: "Dupont"},
			Amount:   3000, Currency: "EUR", Items: []customer.OrderItem{{SKU: "SCARF-LIN", ProductID: "8061536829800", Quantity: 1, Price: 3500}},
			DiscountCodes: []string{"SPRING5"}, Metadata: map[string]any{"order_name": "#1043", "shop_domain": "example.myshopify.com"},
			At: at(t, "2026-03-03T11:00:00Z"), // cancelled_at
		}},
		{"orders/updated", "orders_updated", customer.Order{
			Transition: "updated", Status: "refunded", ID: "5934123456789", Customer: grace,
			Amount: 9150, Currency: "USD", RefundedAmount: 2400, // the failed transaction is not counted
			Items: graceItems, DiscountCodes: []string{"WELCOME10"}, Metadata: shopMetadata,
			At: at(t, "2026-03-04T20:30:05Z"),
		}},
		{"refunds/create", "refunds_create", customer.Order{
			Transition: "refunded", Status: "refunded", ID: "5934123456789",
			Currency: "USD", Refund: 2400,
			Metadata: map[string]any{"shop_domain": "example.myshopify.com"},
			At:       at(t, "2026-03-04T20:30:00Z"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			call, err := ParseShopify(tt.topic, mustFixture(t, "shopify/"+tt.file+".json"), shopifyHeaders(tt.topic))
			wantError(t, err, "")
			if call.Customer != nil || call.Order == nil {
				t.Fatalf("call = %+v, want an order only", call)
			}
			tt.want.Source, tt.want.DeliveryID = "shopify", shopifyEventID
			if !reflect.DeepEqual(*call.Order, tt.want) {
				t.Errorf("order =\n%+v\nwant\n%+v", *call.Order, tt.want)
			}
		})
	}
}

func TestParseShopifyCustomer(t *testing.T) {
	for _, topic := range []string{"customers/create", "customers/update"} {
		t.Run(topic, func(t *testing.T) {
			call, err := ParseShopify("", mustFixture(t, "shopify/customers_create.json"), shopifyHeaders(topic))
			wantError(t, err, "")
			if call.Order != nil || call.Customer == nil {
				t.Fatalf("call = %+v, want a customer only", call)
			}
			want := customer.Message{
				Source: "shopify", MessageID: shopifyEventID, Type: "identify", UserID: "7012345678901",
				Email: "grace.hopper@example.com",
				Traits: map[string]any{
					"email": "grace.hopper@example.com", "first_name": "Grace", "last_name": "Hopper",
					"phone": "+12125550142", "tags": []string{"vip", "newsletter"},
				},
				Consents:  map[string]bool{"email": true, "sms": false},
				Timestamp: at(t, "2026-01-10T13:00:01Z"),
			}
			if !reflect.DeepEqual(*call.Customer, want) {
				t.Errorf("message =\n%+v\nwant\n%+v", *call.Customer, want)
			}
		})
	}
}

func TestParseShopifyConsentStates(t *testing.T) {
	tests := []struct {
		email, sms string
		want       map[string]bool
	}{
		{`{"state":"subscribed"}`, `{"state":"unsubscribed"}`, map[string]bool{"email": true, "sms": false}},
		{`{"state":"pending"}`, `null`, nil},
		{`{"state":"redacted"}`, `{"state":"SUBSCRIBED"}`, map[string]bool{"sms": true}},
	}
	for _, tt := range tests {
		body := `{"id":1,"updated_at":"2026-01-01T00:00:00Z","email_marketing_consent":` + tt.email + `,"sms_marketing_consent":` + tt.sms + `}`
		call, err := ParseShopify("customers/update", []byte(body), shopifyHeaders(""))
		wantError(t, err, "")
		if !reflect.DeepEqual(call.Customer.Consents, tt.want) {
			t.Errorf("%s / %s: consents = %v, want %v", tt.email, tt.sms, call.Customer.Consents, tt.want)
		}
	}
}

func TestParseShopifyTimes(t *testing.T) {
	// No times in the body: X-Shopify-Triggered-At.
	call, err := ParseShopify("orders/paid", []byte(`{"id":1,"currency":"USD","total_price":"1.00"}`), shopifyHeaders(""))
	wantError(t, err, "")
	if !call.Order.At.Equal(at(t, "2026-03-05T12:00:00.123456789Z")) {
		t.Errorf("At = %v, want the triggered-at header", call.Order.At)
	}
	h := shopifyHeaders("")
	h.TriggeredAt = ""
	_, err = ParseShopify("orders/paid", []byte(`{"id":1,"currency":"USD","total_price":"1.00"}`), h)
	wantError(t, err, "invalid_payload", "X-Shopify-Triggered-At")
}

func TestParseShopifyMalformed(t *testing.T) {
	order := func(fields string) string {
		return `{"id":5,"currency":"USD","total_price":"10.00","created_at":"2026-03-01T00:00:00Z"` + fields + `}`
	}
	noIDs := shopifyHeaders("")
	noIDs.EventID, noIDs.WebhookID = "", ""
	tests := []struct {
		name, topic, body string
		h                 ShopifyHeaders
		key               string
		fragments         []string
	}{
		{"unknown topic", "products/create", order(""), shopifyHeaders(""), "unsupported_topic", []string{"products/create"}},
		{"no topic", "", order(""), shopifyHeaders(""), "unsupported_topic", nil},
		{"no delivery id", "orders/create", order(""), noIDs, "missing_header", []string{"X-Shopify-Event-Id"}},
		{"not JSON", "orders/create", `{"id":`, shopifyHeaders(""), "invalid_json", nil},
		{"no id", "orders/create", `{"currency":"USD","total_price":"1.00"}`, shopifyHeaders(""), "invalid_payload", []string{"id is required"}},
		{"id a bool", "orders/create", order(`,"id":true`), shopifyHeaders(""), "invalid_payload", []string{"id must be a string or an integer"}},
		{"no currency", "orders/create", `{"id":5,"total_price":"1.00"}`, shopifyHeaders(""), "invalid_payload", []string{"currency is required"}},
		{"bad currency", "orders/create", order(`,"currency":"dollars"`), shopifyHeaders(""), "invalid_payload", []string{"currency"}},
		{"bad total", "orders/create", order(`,"total_price":"ten"`), shopifyHeaders(""), "invalid_payload", []string{"total_price", "not a decimal number"}},
		{"total an object", "orders/create", order(`,"total_price":{}`), shopifyHeaders(""), "invalid_payload", []string{"total_price must be a decimal string or a number"}},
		{"negative total", "orders/create", order(`,"total_price":"-1.00"`), shopifyHeaders(""), "invalid_payload", []string{"total_price must not be negative"}},
		{"fractional cents", "orders/create", order(`,"line_items":[{"price":"1.234","quantity":1}]`), shopifyHeaders(""), "invalid_payload", []string{"line_items[0].price", "more decimal places than USD allows"}},
		{"quantity a string", "orders/create", order(`,"line_items":[{"price":"1.00","quantity":"2"}]`), shopifyHeaders(""), "invalid_payload", []string{"line_items.quantity must be an integer"}},
		{"negative quantity", "orders/create", order(`,"line_items":[{"price":"1.00","quantity":-2}]`), shopifyHeaders(""), "invalid_payload", []string{"line_items[0].quantity must not be negative"}},
		{"bad cancelled_at", "orders/cancelled", order(`,"cancelled_at":"soon"`), shopifyHeaders(""), "invalid_payload", []string{"cancelled_at must be an ISO-8601 date-time"}},
		{"refund without order_id", "refunds/create", `{"id":1,"created_at":"2026-03-01T00:00:00Z"}`, shopifyHeaders(""), "invalid_payload", []string{"order_id is required"}},
		{"refund amount without currency", "refunds/create", `{"order_id":1,"transactions":[{"kind":"refund","status":"success","amount":"3.00"}]}`, shopifyHeaders(""), "invalid_payload", []string{"transactions[0].amount needs the order's currency"}},
		{"customer without id", "customers/create", `{"email":"a@b.c","created_at":"2026-03-01T00:00:00Z"}`, shopifyHeaders(""), "invalid_payload", []string{"id is required"}},
		{"too large", "orders/create", order(`,"note":"` + strings.Repeat("n", MaxWebhookBytes) + `"`), shopifyHeaders(""), "payload_too_large", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := ParseShopify(tt.topic, []byte(tt.body), tt.h)
			wantError(t, err, tt.key, tt.fragments...)
			if call.Order != nil || call.Customer != nil {
				t.Errorf("got %+v with an error", call)
			}
		})
	}
}

func TestCheckFresh(t *testing.T) {
	now := time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		triggered time.Time
		key       string
	}{
		{"just now", now.Add(-time.Second), ""},
		{"at the limit", now.Add(-5 * time.Minute), ""},
		{"stale", now.Add(-5*time.Minute - time.Second), "stale_webhook"},
		{"far future", now.Add(6 * time.Minute), "stale_webhook"},
		{"unknown", time.Time{}, "stale_webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantError(t, CheckFresh(tt.triggered, now, 5*time.Minute), tt.key) })
	}
}
