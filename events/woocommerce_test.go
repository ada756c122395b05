package events

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/customer"
)

func TestWooHeadersFrom(t *testing.T) {
	h := WooHeadersFrom(headerGetter(map[string]string{
		"x-wc-webhook-topic": "order.created", "x-wc-webhook-resource": "order", "x-wc-webhook-event": "created",
		"x-wc-webhook-signature": "sig", "x-wc-webhook-id": "58", "x-wc-webhook-delivery-id": "4df0a951a314adc554e0f2016102e020",
		"x-wc-webhook-source": "https://shop.example.co.uk/",
	}))
	want := WooHeaders{Topic: "order.created", Resource: "order", Event: "created", Signature: "sig", WebhookID: "58",
		DeliveryID: "4df0a951a314adc554e0f2016102e020", Source: "https://shop.example.co.uk/"}
	if h != want {
		t.Fatalf("headers = %+v", h)
	}
}

func TestParseWooCommerce(t *testing.T) {
	mary := customer.OrderCustomer{ID: "12", Email: "mary.somerville@example.co.uk", Phone: "+441865000000", FirstName: "Mary", LastName: "Somerville"}
	items := []customer.OrderItem{
		{SKU: "WOO-S1", ProductID: "93", Quantity: 3, Price: 567}, // 5.666666666666667 rounded
		{SKU: "", ProductID: "22", Quantity: 1, Price: 2000},
	}
	tests := []struct {
		topic, file string
		want        customer.Order
	}{
		{"order.created", "order_created", customer.Order{
			Transition: "created", Status: "paid", ID: "727", Customer: mary, Amount: 4200, Currency: "GBP",
			Items: items, DiscountCodes: []string{"spring5"}, Metadata: map[string]any{"order_number": "727"},
			At: at(t, "2026-03-05T14:20:11Z"),
		}},
		{"order.updated", "order_updated", customer.Order{
			Transition: "updated", Status: "paid", ID: "727", Customer: mary, Amount: 4200, Currency: "GBP",
			RefundedAmount: 1250, Items: items, DiscountCodes: []string{"spring5"}, Metadata: map[string]any{"order_number": "727"},
			At: at(t, "2026-03-07T09:01:44Z"),
		}},
		{"order.deleted", "order_deleted", customer.Order{
			Transition: "canceled", Status: "canceled", ID: "727",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			got, err := ParseWooCommerce(tt.topic, mustFixture(t, "woocommerce/"+tt.file+".json"), "4df0a951a314adc554e0f2016102e020")
			wantError(t, err, "")
			tt.want.Source, tt.want.DeliveryID = "woocommerce", "4df0a951a314adc554e0f2016102e020"
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("order =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseWooCommerceDetails(t *testing.T) {
	parse := func(body string) customer.Order {
		t.Helper()
		o, err := ParseWooCommerce("order.updated", []byte(body), "d1")
		wantError(t, err, "")
		return o
	}
	guest := parse(`{"id":9,"customer_id":0,"currency":"EUR","total":"5.00","billing":{"email":"G@x.io"}}`)
	if guest.Customer.ID != "" || guest.Customer.Email != "g@x.io" {
		t.Errorf("guest customer = %+v", guest.Customer)
	}
	derived := parse(`{"id":9,"currency":"EUR","line_items":[{"quantity":3,"total":"10.00"},{"quantity":0,"total":"0.00"}]}`)
	if derived.Items[0].Price != 333 || derived.Items[1].Price != 0 {
		t.Errorf("unit prices from line totals = %+v", derived.Items)
	}
	for status, want := range map[string]string{
		"pending": "created", "processing": "paid", "on-hold": "created", "completed": "paid",
		"cancelled": "canceled", "refunded": "refunded", "failed": "canceled", "trash": "canceled",
		"checkout-draft": "created", "wc-completed": "paid",
	} {
		if got := parse(`{"id":9,"status":"` + status + `"}`).Status; got != want {
			t.Errorf("status %q → %q, want %q", status, got, want)
		}
	}
}

func TestParseWooCommerceMalformed(t *testing.T) {
	tests := []struct {
		name, topic, body, delivery string
		key                         string
		fragments                   []string
	}{
		{"unknown topic", "product.created", `{"id":1}`, "d", "unsupported_topic", []string{"product.created"}},
		{"no delivery id", "order.created", `{"id":1}`, "", "missing_header", []string{"X-WC-Webhook-Delivery-ID"}},
		{"not JSON", "order.created", `webhook_id=12`, "d", "invalid_json", nil},
		{"no id", "order.created", `{"status":"pending"}`, "d", "invalid_payload", []string{"id is required"}},
		{"total without currency", "order.created", `{"id":1,"total":"5.00"}`, "d", "invalid_payload", []string{"currency is required"}},
		{"fractional pence", "order.created", `{"id":1,"currency":"GBP","total":"5.001"}`, "d", "invalid_payload", []string{"total:", "GBP"}},
		{"bad refund", "order.updated", `{"id":1,"currency":"GBP","refunds":[{"total":"lots"}]}`, "d", "invalid_payload", []string{"refunds[0].total"}},
		{"price a bool", "order.created", `{"id":1,"currency":"GBP","line_items":[{"price":true}]}`, "d", "invalid_payload", []string{"line_items.price"}},
		{"negative price", "order.created", `{"id":1,"currency":"GBP","line_items":[{"price":-1,"quantity":1}]}`, "d", "invalid_payload", []string{"line_items[0].price must not be negative"}},
		{"billing a string", "order.created", `{"id":1,"billing":"Mary"}`, "d", "invalid_payload", []string{"billing must be an object"}},
		{"bad date", "order.created", `{"id":1,"date_created_gmt":"05/03/2026"}`, "d", "invalid_payload", []string{"date_created_gmt"}},
		{"too large", "order.created", `{"id":1,"customer_note":"` + strings.Repeat("n", MaxWebhookBytes) + `"}`, "d", "payload_too_large", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseWooCommerce(tt.topic, []byte(tt.body), tt.delivery)
			wantError(t, err, tt.key, tt.fragments...)
			if o.ID != "" {
				t.Errorf("got %+v with an error", o)
			}
		})
	}
}

func TestIsWooPing(t *testing.T) {
	none := map[string]string{}
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		want    bool
	}{
		{"ping", "webhook_id=123", none, true},
		{"ping with newline", "webhook_id=123\n", none, true},
		{"signed", "webhook_id=123", map[string]string{"X-WC-Webhook-Signature": "abc"}, false},
		{"has a topic", "webhook_id=123", map[string]string{"X-WC-Webhook-Topic": "order.created"}, false},
		{"id not a number", "webhook_id=abc", none, false},
		{"empty id", "webhook_id=", none, false},
		{"more fields", "webhook_id=1&topic=order.created", none, false},
		{"repeated", "webhook_id=1&webhook_id=2", none, false},
		{"JSON", `{"webhook_id":123}`, none, false},
		{"empty", "", none, false},
		{"long", "webhook_id=" + strings.Repeat("1", 100), none, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsWooPing([]byte(tt.body), headerGetter(tt.headers)); got != tt.want {
				t.Errorf("IsWooPing = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWooOrderDeletedHasNoTime(t *testing.T) {
	o, err := ParseWooCommerce("order.deleted", []byte(`{"id":727}`), "d")
	wantError(t, err, "")
	if !o.At.Equal(time.Time{}) {
		t.Errorf("At = %v, want zero for the caller to fill", o.At)
	}
}
