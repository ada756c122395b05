package events

import (
	"fmt"
	"strings"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// SourceShopify is the Source of everything ParseShopify returns.
const SourceShopify = "shopify"

// ShopifyHeaders are the headers Shopify sends with every webhook.
type ShopifyHeaders struct {
	Topic       string // X-Shopify-Topic, e.g. "orders/create"
	EventID     string // X-Shopify-Event-Id: the same for every delivery of one event
	WebhookID   string // X-Shopify-Webhook-Id: one delivery
	TriggeredAt string // X-Shopify-Triggered-At, RFC 3339
	ShopDomain  string // X-Shopify-Shop-Domain, e.g. "example.myshopify.com"
	APIVersion  string // X-Shopify-API-Version, e.g. "2025-01"
}

// ShopifyHeadersFrom reads ShopifyHeaders with get, e.g. an http.Header's Get.
func ShopifyHeadersFrom(get func(string) string) ShopifyHeaders {
	return ShopifyHeaders{
		Topic:       get("X-Shopify-Topic"),
		EventID:     get("X-Shopify-Event-Id"),
		WebhookID:   get("X-Shopify-Webhook-Id"),
		TriggeredAt: get("X-Shopify-Triggered-At"),
		ShopDomain:  get("X-Shopify-Shop-Domain"),
		APIVersion:  get("X-Shopify-API-Version"),
	}
}

// DeliveryID is the id to deduplicate on: X-Shopify-Event-Id, which Shopify
// documents as identical across duplicate deliveries, else
// X-Shopify-Webhook-Id (older API versions send only that one).
func (h ShopifyHeaders) DeliveryID() string {
	if h.EventID != "" {
		return h.EventID
	}
	return h.WebhookID
}

// Triggered returns X-Shopify-Triggered-At as a time, ok false when the
// header is missing or unreadable.
func (h ShopifyHeaders) Triggered() (t time.Time, ok bool) {
	return parseISOTime(strings.TrimSpace(h.TriggeredAt))
}

// CheckFresh refuses a webhook triggered more than maxAge before now (or
// more than maxAge after it, a clock gone wrong), so a captured request
// cannot be replayed later. A zero triggeredAt is refused too. The error is
// a *core.Error with code CodeInvalid and key "stale_webhook".
func CheckFresh(triggeredAt time.Time, now time.Time, maxAge time.Duration) error {
	if triggeredAt.IsZero() {
		return core.KeyedError(core.CodeInvalid, "stale_webhook", "the webhook does not say when it was triggered")
	}
	age := now.Sub(triggeredAt)
	if age > maxAge || age < -maxAge {
		return core.KeyedError(core.CodeInvalid, "stale_webhook",
			"the webhook was triggered at %s, more than %s from now", triggeredAt.UTC().Format(time.RFC3339), maxAge)
	}
	return nil
}

// VerifyShopify checks the X-Shopify-Hmac-Sha256 header: the base64
// HMAC-SHA256 of the raw request body keyed with the app's client secret
// (or, for webhooks made in the store admin, the store's signing key).
// Errors as VerifySegmentSignature.
func VerifyShopify(secret string, body []byte, hmacHeader string) error {
	return shopifyScheme.verify(secret, body, hmacHeader)
}

// ShopifyCall is what one Shopify webhook means: an order notification or
// a customer identify call. Exactly one field is set.
type ShopifyCall struct {
	Order    *customer.Order
	Customer *customer.Message
}

var shopifyOrderTopics = map[string]string{
	"orders/create":    customer.OrderCreated,
	"orders/updated":   customer.OrderUpdated,
	"orders/paid":      customer.OrderPaid,
	"orders/cancelled": customer.OrderCanceled,
}

// ParseShopify parses a Shopify webhook of topic (h.Topic when topic is
// ""): orders/create, orders/updated, orders/paid, orders/cancelled and
// refunds/create become an Order, customers/create and customers/update an
// identify Message. Both carry Source "shopify" and h.DeliveryID() as
// DeliveryID or MessageID. The Message's ReceivedAt is left zero for the
// caller to set. Verify the body first with VerifyShopify.
//
// Errors are *core.Error with code CodeInvalid and key "unsupported_topic"
// (another topic), "missing_header" (neither X-Shopify-Event-Id nor
// X-Shopify-Webhook-Id), "invalid_json" or "invalid_payload" (the message
// names the field); or CodePayloadTooLarge, key "payload_too_large", for a
// body over MaxWebhookBytes.
func ParseShopify(topic string, body []byte, h ShopifyHeaders) (ShopifyCall, error) {
	if topic == "" {
		topic = h.Topic
	}
	if len(body) > MaxWebhookBytes {
		return ShopifyCall{}, tooLarge("the webhook body", len(body), MaxWebhookBytes)
	}
	var parse func([]byte, ShopifyHeaders) (ShopifyCall, error)
	switch {
	case shopifyOrderTopics[topic] != "":
		transition := shopifyOrderTopics[topic]
		parse = func(b []byte, h ShopifyHeaders) (ShopifyCall, error) { return parseShopifyOrder(b, h, transition) }
	case topic == "refunds/create":
		parse = parseShopifyRefund
	case topic == "customers/create" || topic == "customers/update":
		parse = parseShopifyCustomer
	default:
		return ShopifyCall{}, unsupportedTopic("Shopify", topic)
	}
	if h.DeliveryID() == "" {
		return ShopifyCall{}, missingHeader("X-Shopify-Event-Id")
	}
	return parse(body, h)
}

type shopifyOrder struct {
	ID              flexID           `json:"id"`
	Name            string           `json:"name"`
	Email           string           `json:"email"`
	ContactEmail    string           `json:"contact_email"`
	Phone           string           `json:"phone"`
	Currency        string           `json:"currency"`
	TotalPrice      decimalText      `json:"total_price"`
	FinancialStatus string           `json:"financial_status"`
	CancelledAt     isoTime          `json:"cancelled_at"`
	CreatedAt       isoTime          `json:"created_at"`
	UpdatedAt       isoTime          `json:"updated_at"`
	ProcessedAt     isoTime          `json:"processed_at"`
	Customer        *shopifyCustomer `json:"customer"`
	BillingAddress  *struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Phone     string `json:"phone"`
	} `json:"billing_address"`
	LineItems []struct {
		SKU       string      `json:"sku"`
		ProductID flexID      `json:"product_id"`
		Quantity  int64       `json:"quantity"`
		Price     decimalText `json:"price"`
	} `json:"line_items"`
	DiscountCodes []struct {
		Code string `json:"code"`
	} `json:"discount_codes"`
	Refunds []shopifyRefund `json:"refunds"`
}

