package events

import (
	"encoding/base64"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

func TestStandardHeadersFrom(t *testing.T) {
	h := StandardHeadersFrom(headerGetter(map[string]string{"Webhook-Id": "msg_1", "Webhook-Timestamp": "1700000000", "Webhook-Signature": "v1,abc"}))
	if h != (StandardHeaders{ID: "msg_1", Timestamp: "1700000000", Signature: "v1,abc"}) {
		t.Fatalf("headers = %+v", h)
	}
}

func TestNewStandardSecret(t *testing.T) {
	a, b := NewStandardSecret(), NewStandardSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(key) != 32 {
		t.Fatalf("secret %q: %v, %d bytes", a, err, len(key))
	}
}

func TestVerifyStandardWebhook(t *testing.T) {
	secret := NewStandardSecret()
	body := []byte(`{"type":"order.created"}`)
	sent := time.Unix(1772785800, 0)
	sig, err := SignStandardWebhook(secret, "msg_1", sent, body)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := SignStandardWebhook(NewStandardSecret(), "msg_1", sent, body)
	ts := strconv.FormatInt(sent.Unix(), 10)
	tests := []struct {
		name string
		h    StandardHeaders
		now  time.Time
		key  string
	}{
		{"valid", StandardHeaders{"msg_1", ts, sig}, sent, ""},
		{"5 minutes later", StandardHeaders{"msg_1", ts, sig}, sent.Add(StandardTolerance), ""},
		{"5 minutes early", StandardHeaders{"msg_1", ts, sig}, sent.Add(-StandardTolerance), ""},
		{"stale", StandardHeaders{"msg_1", ts, sig}, sent.Add(StandardTolerance + time.Second), "invalid_timestamp"},
		{"from the future", StandardHeaders{"msg_1", ts, sig}, sent.Add(-StandardTolerance - time.Second), "invalid_timestamp"},
		{"rotation: one of several", StandardHeaders{"msg_1", ts, other + "  v1a,xyz " + sig + " v2," + strings.TrimPrefix(sig, "v1,")}, sent, ""},
		{"only another version", StandardHeaders{"msg_1", ts, "v2," + strings.TrimPrefix(sig, "v1,")}, sent, "invalid_signature"},
		{"garbage entries", StandardHeaders{"msg_1", ts, "v1 v1, v1,!!! ,"}, sent, "invalid_signature"},
		{"other id", StandardHeaders{"msg_2", ts, sig}, sent, "invalid_signature"},
		{"other timestamp", StandardHeaders{"msg_1", strconv.FormatInt(sent.Unix()+1, 10), sig}, sent, "invalid_signature"},
		{"timestamp in milliseconds", StandardHeaders{"msg_1", ts + "000", sig}, sent, "invalid_timestamp"},
		{"timestamp not a number", StandardHeaders{"msg_1", "2026-03-06T08:30:00Z", sig}, sent, "invalid_timestamp"},
		{"timestamp huge", StandardHeaders{"msg_1", "-9223372036854775808", sig}, sent, "invalid_timestamp"},
		{"no id", StandardHeaders{"", ts, sig}, sent, "invalid_signature"},
		{"no signature", StandardHeaders{"msg_1", ts, " "}, sent, "invalid_signature"},
		{"no timestamp", StandardHeaders{"msg_1", "", sig}, sent, "invalid_timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, VerifyStandardWebhook(secret, tt.h, body, tt.now), tt.key)
		})
	}
}

func TestStandardSecrets(t *testing.T) {
	now := time.Unix(1772785800, 0)
	for _, secret := range []string{"", "whsec_", "whsec_!!notbase64"} {
		if _, err := SignStandardWebhook(secret, "m", now, nil); core.ErrorCode(err) != core.CodeInternal {
			t.Errorf("Sign with secret %q: %v, want an internal error", secret, err)
		}
		err := VerifyStandardWebhook(secret, StandardHeaders{"m", "1772785800", "v1,x"}, nil, now)
		if core.ErrorCode(err) != core.CodeInternal {
			t.Errorf("Verify with secret %q: %v, want an internal error", secret, err)
		}
	}
}

