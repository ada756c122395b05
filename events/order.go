package events

import (
	"fmt"
	"strings"

	"github.com/promorelay/promorelay/core"
)

// Helpers shared by the order parsers (Shopify, WooCommerce, the generic
// order webhook). Every error is invalid_payload naming the field.

// requireID refuses an empty or overlong id.
func requireID(field, id string) error {
	if id == "" {
		return invalidPayload("%s is required", field)
	}
	return checkID(field, id)
}

// requireCurrency returns the upper-cased ISO 4217 code, refusing an empty
// or malformed one.
func requireCurrency(field, currency string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(currency))
	if c == "" {
		return "", invalidPayload("%s is required", field)
	}
	if !isCurrencyCode(c) {
		return "", invalidPayload("%s %q is not a three-letter ISO 4217 code", field, currency)
	}
	return c, nil
}

// amountField reads a non-negative decimal amount in minor units; an absent
// amount is 0.
func amountField(field string, d decimalText, currency string) (int64, error) {
	v, err := signedAmountField(field, d, currency)
	if err == nil && v < 0 {
		return 0, invalidPayload("%s must not be negative", field)
	}
	return v, err
}

// signedAmountField is amountField accepting a negative amount.
func signedAmountField(field string, d decimalText, currency string) (int64, error) {
	if d == "" {
		return 0, nil
	}
	if currency == "" {
		return 0, invalidPayload("%s needs the order's currency", field)
	}
	v, err := MinorUnits(string(d), currency)
	if err != nil {
		return 0, invalidPayload("%s: %s", field, core.ErrorMessage(err))
	}
	return v, nil
}

// addAmount adds non-negative amounts, refusing an overflow.
func addAmount(field string, a, b int64) (int64, error) {
	sum, ok := addMinor(a, b)
	if !ok {
		return 0, invalidPayload("%s add up to more than can be represented", field)
	}
	return sum, nil
}

// indexed names an array element's field in messages: "line_items[2].price".
func indexed(array string, i int, field string) string {
	return fmt.Sprintf("%s[%d].%s", array, i, field)
}

// firstString returns the first non-empty string.
func firstString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
