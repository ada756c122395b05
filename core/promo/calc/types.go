// Package calc is promorelay's pricing model: orders, discounts, and the
// arithmetic of applying discounts and gift cards to an order, with the
// field names of Voucherify's API. It is pure: no storage, no clock, no I/O.
//
// Money is int64 in the smallest currency unit (cents) everywhere. A
// Calculation applies redeemables one after another, as Voucherify stacks
// them: each works on what the earlier ones left (the order's total_amount,
// or an item's subtotal_amount), and none takes off more than is left, so no
// total ever goes negative. Percentages are computed exactly from the decimal
// percent_off and rounded once per application (per item for item-level
// effects) half away from zero to whole cents.
package calc

import "encoding/json"

// Discount types.
const (
	DiscountAmount  = "AMOUNT"
	DiscountPercent = "PERCENT"
	DiscountFixed   = "FIXED"
	DiscountUnit    = "UNIT"
)

// Discount effects. AMOUNT, PERCENT and FIXED take APPLY_TO_ORDER (the
// default) or APPLY_TO_ITEMS; UNIT takes ADD_MISSING_ITEMS (the default) or
// ADD_NEW_ITEMS.
const (
	EffectApplyToOrder = "APPLY_TO_ORDER"
	EffectApplyToItems = "APPLY_TO_ITEMS"
	EffectAddMissing   = "ADD_MISSING_ITEMS"
	EffectAddNew       = "ADD_NEW_ITEMS"
)

// Discount is what a discount voucher takes off. Amounts are in the smallest
// currency unit (cents); percent_off is a number such as 15 or 12.5.
type Discount struct {
	Type       string   `json:"type"`
	AmountOff  *int64   `json:"amount_off,omitempty"`
	PercentOff *float64 `json:"percent_off,omitempty"`
	// AmountLimit caps a PERCENT discount (over all items for APPLY_TO_ITEMS).
	// Nil or 0 means no cap.
	AmountLimit *int64 `json:"amount_limit,omitempty"`
	// FixedAmount is what the order (APPLY_TO_ORDER) or each unit of an item
	// (APPLY_TO_ITEMS) costs after a FIXED discount.
	FixedAmount *int64 `json:"fixed_amount,omitempty"`
	UnitOff     *int64 `json:"unit_off,omitempty"`
	UnitType    string `json:"unit_type,omitempty"` // the product or SKU id the units apply to
	// Product and SKU describe the unit of a UNIT discount. When the order
	// lacks the item, the unit price comes from SKU.Price, else Product.Price.
	Product *ItemRef `json:"product,omitempty"`
	SKU     *ItemRef `json:"sku,omitempty"`
	Effect  string   `json:"effect,omitempty"`
}

// Order is the order a validation or redemption is for. Amounts in cents.
type Order struct {
	ID       string `json:"id,omitempty"`
	SourceID string `json:"source_id,omitempty"`
	Status   string `json:"status,omitempty"`
	// Amount is what the order costs before discounts; 0 means the sum of the
	// items' amounts. It is trusted when set, even if smaller than that sum.
	Amount        int64 `json:"amount,omitempty"`
	InitialAmount int64 `json:"initial_amount,omitempty"`
	// DiscountAmount is order-level discount already applied to the order
	// (by earlier redemptions); it stays counted in the totals.
	DiscountAmount int64           `json:"discount_amount,omitempty"`
	Items          []OrderItem     `json:"items,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKUID         string `json:"sku_id,omitempty"`
	ProductID     string `json:"product_id,omitempty"`
	RelatedObject string `json:"related_object,omitempty"` // product or sku
	SourceID      string `json:"source_id,omitempty"`
	Quantity      int64  `json:"quantity,omitempty"`
	// Amount is the line's cost; 0 means Price × Quantity.
	Amount int64 `json:"amount,omitempty"`
	// Price is the unit price; 0 means SKU.Price, else Product.Price.
	Price int64 `json:"price,omitempty"`
	// DiscountAmount is item-level discount already applied to this line.
	DiscountAmount int64           `json:"discount_amount,omitempty"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	Product        *ItemRef        `json:"product,omitempty"`
	SKU            *ItemRef        `json:"sku,omitempty"`
}

