package events

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// Standard Webhooks (https://www.standardwebhooks.com): the signing scheme
// of promorelay's generic order webhook, and of its outbound webhooks.

// StandardTolerance is how far webhook-timestamp may be from now, either
// way, as the specification recommends against replays.
const StandardTolerance = 5 * time.Minute

// standardSecretPrefix marks a secret serialised as base64 key bytes.
const standardSecretPrefix = "whsec_"

// StandardHeaders are the three headers of a Standard Webhooks request.
type StandardHeaders struct {
	ID        string // webhook-id: the message id, the same on every retry
	Timestamp string // webhook-timestamp: Unix seconds
	Signature string // webhook-signature: space-separated "v1,<base64>" entries
}

// StandardHeadersFrom reads StandardHeaders with get, e.g. an http.Header's Get.
func StandardHeadersFrom(get func(string) string) StandardHeaders {
	return StandardHeaders{
		ID:        get("webhook-id"),
		Timestamp: get("webhook-timestamp"),
		Signature: get("webhook-signature"),
	}
}

// NewStandardSecret returns a new random signing secret in the
// specification's form: "whsec_" followed by 32 random bytes in base64.
func NewStandardSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand's documented contract)
	return standardSecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// SignStandardWebhook returns the webhook-signature value for a message:
// "v1," and the base64 HMAC-SHA256 of "<id>.<unix seconds>.<body>". A
// secret "whsec_<base64>" keys the HMAC with the decoded bytes; any other
// secret with its own bytes. An empty or malformed whsec_ secret is an
// error with code CodeInternal.
func SignStandardWebhook(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := standardKey(secret)
	if err != nil {
		return "", err
	}
	sum := standardSum(key, id, ts.Unix(), body)
	return "v1," + base64.StdEncoding.EncodeToString(sum), nil
}

// VerifyStandardWebhook checks a Standard Webhooks request: its timestamp
// within StandardTolerance of now, and at least one v1 entry of
// webhook-signature matching the body (several entries appear while a
// sender rotates secrets; other versions are skipped).
//
// Errors are *core.Error with code CodeUnauthorized: key
// "invalid_timestamp" for a missing, malformed, stale or future
// webhook-timestamp, "invalid_signature" for a missing webhook-id or
// webhook-signature or no matching signature. A bad secret returns
// CodeInternal.
func VerifyStandardWebhook(secret string, h StandardHeaders, body []byte, now time.Time) error {
	key, err := standardKey(secret)
	if err != nil {
		return err
	}
	if h.ID == "" {
		return invalidSignature("the webhook-id header is missing")
	}
	if strings.TrimSpace(h.Signature) == "" {
		return invalidSignature("the webhook-signature header is missing")
	}
	ts, err := standardTimestamp(h.Timestamp, now)
	if err != nil {
		return err
	}
	want := standardSum(key, h.ID, ts, body)
	for _, entry := range strings.Fields(h.Signature) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return invalidSignature("no webhook-signature entry matches the body")
}

// standardTimestamp parses webhook-timestamp and checks it is fresh.
func standardTimestamp(header string, now time.Time) (int64, error) {
	if header == "" {
		return 0, invalidTimestamp("the webhook-timestamp header is missing")
	}
	ts, err := strconv.ParseInt(header, 10, 64)
	if err != nil {
		return 0, invalidTimestamp("the webhook-timestamp header is not Unix seconds")
	}
	tolerance := int64(StandardTolerance / time.Second)
	if ts < now.Unix()-tolerance || ts > now.Unix()+tolerance {
		return 0, invalidTimestamp("webhook-timestamp %d is more than %s from now", ts, StandardTolerance)
	}
	return ts, nil
}

func invalidTimestamp(format string, args ...any) *core.Error {
	return core.KeyedError(core.CodeUnauthorized, "invalid_timestamp", format, args...)
}

// standardKey returns the HMAC key of a secret.
func standardKey(secret string) ([]byte, error) {
	if secret == "" {
		return nil, errNoSecret()
	}
	encoded, ok := strings.CutPrefix(secret, standardSecretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) == 0 {
		return nil, core.Errorf(core.CodeInternal, "the signing secret is not whsec_ followed by base64")
	}
	return key, nil
}

