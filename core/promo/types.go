// Package promo is the promotion engine: campaigns, codes, publication,
// validation and redemption. Its JSON field names are Voucherify's, so the
// HTTP adapter can serve these types as they are.
package promo

import (
	"time"

	"github.com/promorelay/promorelay/core/promo/calc"
)

// Voucher types.
const (
	TypeDiscount = "DISCOUNT_VOUCHER"
	TypeGift     = "GIFT_VOUCHER"
	TypeLoyalty  = "LOYALTY_CARD"
)

// Campaign types.
const (
	CampaignDiscountCoupons = "DISCOUNT_COUPONS"
	CampaignGiftVouchers    = "GIFT_VOUCHERS"
	CampaignLoyalty         = "LOYALTY_PROGRAM"
	CampaignPromotion       = "PROMOTION"
)

// Gift is a gift card's value.
type Gift struct {
	Amount           int64  `json:"amount"`
	SubtractedAmount int64  `json:"subtracted_amount"`
	Balance          int64  `json:"balance"`
	Effect           string `json:"effect,omitempty"`
}

// CodeConfig says how codes are generated: pattern ('#' is a random
// character, overrides length) or length, from charset, between prefix and
// postfix.
type CodeConfig struct {
	Length  int    `json:"length,omitempty"`
	Charset string `json:"charset,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
	Postfix string `json:"postfix,omitempty"`
	Pattern string `json:"pattern,omitempty"`
}

// ValidityTimeframe repeats a validity window: every Interval (ISO 8601
// duration, e.g. P1D) the code is valid for Duration (e.g. PT1H) from the
// start date.
type ValidityTimeframe struct {
	Interval string `json:"interval,omitempty"`
	Duration string `json:"duration,omitempty"`
}

// ValidityHours restricts validity to hours of given weekdays.
type ValidityHours struct {
	Daily []DailyHours `json:"daily,omitempty"`
}

// DailyHours is one daily window, times as "HH:MM" in UTC.
type DailyHours struct {
	StartTime      string `json:"start_time"`
	ExpirationTime string `json:"expiration_time"`
	DaysOfWeek     []int  `json:"days_of_week"` // 0 = Sunday
}

// Validity is the time-based validity shared by campaigns and codes.
type Validity struct {
	StartDate         *time.Time         `json:"start_date,omitempty"`
	ExpirationDate    *time.Time         `json:"expiration_date,omitempty"`
	ValidityTimeframe *ValidityTimeframe `json:"validity_timeframe,omitempty"`
	ValidityDayOfWeek []int              `json:"validity_day_of_week,omitempty"`
	ValidityHours     *ValidityHours     `json:"validity_hours,omitempty"`
}

// The pricing model lives in package calc; these aliases keep promo's API whole.
type (
	Discount        = calc.Discount
	Order           = calc.Order
	OrderItem       = calc.OrderItem
	CalculatedOrder = calc.CalculatedOrder
)

// Customer identifies who a code is published to or redeemed by, as
// Voucherify's requests carry it: by promorelay id or by the shop's source_id.
type Customer struct {
	ID       string         `json:"id,omitempty"`
	SourceID string         `json:"source_id,omitempty"`
	Name     string         `json:"name,omitempty"`
	Email    string         `json:"email,omitempty"`
	Phone    string         `json:"phone,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
	Object   string         `json:"object,omitempty"` // "customer" in responses
}

// Campaign is a container of codes (or, later, promotion tiers and loyalty
// cards) that share their type, value, validity and rules.
type Campaign struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Description   string          `json:"description,omitempty"`
	CampaignType  string          `json:"campaign_type"`
	Type          string          `json:"type"` // AUTO_UPDATE or STATIC
	JoinOnce      bool            `json:"join_once"`
	AutoJoin      bool            `json:"auto_join"`
	Voucher       CampaignVoucher `json:"voucher"`
	VouchersCount int64           `json:"vouchers_count"`
	Validity
	Active          bool           `json:"active"`
	Category        string         `json:"category,omitempty"`
	Metadata        map[string]any `json:"metadata,omitempty"`
	ValidationRules []string       `json:"validation_rules,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       *time.Time     `json:"updated_at,omitempty"`
	Object          string         `json:"object"` // "campaign"
}

// CampaignVoucher is the template of the campaign's codes.
type CampaignVoucher struct {
	Type       string           `json:"type"`
	Discount   *Discount        `json:"discount,omitempty"`
	Gift       *Gift            `json:"gift,omitempty"`
	Redemption *RedemptionLimit `json:"redemption,omitempty"`
	CodeConfig *CodeConfig      `json:"code_config,omitempty"`
}

// RedemptionLimit caps how often one code can be redeemed; nil quantity is unlimited.
type RedemptionLimit struct {
	Quantity *int64 `json:"quantity"`
}

// Voucher is one code: a standalone code or one of a campaign's.
type Voucher struct {
	ID         string    `json:"id"`
	Code       string    `json:"code"`
	Campaign   string    `json:"campaign,omitempty"`
	CampaignID string    `json:"campaign_id,omitempty"`
	Category   string    `json:"category,omitempty"`
	Type       string    `json:"type"`
	Discount   *Discount `json:"discount,omitempty"`
	Gift       *Gift     `json:"gift,omitempty"`
	Validity
	Active          bool              `json:"active"`
	AdditionalInfo  string            `json:"additional_info,omitempty"`
	Metadata        map[string]any    `json:"metadata,omitempty"`
	ValidationRules []string          `json:"validation_rules,omitempty"`
	HolderID        string            `json:"holder_id,omitempty"`
	Redemption      VoucherRedemption `json:"redemption"`
	Publish         VoucherPublish    `json:"publish"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       *time.Time        `json:"updated_at,omitempty"`
	Object          string            `json:"object"` // "voucher"
}

// VoucherRedemption is a code's usage: quantity is its limit (nil: none).
type VoucherRedemption struct {
	Quantity         *int64 `json:"quantity"`
	RedeemedQuantity int64  `json:"redeemed_quantity"`
	Object           string `json:"object"` // "list"
	URL              string `json:"url"`
}

// VoucherPublish counts the code's publications.
type VoucherPublish struct {
	Count  int64  `json:"count"`
	Object string `json:"object"` // "list"
	URL    string `json:"url"`
}

// Publication is the assignment of a code to a customer.
type Publication struct {
	ID         string         `json:"id"`
	Object     string         `json:"object"` // "publication"
	CreatedAt  time.Time      `json:"created_at"`
	CustomerID string         `json:"customer_id"`
	Customer   Customer       `json:"customer"`
	TrackingID string         `json:"tracking_id,omitempty"`
	Metadata   map[string]any `json:"metadata"`
	Channel    string         `json:"channel"`
	SourceID   *string        `json:"source_id"`
	Result     string         `json:"result"` // SUCCESS
	CampaignID string         `json:"campaign_id,omitempty"`
	Voucher    Voucher        `json:"voucher"`
	VouchersID []string       `json:"vouchers_id"`
}