type shopifyRefund struct {
	ID           flexID  `json:"id"`
	OrderID      flexID  `json:"order_id"`
	CreatedAt    isoTime `json:"created_at"`
	ProcessedAt  isoTime `json:"processed_at"`
	Transactions []struct {
		Kind     string      `json:"kind"`
		Status   string      `json:"status"`
		Amount   decimalText `json:"amount"`
		Currency string      `json:"currency"`
	} `json:"transactions"`
	RefundLineItems []struct {
		Subtotal    decimalText `json:"subtotal"`
		SubtotalSet struct {
			ShopMoney struct {
				CurrencyCode string `json:"currency_code"`
			} `json:"shop_money"`
		} `json:"subtotal_set"`
	} `json:"refund_line_items"`
}

type shopifyCustomer struct {
	ID                    flexID          `json:"id"`
	Email                 string          `json:"email"`
	Phone                 string          `json:"phone"`
	FirstName             string          `json:"first_name"`
	LastName              string          `json:"last_name"`
	Tags                  string          `json:"tags"`
	CreatedAt             isoTime         `json:"created_at"`
	UpdatedAt             isoTime         `json:"updated_at"`
	EmailMarketingConsent *shopifyConsent `json:"email_marketing_consent"`
	SMSMarketingConsent   *shopifyConsent `json:"sms_marketing_consent"`
}

type shopifyConsent struct {
	State string `json:"state"`
}

func parseShopifyOrder(body []byte, h ShopifyHeaders, transition string) (ShopifyCall, error) {
	var o shopifyOrder
	if err := decodeBody(body, &o); err != nil {
		return ShopifyCall{}, err
	}
	order, err := o.order(transition, h)
	if err != nil {
		return ShopifyCall{}, err
	}
	return ShopifyCall{Order: &order}, nil
}

func (o *shopifyOrder) order(transition string, h ShopifyHeaders) (customer.Order, error) {
	if err := requireID("id", string(o.ID)); err != nil {
		return customer.Order{}, err
	}
	currency, err := requireCurrency("currency", o.Currency)
	if err != nil {
		return customer.Order{}, err
	}
	amount, err := amountField("total_price", o.TotalPrice, currency)
	if err != nil {
		return customer.Order{}, err
	}
	items, err := o.items(currency)
	if err != nil {
		return customer.Order{}, err
	}
	refunded, err := shopifyRefunded(o.Refunds, currency)
	if err != nil {
		return customer.Order{}, err
	}
	at, err := o.at(transition, h)
	if err != nil {
		return customer.Order{}, err
	}
	return customer.Order{
		Source:         SourceShopify,
		DeliveryID:     h.DeliveryID(),
		Transition:     transition,
		Status:         o.status(),
		ID:             string(o.ID),
		Customer:       o.customer(),
		Amount:         amount,
		Currency:       currency,
		RefundedAmount: refunded,
		Items:          items,
		DiscountCodes:  o.discountCodes(),
		Metadata:       shopifyMetadata(o.Name, h),
		At:             at,
	}, nil
}