func standardSum(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// SourceWebhook is the Source of the orders ParseOrderWebhook returns.
const SourceWebhook = "webhook"

var orderWebhookTypes = map[string]string{
	"order.created":  customer.OrderCreated,
	"order.updated":  customer.OrderUpdated,
	"order.paid":     customer.OrderPaid,
	"order.canceled": customer.OrderCanceled,
	"order.refunded": customer.OrderRefunded,
}

type orderEvent struct {
	Type      string     `json:"type"`
	Timestamp isoTime    `json:"timestamp"`
	Data      *orderData `json:"data"`
}

type orderData struct {
	ID       flexID `json:"id"`
	Status   string `json:"status"`
	Amount   *int64 `json:"amount"`
	Currency string `json:"currency"`
	Customer struct {
		SourceID  flexID `json:"source_id"`
		Email     string `json:"email"`
		Phone     string `json:"phone"`
		Name      string `json:"name"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"customer"`
	Items []struct {
		SKUID     flexID `json:"sku_id"`
		ProductID flexID `json:"product_id"`
		Quantity  int64  `json:"quantity"`
		Price     int64  `json:"price"`
	} `json:"items"`
	DiscountCodes  []string       `json:"discount_codes"`
	RefundedAmount int64          `json:"refunded_amount"`
	CreatedAt      isoTime        `json:"created_at"`
	UpdatedAt      isoTime        `json:"updated_at"`
	Metadata       map[string]any `json:"metadata"`
}

// ParseOrderWebhook parses promorelay's generic order webhook, for shops
// that are neither Shopify nor WooCommerce. It is sent with Standard
// Webhooks headers (verify with VerifyStandardWebhook first); webhookID is
// webhook-id and becomes the Order's DeliveryID. The body, in the
// specification's {type, timestamp, data} envelope and Voucherify's field
// names:
//
//	{
//	  "type": "order.paid",              // order.created|updated|paid|canceled|refunded
//	  "timestamp": "2026-03-01T10:15:00Z", // when it happened; else data.updated_at, data.created_at
//	  "data": {
//	    "id": "ord_1001",                 // required; a string or an integer
//	    "status": "paid",                 // created|paid|canceled|refunded; defaults to the type's, required for order.updated
//	    "amount": 12345,                  // integer minor units (cents); required for created and paid
//	    "currency": "USD",                // ISO 4217; required with any amount
//	    "customer": {"source_id": "cust_42", "email": "ada@example.com", "phone": "+15555550100", "name": "Ada Lovelace"},
//	    "items": [{"sku_id": "sku_1", "product_id": "prod_1", "quantity": 2, "price": 1000}], // price per unit, minor units
//	    "discount_codes": ["SUMMER10"],
//	    "refunded_amount": 0,             // minor units refunded so far
//	    "created_at": "2026-03-01T10:00:00Z",
//	    "updated_at": "2026-03-01T10:15:00Z",
//	    "metadata": {}
//	  }
//	}
//
// Amounts are integers so no sender's float rounding can creep in; a
// decimal string such as "123.45" is refused. Errors are *core.Error with
// code CodeInvalid and key "unsupported_topic" (another type),
// "missing_header" (no webhook-id), "invalid_json" or "invalid_payload"
// (the message names the field); or CodePayloadTooLarge, key
// "payload_too_large", for a body over MaxWebhookBytes.
func ParseOrderWebhook(body []byte, webhookID string) (customer.Order, error) {
	if len(body) > MaxWebhookBytes {
		return customer.Order{}, tooLarge("the webhook body", len(body), MaxWebhookBytes)
	}
	var e orderEvent
	if err := decodeBody(body, &e); err != nil {
		return customer.Order{}, err
	}
	transition, err := e.transition()
	if err != nil {
		return customer.Order{}, err
	}
	if webhookID == "" {
		return customer.Order{}, missingHeader("webhook-id")
	}
	if e.Data == nil {
		return customer.Order{}, invalidPayload("data is required")
	}
	return e.order(transition, webhookID)
}

func (e *orderEvent) transition() (string, error) {
	if e.Type == "" {
		return "", invalidPayload("type is required")
	}
	t, ok := orderWebhookTypes[e.Type]
	if !ok {
		return "", unsupportedTopic("order webhook", e.Type)
	}
	return t, nil
}

func (e *orderEvent) order(transition, webhookID string) (customer.Order, error) {
	d := e.Data
	if err := requireID("data.id", string(d.ID)); err != nil {
		return customer.Order{}, err
	}
	status, err := d.status(transition)
	if err != nil {
		return customer.Order{}, err
	}
	amount, currency, err := d.amount(transition)
	if err != nil {
		return customer.Order{}, err
	}
	items, err := d.items()
	if err != nil {
		return customer.Order{}, err
	}
	at := firstTime(e.Timestamp.Time, d.UpdatedAt.Time, d.CreatedAt.Time)
	if at.IsZero() {
		return customer.Order{}, invalidPayload("timestamp is required (or data.updated_at or data.created_at)")
	}
	return customer.Order{
		Source:         SourceWebhook,
		DeliveryID:     webhookID,
		Transition:     transition,
		Status:         status,
		ID:             string(d.ID),
		Customer:       d.customer(),
		Amount:         amount,
		Currency:       currency,
		RefundedAmount: d.RefundedAmount,
		Items:          items,
		DiscountCodes:  nonEmpty(d.DiscountCodes),
		Metadata:       d.Metadata,
		At:             at,
	}, nil
}

// status is data.status, or the status the type implies.
func (d *orderData) status(transition string) (string, error) {
	switch strings.ToLower(d.Status) {
	case "":
		if transition == customer.OrderUpdated {
			return "", invalidPayload("data.status is required for order.updated")
		}
		return transition, nil
	case "created", "paid", "refunded":
		return strings.ToLower(d.Status), nil
	case "canceled", "cancelled":
		return customer.OrderCanceled, nil
	}
	return "", invalidPayload("data.status %q is not one of created, paid, canceled or refunded", d.Status)
}

// amount checks data.amount, data.refunded_amount and data.currency.
func (d *orderData) amount(transition string) (int64, string, error) {
	needAmount := transition == customer.OrderCreated || transition == customer.OrderPaid
	switch {
	case d.Amount == nil && needAmount:
		return 0, "", invalidPayload("data.amount is required for order.%s", transition)
	case d.Amount != nil && *d.Amount < 0:
		return 0, "", invalidPayload("data.amount must not be negative")
	case d.RefundedAmount < 0:
		return 0, "", invalidPayload("data.refunded_amount must not be negative")
	}
	var amount int64
	if d.Amount != nil {
		amount = *d.Amount
	}
	if d.Amount == nil && d.RefundedAmount == 0 && len(d.Items) == 0 && d.Currency == "" {
		return 0, "", nil
	}
	currency, err := requireCurrency("data.currency", d.Currency)
	return amount, currency, err
}

func (d *orderData) items() ([]customer.OrderItem, error) {
	var items []customer.OrderItem
	for i, it := range d.Items {
		if it.Quantity < 0 {
			return nil, invalidPayload("%s must not be negative", indexed("data.items", i, "quantity"))
		}
		if it.Price < 0 {
			return nil, invalidPayload("%s must not be negative", indexed("data.items", i, "price"))
		}
		items = append(items, customer.OrderItem{SKU: string(it.SKUID), ProductID: string(it.ProductID), Quantity: it.Quantity, Price: it.Price})
	}
	return items, nil
}

// customer splits a one-field name at its first space when no first and
// last name are given.
func (d *orderData) customer() customer.OrderCustomer {
	c := d.Customer
	first, last := c.FirstName, c.LastName
	if first == "" && last == "" {
		first, last, _ = strings.Cut(strings.TrimSpace(c.Name), " ")
		last = strings.TrimSpace(last)
	}
	return customer.OrderCustomer{ID: string(c.SourceID), Email: normalEmail(c.Email), Phone: c.Phone, FirstName: first, LastName: last}
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