// ItemRef identifies the product or SKU of an order item.
type ItemRef struct {
	ID       string          `json:"id,omitempty"`
	SourceID string          `json:"source_id,omitempty"`
	Name     string          `json:"name,omitempty"`
	SKU      string          `json:"sku,omitempty"`
	Price    *int64          `json:"price,omitempty"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// CalculatedOrder is an order with discounts applied, as Voucherify's
// validation and redemption responses show it. The "applied" amounts count
// what this calculation (or, in Applied.Order, one redeemable) took off; the
// others also count discounts the order came with. Always:
//
//	total_discount_amount = discount_amount + items_discount_amount
//	total_amount = amount - total_discount_amount ≥ 0
//	total_applied_discount_amount = applied_discount_amount + items_applied_discount_amount
type CalculatedOrder struct {
	ID                         string           `json:"id,omitempty"`
	SourceID                   string           `json:"source_id,omitempty"`
	Status                     string           `json:"status,omitempty"`
	Amount                     int64            `json:"amount"`
	InitialAmount              int64            `json:"initial_amount"`
	DiscountAmount             int64            `json:"discount_amount,omitempty"`
	ItemsDiscountAmount        int64            `json:"items_discount_amount,omitempty"`
	TotalDiscountAmount        int64            `json:"total_discount_amount"`
	TotalAmount                int64            `json:"total_amount"`
	AppliedDiscountAmount      int64            `json:"applied_discount_amount,omitempty"`
	ItemsAppliedDiscountAmount int64            `json:"items_applied_discount_amount,omitempty"`
	TotalAppliedDiscountAmount int64            `json:"total_applied_discount_amount,omitempty"`
	Items                      []CalculatedItem `json:"items,omitempty"`
	Metadata                   json.RawMessage  `json:"metadata,omitempty"`
	CustomerID                 string           `json:"customer_id,omitempty"`
	Object                     string           `json:"object"` // "order"
}

// CalculatedItem is one order line after discounts. InitialQuantity and
// InitialAmount are set only on lines whose quantity a UNIT discount changed
// (0 for a line it added).
type CalculatedItem struct {
	SKUID                   string          `json:"sku_id,omitempty"`
	ProductID               string          `json:"product_id,omitempty"`
	RelatedObject           string          `json:"related_object,omitempty"`
	SourceID                string          `json:"source_id,omitempty"`
	Quantity                int64           `json:"quantity,omitempty"`
	DiscountQuantity        int64           `json:"discount_quantity,omitempty"`
	InitialQuantity         *int64          `json:"initial_quantity,omitempty"`
	AppliedDiscountQuantity int64           `json:"applied_discount_quantity,omitempty"`
	AppliedQuantity         int64           `json:"applied_quantity,omitempty"`
	AppliedQuantityAmount   int64           `json:"applied_quantity_amount,omitempty"`
	Amount                  int64           `json:"amount"`
	InitialAmount           *int64          `json:"initial_amount,omitempty"`
	DiscountAmount          int64           `json:"discount_amount,omitempty"`
	AppliedDiscountAmount   int64           `json:"applied_discount_amount,omitempty"`
	Price                   int64           `json:"price,omitempty"`
	SubtotalAmount          int64           `json:"subtotal_amount"` // amount - discount_amount
	Product                 *ItemRef        `json:"product,omitempty"`
	SKU                     *ItemRef        `json:"sku,omitempty"`
	Metadata                json.RawMessage `json:"metadata,omitempty"`
	Object                  string          `json:"object"` // "order_item"
}

// Applied is what one redeemable did to the order.
type Applied struct {
	// Amount is what the redeemable took off: the discount, or the gift
	// card's credits (Voucherify's result.gift.credits).
	Amount int64
	// Items lists the order items the redeemable applies to, with what it did
	// to each: every item for APPLY_TO_ITEMS (some perhaps with nothing left
	// to discount), the unit's item for UNIT; nil for order-level discounts
	// and gift cards. Their DiscountAmounts add up to Amount.
	Items []AppliedItem
	// Order is the order right after this redeemable, its "applied" amounts
	// counting this redeemable only (Voucherify's redeemables[].order).
	Order CalculatedOrder
}

// AppliedItem is what one redeemable did to one order item.
type AppliedItem struct {
	Index            int   // into CalculatedOrder.Items; an added item comes after the order's own
	DiscountAmount   int64 // taken off this item
	DiscountQuantity int64 // units given free (UNIT)
	AddedQuantity    int64 // units added to the order (UNIT)
	AddedAmount      int64 // what the added units cost, added to the order's amount
}