// status is the order's state: a cancelled order is canceled whatever its
// payment says; a (partly) refunded one refunded; a paid one paid.
func (o *shopifyOrder) status() string {
	switch {
	case !o.CancelledAt.IsZero():
		return customer.OrderCanceled
	case o.FinancialStatus == "refunded" || o.FinancialStatus == "partially_refunded":
		return customer.OrderRefunded
	case o.FinancialStatus == "paid":
		return customer.OrderPaid
	}
	return customer.OrderCreated
}

// customer is who placed the order: the customer object, or for a guest
// checkout (customer null) the order's own email, phone and billing name.
func (o *shopifyOrder) customer() customer.OrderCustomer {
	c := customer.OrderCustomer{Email: normalEmail(firstString(o.Email, o.ContactEmail)), Phone: o.Phone}
	if b := o.BillingAddress; b != nil {
		c.FirstName, c.LastName = b.FirstName, b.LastName
		c.Phone = firstString(c.Phone, b.Phone)
	}
	if sc := o.Customer; sc != nil {
		c.ID = string(sc.ID)
		c.Email = firstString(normalEmail(sc.Email), c.Email)
		c.Phone = firstString(sc.Phone, c.Phone)
		c.FirstName = firstString(sc.FirstName, c.FirstName)
		c.LastName = firstString(sc.LastName, c.LastName)
	}
	return c
}

func (o *shopifyOrder) items(currency string) ([]customer.OrderItem, error) {
	var items []customer.OrderItem
	for i, li := range o.LineItems {
		price, err := amountField(indexed("line_items", i, "price"), li.Price, currency)
		if err != nil {
			return nil, err
		}
		if li.Quantity < 0 {
			return nil, invalidPayload("%s must not be negative", indexed("line_items", i, "quantity"))
		}
		items = append(items, customer.OrderItem{SKU: li.SKU, ProductID: string(li.ProductID), Quantity: li.Quantity, Price: price})
	}
	return items, nil
}

func (o *shopifyOrder) discountCodes() []string {
	var codes []string
	for _, d := range o.DiscountCodes {
		if d.Code != "" {
			codes = append(codes, d.Code)
		}
	}
	return codes
}

// at is when the transition happened: cancelled_at for a cancellation,
// processed_at for a creation, updated_at otherwise, falling back on
// X-Shopify-Triggered-At and then the order's other times.
func (o *shopifyOrder) at(transition string, h ShopifyHeaders) (time.Time, error) {
	var first time.Time
	switch transition {
	case customer.OrderCanceled:
		first = o.CancelledAt.Time
	case customer.OrderCreated:
		first = firstTime(o.ProcessedAt.Time, o.CreatedAt.Time)
	default:
		first = o.UpdatedAt.Time
	}
	triggered, _ := h.Triggered()
	at := firstTime(first, triggered, o.UpdatedAt.Time, o.CreatedAt.Time)
	if at.IsZero() {
		return time.Time{}, invalidPayload("the order has no created_at or updated_at and X-Shopify-Triggered-At is missing")
	}
	return at, nil
}

func shopifyMetadata(orderName string, h ShopifyHeaders) map[string]any {
	md := map[string]any{}
	if orderName != "" {
		md["order_name"] = orderName
	}
	if h.ShopDomain != "" {
		md["shop_domain"] = h.ShopDomain
	}
	if len(md) == 0 {
		return nil
	}
	return md
}

// parseShopifyRefund turns a refunds/create body (a refund object) into a
// refunded Order carrying this refund's amount. Amount is 0: the refund
// does not say what the order totalled.
func parseShopifyRefund(body []byte, h ShopifyHeaders) (ShopifyCall, error) {
	var r shopifyRefund
	if err := decodeBody(body, &r); err != nil {
		return ShopifyCall{}, err
	}
	if err := requireID("order_id", string(r.OrderID)); err != nil {
		return ShopifyCall{}, err
	}
	currency := r.currency()
	refunded, err := r.amount(currency, "")
	if err != nil {
		return ShopifyCall{}, err
	}
	triggered, _ := h.Triggered()
	at := firstTime(r.CreatedAt.Time, r.ProcessedAt.Time, triggered)
	if at.IsZero() {
		return ShopifyCall{}, invalidPayload("the refund has no created_at and X-Shopify-Triggered-At is missing")
	}
	return ShopifyCall{Order: &customer.Order{
		Source:     SourceShopify,
		DeliveryID: h.DeliveryID(),
		Transition: customer.OrderRefunded,
		Status:     customer.OrderRefunded,
		ID:         string(r.OrderID),
		Currency:   currency,
		Refund:     refunded,
		Metadata:   shopifyMetadata("", h),
		At:         at,
	}}, nil
}