func TestParseOrderWebhook(t *testing.T) {
	got, err := ParseOrderWebhook(mustFixture(t, "webhook/order_paid.json"), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
	wantError(t, err, "")
	want := customer.Order{
		Source: "webhook", DeliveryID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Transition: "paid", Status: "paid", ID: "ord_1001",
		Customer: customer.OrderCustomer{ID: "cust_42", Email: "ada@example.com", Phone: "+15555550100", FirstName: "Ada", LastName: "King Lovelace"},
		Amount:   12345, Currency: "USD",
		Items: []customer.OrderItem{
			{SKU: "sku_1", ProductID: "prod_1", Quantity: 2, Price: 1000},
			{SKU: "77", ProductID: "9001", Quantity: 1, Price: 10345},
		},
		DiscountCodes: []string{"SUMMER10"},
		Metadata:      map[string]any{"channel": "pos", "store": float64(12)},
		At:            at(t, "2026-03-06T08:30:00Z"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseOrderWebhookDefaults(t *testing.T) {
	tests := []struct {
		name, body string
		want       customer.Order
	}{
		{"canceled with only an id", `{"type":"order.canceled","timestamp":"2026-03-06T09:00:00Z","data":{"id":42}}`,
			customer.Order{Transition: "canceled", Status: "canceled", ID: "42", At: at(t, "2026-03-06T09:00:00Z")}},
		{"refunded", `{"type":"order.refunded","data":{"id":"o","refunded_amount":500,"currency":"EUR","updated_at":"2026-03-06T09:00:00Z"}}`,
			customer.Order{Transition: "refunded", Status: "refunded", ID: "o", Currency: "EUR", RefundedAmount: 500, At: at(t, "2026-03-06T09:00:00Z")}},
		{"updated, British spelling", `{"type":"order.updated","data":{"id":"o","status":"Cancelled","created_at":"2026-03-06T09:00:00Z","customer":{"name":"Cher"}}}`,
			customer.Order{Transition: "updated", Status: "canceled", ID: "o", Customer: customer.OrderCustomer{FirstName: "Cher"}, At: at(t, "2026-03-06T09:00:00Z")}},
		{"first and last name win over name", `{"type":"order.created","timestamp":"2026-03-06T09:00:00Z","data":{"id":"o","amount":0,"currency":"JPY","customer":{"name":"A B","first_name":"Ann","last_name":"Bee"}}}`,
			customer.Order{Transition: "created", Status: "created", ID: "o", Currency: "JPY", Customer: customer.OrderCustomer{FirstName: "Ann", LastName: "Bee"}, At: at(t, "2026-03-06T09:00:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOrderWebhook([]byte(tt.body), "msg")
			wantError(t, err, "")
			tt.want.Source, tt.want.DeliveryID = "webhook", "msg"
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("order =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseOrderWebhookMalformed(t *testing.T) {
	event := func(typ, data string) string {
		return `{"type":"` + typ + `","timestamp":"2026-03-06T09:00:00Z","data":` + data + `}`
	}
	tests := []struct {
		name, body, id string
		key            string
		fragments      []string
	}{
		{"not JSON", `{"type":`, "m", "invalid_json", nil},
		{"no type", `{"data":{"id":"o"}}`, "m", "invalid_payload", []string{"type is required"}},
		{"unknown type", event("order.shipped", `{"id":"o"}`), "m", "unsupported_topic", []string{"order.shipped"}},
		{"no webhook-id", event("order.canceled", `{"id":"o"}`), "", "missing_header", []string{"webhook-id"}},
		{"no data", `{"type":"order.canceled","timestamp":"2026-03-06T09:00:00Z"}`, "m", "invalid_payload", []string{"data is required"}},
		{"no id", event("order.canceled", `{}`), "m", "invalid_payload", []string{"data.id is required"}},
		{"decimal amount", event("order.paid", `{"id":"o","amount":"123.45","currency":"USD"}`), "m", "invalid_payload", []string{"data.amount must be an integer, not string"}},
		{"fractional amount", event("order.paid", `{"id":"o","amount":123.45,"currency":"USD"}`), "m", "invalid_payload", []string{"data.amount must be an integer"}},
		{"negative amount", event("order.paid", `{"id":"o","amount":-1,"currency":"USD"}`), "m", "invalid_payload", []string{"data.amount must not be negative"}},
		{"no amount", event("order.created", `{"id":"o","currency":"USD"}`), "m", "invalid_payload", []string{"data.amount is required"}},
		{"no currency", event("order.paid", `{"id":"o","amount":100}`), "m", "invalid_payload", []string{"data.currency is required"}},
		{"bad currency", event("order.paid", `{"id":"o","amount":100,"currency":"$"}`), "m", "invalid_payload", []string{"data.currency"}},
		{"negative refund", event("order.refunded", `{"id":"o","refunded_amount":-5,"currency":"USD"}`), "m", "invalid_payload", []string{"data.refunded_amount"}},
		{"updated without status", event("order.updated", `{"id":"o"}`), "m", "invalid_payload", []string{"data.status is required"}},
		{"unknown status", event("order.updated", `{"id":"o","status":"shipped"}`), "m", "invalid_payload", []string{`data.status "shipped"`}},
		{"negative quantity", event("order.paid", `{"id":"o","amount":1,"currency":"USD","items":[{"quantity":-1}]}`), "m", "invalid_payload", []string{"data.items[0].quantity"}},
		{"price as decimal", event("order.paid", `{"id":"o","amount":1,"currency":"USD","items":[{"quantity":1,"price":"1.00"}]}`), "m", "invalid_payload", []string{"data.items.price must be an integer"}},
		{"codes not strings", event("order.paid", `{"id":"o","amount":1,"currency":"USD","discount_codes":[5]}`), "m", "invalid_payload", []string{"data.discount_codes must be a string"}},
		{"no time", `{"type":"order.canceled","data":{"id":"o"}}`, "m", "invalid_payload", []string{"timestamp is required"}},
		{"too large", event("order.canceled", `{"id":"o","metadata":{"x":"`+strings.Repeat("x", MaxWebhookBytes)+`"}}`), "m", "payload_too_large", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOrderWebhook([]byte(tt.body), tt.id)
			wantError(t, err, tt.key, tt.fragments...)
			if o.ID != "" {
				t.Errorf("got %+v with an error", o)
			}
		})
	}
}
