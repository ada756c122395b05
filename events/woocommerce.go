package events

import (
	"net/url"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// SourceWooCommerce is the Source of the orders ParseWooCommerce returns.
const SourceWooCommerce = "woocommerce"

// WooHeaders are the headers WooCommerce sends with every webhook delivery.
type WooHeaders struct {
	Topic      string // X-WC-Webhook-Topic, e.g. "order.created"
	Resource   string // X-WC-Webhook-Resource, e.g. "order"
	Event      string // X-WC-Webhook-Event, e.g. "created"
	Signature  string // X-WC-Webhook-Signature
	WebhookID  string // X-WC-Webhook-ID: the webhook's configuration
	DeliveryID string // X-WC-Webhook-Delivery-ID: one delivery, the id to deduplicate on
	Source     string // X-WC-Webhook-Source: the shop's home URL
}

// WooHeadersFrom reads WooHeaders with get, e.g. an http.Header's Get.
func WooHeadersFrom(get func(string) string) WooHeaders {
	return WooHeaders{
		Topic:      get("X-WC-Webhook-Topic"),
		Resource:   get("X-WC-Webhook-Resource"),
		Event:      get("X-WC-Webhook-Event"),
		Signature:  get("X-WC-Webhook-Signature"),
		WebhookID:  get("X-WC-Webhook-ID"),
		DeliveryID: get("X-WC-Webhook-Delivery-ID"),
		Source:     get("X-WC-Webhook-Source"),
	}
}

// VerifyWooCommerce checks the X-WC-Webhook-Signature header: the base64
// HMAC-SHA256 of the raw request body keyed with the webhook's secret.
// WooCommerce's creation ping is unsigned; see IsWooPing. Errors as
// VerifySegmentSignature.
func VerifyWooCommerce(secret string, body []byte, sigHeader string) error {
	return wooScheme.verify(secret, body, sigHeader)
}

// IsWooPing reports whether a request is the test ping WooCommerce sends
// once when a webhook is saved: a form-encoded body "webhook_id=<n>" with
// none of the X-WC-Webhook-* headers and no signature. WooCommerce only
// activates the webhook if the ping gets a 200, so callers answer it 200
// without verifying or parsing anything; the ping carries no data.
func IsWooPing(body []byte, get func(string) string) bool {
	if len(body) > 64 || get("X-WC-Webhook-Signature") != "" || get("X-WC-Webhook-Topic") != "" {
		return false
	}
	form, err := url.ParseQuery(strings.TrimSpace(string(body)))
	if err != nil || len(form) != 1 || len(form["webhook_id"]) != 1 {
		return false
	}
	id := form.Get("webhook_id")
	return id != "" && allDigits(id)
}

var wooTopics = map[string]string{
	"order.created": customer.OrderCreated,
	"order.updated": customer.OrderUpdated,
	"order.deleted": customer.OrderCanceled,
}

type wooOrder struct {
	ID         flexID      `json:"id"`
	Number     string      `json:"number"`
	Status     string      `json:"status"`
	Currency   string      `json:"currency"`
	Total      decimalText `json:"total"`
	CustomerID flexID      `json:"customer_id"`
	Billing    struct {
		Email     string `json:"email"`
		Phone     string `json:"phone"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"billing"`
	LineItems []struct {
		SKU       string      `json:"sku"`
		ProductID flexID      `json:"product_id"`
		Quantity  int64       `json:"quantity"`
		Price     decimalText `json:"price"`
		Total     decimalText `json:"total"`
	} `json:"line_items"`
	CouponLines []struct {
		Code string `json:"code"`
	} `json:"coupon_lines"`
	Refunds []struct {
		Total decimalText `json:"total"`
	} `json:"refunds"`
	DateCreatedGMT  isoTime `json:"date_created_gmt"`
	DateModifiedGMT isoTime `json:"date_modified_gmt"`
}

// ParseWooCommerce parses a WooCommerce order webhook (REST API v3 order
// JSON) of topic order.created, order.updated or order.deleted (a
// cancellation; its body may hold only {"id": n}). deliveryID is
// X-WC-Webhook-Delivery-ID and becomes the Order's DeliveryID. At is the
// order's date_created_gmt or date_modified_gmt; it is zero when the body
// has neither (a bare order.deleted), and callers then use their receive
// time. Verify the body first with VerifyWooCommerce.
//
// Errors are *core.Error with code CodeInvalid and key "unsupported_topic",
// "missing_header" (no delivery id), "invalid_json" or "invalid_payload"
// (the message names the field); or CodePayloadTooLarge, key
// "payload_too_large", for a body over MaxWebhookBytes.
func ParseWooCommerce(topic string, body []byte, deliveryID string) (customer.Order, error) {
	if len(body) > MaxWebhookBytes {
		return customer.Order{}, tooLarge("the webhook body", len(body), MaxWebhookBytes)
	}
	transition, ok := wooTopics[topic]
	if !ok {
		return customer.Order{}, unsupportedTopic("WooCommerce", topic)
	}
	if deliveryID == "" {
		return customer.Order{}, missingHeader("X-WC-Webhook-Delivery-ID")
	}
	var o wooOrder
	if err := decodeBody(body, &o); err != nil {
		return customer.Order{}, err
	}
	return o.order(transition, deliveryID)
}

func (o *wooOrder) order(transition, deliveryID string) (customer.Order, error) {
	if err := requireID("id", string(o.ID)); err != nil {
		return customer.Order{}, err
	}
	currency, err := o.currency()
	if err != nil {
		return customer.Order{}, err
	}
	amount, err := amountField("total", o.Total, currency)
	if err != nil {
		return customer.Order{}, err
	}
	items, err := o.items(currency)
	if err != nil {
		return customer.Order{}, err
	}
	refunded, err := o.refunded(currency)
	if err != nil {
		return customer.Order{}, err
	}
	status := wooStatus(o.Status)
	if transition == customer.OrderCanceled {
		status = customer.OrderCanceled
	}
	return customer.Order{
		Source:         SourceWooCommerce,
		DeliveryID:     deliveryID,
		Transition:     transition,
		Status:         status,
		ID:             string(o.ID),
		Customer:       o.customer(),
		Amount:         amount,
		Currency:       currency,
		RefundedAmount: refunded,
		Items:          items,
		DiscountCodes:  o.couponCodes(),
		Metadata:       o.metadata(),
		At:             o.at(transition),
	}, nil
}

// currency is required once the body states any amount.
func (o *wooOrder) currency() (string, error) {
	if o.Currency == "" && o.Total == "" && len(o.LineItems) == 0 && len(o.Refunds) == 0 {
		return "", nil
	}
	return requireCurrency("currency", o.Currency)
}

// wooStatus maps WooCommerce's order statuses: processing and completed
// orders are paid, cancelled, failed and trashed ones canceled, refunded
// ones refunded; pending, on-hold and drafts are merely created.
func wooStatus(s string) string {
	switch strings.TrimPrefix(s, "wc-") {
	case "processing", "completed":
		return customer.OrderPaid
	case "cancelled", "failed", "trash":
		return customer.OrderCanceled
	case "refunded":
		return customer.OrderRefunded
	}
	return customer.OrderCreated
}

// customer is the billing contact; customer_id 0 is a guest, who has no id.
func (o *wooOrder) customer() customer.OrderCustomer {
	c := customer.OrderCustomer{
		Email:     normalEmail(o.Billing.Email),
		Phone:     o.Billing.Phone,
		FirstName: o.Billing.FirstName,
		LastName:  o.Billing.LastName,
	}
	if id := string(o.CustomerID); id != "0" {
		c.ID = id
	}
	return c
}

// items reads line items. WooCommerce's price is total/quantity as a float
// (5.666666666666667), so it is rounded to the minor unit; without it the
// unit price is derived from the line total.
func (o *wooOrder) items(currency string) ([]customer.OrderItem, error) {
	var items []customer.OrderItem
	for i, li := range o.LineItems {
		if li.Quantity < 0 {
			return nil, invalidPayload("%s must not be negative", indexed("line_items", i, "quantity"))
		}
		price, err := wooUnitPrice(i, string(li.Price), li.Total, li.Quantity, currency)
		if err != nil {
			return nil, err
		}
		items = append(items, customer.OrderItem{SKU: li.SKU, ProductID: string(li.ProductID), Quantity: li.Quantity, Price: price})
	}
	return items, nil
}

func wooUnitPrice(i int, price string, total decimalText, quantity int64, currency string) (int64, error) {
	field := indexed("line_items", i, "price")
	if price == "" {
		t, err := amountField(indexed("line_items", i, "total"), total, currency)
		if err != nil || quantity == 0 {
			return 0, err
		}
		return roundDiv(t, quantity), nil
	}
	v, err := roundedMinorUnits(price, currency)
	if err != nil {
		return 0, invalidPayload("%s: %s", field, core.ErrorMessage(err))
	}
	if v < 0 {
		return 0, invalidPayload("%s must not be negative", field)
	}
	return v, nil
}

// roundDiv divides non-negative a by positive b, rounding half up.
func roundDiv(a, b int64) int64 {
	q, r := a/b, a%b
	if r >= b-r {
		q++
	}
	return q
}

func (o *wooOrder) couponCodes() []string {
	var codes []string
	for _, c := range o.CouponLines {
		if c.Code != "" {
			codes = append(codes, c.Code)
		}
	}
	return codes
}

// refunded sums the order's refunds, which WooCommerce lists with negative
// totals ("-10.00").
func (o *wooOrder) refunded(currency string) (int64, error) {
	var total int64
	for i, r := range o.Refunds {
		v, err := signedAmountField(indexed("refunds", i, "total"), r.Total, currency)
		if err != nil {
			return 0, err
		}
		if v < 0 {
			v = -v
		}
		if total, err = addAmount("refunds", total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func (o *wooOrder) metadata() map[string]any {
	if o.Number == "" {
		return nil
	}
	return map[string]any{"order_number": o.Number}
}

// at is date_created_gmt for a creation, date_modified_gmt otherwise.
func (o *wooOrder) at(transition string) time.Time {
	if transition == customer.OrderCreated {
		return firstTime(o.DateCreatedGMT.Time, o.DateModifiedGMT.Time)
	}
	return firstTime(o.DateModifiedGMT.Time, o.DateCreatedGMT.Time)
}