// currency is the refund's currency: its transactions', else its line
// items' shop currency.
func (r *shopifyRefund) currency() string {
	for _, t := range r.Transactions {
		if t.Currency != "" {
			return strings.ToUpper(t.Currency)
		}
	}
	for _, li := range r.RefundLineItems {
		if c := li.SubtotalSet.ShopMoney.CurrencyCode; c != "" {
			return strings.ToUpper(c)
		}
	}
	return ""
}

// amount is what the refund returned: its successful refund transactions,
// else (a refund with no money moved yet) its line items' subtotals.
// prefix names the refund in error messages ("refunds[0].").
func (r *shopifyRefund) amount(currency, prefix string) (int64, error) {
	var total int64
	found := false
	for i, t := range r.Transactions {
		if t.Kind != "refund" || (t.Status != "" && t.Status != "success") {
			continue
		}
		found = true
		v, err := amountField(prefix+indexed("transactions", i, "amount"), t.Amount, currency)
		if err != nil {
			return 0, err
		}
		if total, err = addAmount(prefix+"transactions", total, v); err != nil {
			return 0, err
		}
	}
	if found {
		return total, nil
	}
	for i, li := range r.RefundLineItems {
		v, err := amountField(prefix+indexed("refund_line_items", i, "subtotal"), li.Subtotal, currency)
		if err != nil {
			return 0, err
		}
		if total, err = addAmount(prefix+"refund_line_items", total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// shopifyRefunded sums an order's refunds.
func shopifyRefunded(refunds []shopifyRefund, currency string) (int64, error) {
	var total int64
	for i := range refunds {
		v, err := refunds[i].amount(currency, fmt.Sprintf("refunds[%d].", i))
		if err != nil {
			return 0, err
		}
		if total, err = addAmount("refunds", total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// parseShopifyCustomer turns a customers/create or customers/update body
// into an identify call for the customer's id.
func parseShopifyCustomer(body []byte, h ShopifyHeaders) (ShopifyCall, error) {
	var c shopifyCustomer
	if err := decodeBody(body, &c); err != nil {
		return ShopifyCall{}, err
	}
	if err := requireID("id", string(c.ID)); err != nil {
		return ShopifyCall{}, err
	}
	triggered, _ := h.Triggered()
	ts := firstTime(c.UpdatedAt.Time, c.CreatedAt.Time, triggered)
	if ts.IsZero() {
		return ShopifyCall{}, invalidPayload("the customer has no updated_at or created_at and X-Shopify-Triggered-At is missing")
	}
	return ShopifyCall{Customer: &customer.Message{
		Source:    SourceShopify,
		MessageID: h.DeliveryID(),
		Type:      "identify",
		UserID:    string(c.ID),
		Email:     normalEmail(c.Email),
		Traits:    c.traits(),
		Consents:  c.consents(),
		Timestamp: ts,
	}}, nil
}

func (c *shopifyCustomer) traits() map[string]any {
	t := map[string]any{}
	for k, v := range map[string]string{
		"email": normalEmail(c.Email), "first_name": c.FirstName, "last_name": c.LastName, "phone": c.Phone,
	} {
		if v != "" {
			t[k] = v
		}
	}
	if tags := splitTags(c.Tags); len(tags) > 0 {
		t["tags"] = tags
	}
	return t
}

// consents maps Shopify's marketing consent states: subscribed is consent;
// unsubscribed and not_subscribed are its absence; pending, redacted and
// invalid say nothing.
func (c *shopifyCustomer) consents() map[string]bool {
	out := map[string]bool{}
	for channel, consent := range map[string]*shopifyConsent{"email": c.EmailMarketingConsent, "sms": c.SMSMarketingConsent} {
		if consent == nil {
			continue
		}
		switch strings.ToLower(consent.State) {
		case "subscribed":
			out[channel] = true
		case "unsubscribed", "not_subscribed":
			out[channel] = false
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// splitTags splits Shopify's comma-separated tags.
func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}
