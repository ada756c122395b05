package customer

import "time"

// Message is one normalised inbound call in Segment's vocabulary: what the
// events package makes of a Segment call, a Voucherify custom event or a
// shop's customer webhook. The ingest service applies it to a profile.
type Message struct {
	// Source names the inbound path ("segment", "api", "shopify", …); with
	// MessageID it is the deduplication key.
	Source    string
	MessageID string
	// Type is identify, track, page, screen, group or alias.
	Type string
	// UserID is the customer's source_id; AnonymousID a secondary identity;
	// PreviousID the identity an alias call merges into UserID.
	UserID      string
	AnonymousID string
	// CustomerID names the customer by promorelay's id instead (API calls).
	CustomerID string
	PreviousID string
	GroupID    string
	// Email, when the call names one, is a secondary identity (taken from
	// traits.email for Segment calls).
	Email string
	// Event is the track event's name; page and screen calls use "Viewed
	// <name> Page"/"… Screen" as Segment's destinations do, or Name.
	Event      string
	Name       string
	Traits     map[string]any
	Properties map[string]any
	// Consents are marketing consents the call states, by channel or
	// category ("email", "sms", or a consent category's lowercased name).
	Consents map[string]bool
	// Timestamp is when it happened (Segment's timestamp, corrected by
	// sentAt/receivedAt when the client clock is off); ReceivedAt when
	// promorelay got it.
	Timestamp  time.Time
	ReceivedAt time.Time
}

// Order statuses after a transition.
const (
	OrderCreated  = "created"
	OrderUpdated  = "updated"
	OrderPaid     = "paid"
	OrderCanceled = "canceled"
	OrderRefunded = "refunded"
)

// Order is one normalised shop order notification (Shopify, WooCommerce,
// the generic signed webhook, or POST /v1/orders).
type Order struct {
	// Source and DeliveryID deduplicate the notification (X-Shopify-Event-Id,
	// X-WC-Webhook-Delivery-ID, webhook-id).
	Source     string
	DeliveryID string
	// Transition is what this notification says happened (one of the Order*
	// constants); Status is the order's state after it (created, paid,
	// canceled or refunded; "updated" is never a status).
	Transition string
	Status     string
	ID         string
	Customer   OrderCustomer
	// Amounts are in the currency's minor units (cents). Amount 0 on a
	// known order means "not stated" (a refund notification carries no
	// order total). RefundedAmount is what was refunded so far; Refund,
	// when set, is instead the one refund this notification reports, added
	// to what was refunded before.
	Amount         int64
	Currency       string
	RefundedAmount int64
	Refund         int64
	Items          []OrderItem
	DiscountCodes  []string
	Metadata       map[string]any
	// At is when the shop says the transition happened.
	At time.Time
}

// OrderCustomer is who placed an order, as the shop knows them.
type OrderCustomer struct {
	// CustomerID names the customer by promorelay's id (API calls).
	CustomerID string
	ID         string // the shop's customer id: the profile's source_id
	Email      string
	Phone      string
	FirstName  string
	LastName   string
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKU       string
	ProductID string
	Quantity  int64
	Price     int64 // unit price in minor units
}
