package events

import (
	"math"
	"strconv"
	"strings"

	"github.com/promorelay/promorelay/core"
)

// currencyExponents lists the ISO 4217 currencies whose minor unit is not
// the cent. Every other three-letter code has two decimal places.
var currencyExponents = map[string]int{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Units of account with four decimals.
	"CLF": 4, "UYW": 4,
}

// maxExponent bounds a decimal's exponent so "1e999999999" cannot make the
// parser build a huge number; no real amount is anywhere near it.
const maxExponent = 40

// MinorUnits converts a decimal amount such as "123.45" (as shops send
// prices, so no float rounding ever touches it) into the currency's minor
// units: 12345 for USD, 123 for "123" JPY, 123450 for "123.45" KWD.
//
// decimal may carry a leading minus sign and an exponent ("1.5e2"), so a
// JSON number passed as json.Number(...).String() works too. Extra
// fractional digits are accepted only when they are zeros ("12.300" USD is
// 1230; "12.345" USD is refused). currency must be a three-letter ISO 4217
// code; codes not known to use another exponent get two decimals.
//
// The error is a *core.Error with code CodeInvalid and key "invalid_amount"
// whose message names the problem (not a number, too many decimals for the
// currency, out of the int64 range, bad currency).
func MinorUnits(decimal string, currency string) (int64, error) {
	return minorUnits(decimal, currency, false)
}

// roundedMinorUnits is MinorUnits that rounds extra fractional digits half
// away from zero instead of refusing them: for unit prices a shop computes
// as total/quantity and sends as a float (WooCommerce's line item price).
func roundedMinorUnits(decimal string, currency string) (int64, error) {
	return minorUnits(decimal, currency, true)
}

func minorUnits(decimal, currency string, round bool) (int64, error) {
	exp, err := currencyExponent(currency)
	if err != nil {
		return 0, err
	}
	d, err := parseDecimal(decimal)
	if err != nil {
		return 0, err
	}
	digits, ok := d.scale(exp, round)
	if !ok {
		return 0, amountError("%q has more decimal places than %s allows (%d)", decimal, strings.ToUpper(currency), exp)
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, amountError("%q %s is out of range", decimal, strings.ToUpper(currency))
	}
	if d.negative {
		v = -v
	}
	return v, nil
}

// currencyExponent returns the number of decimal places of an ISO 4217 code.
func currencyExponent(currency string) (int, error) {
	c := strings.ToUpper(currency)
	if !isCurrencyCode(c) {
		return 0, amountError("currency %q is not a three-letter ISO 4217 code", currency)
	}
	if e, ok := currencyExponents[c]; ok {
		return e, nil
	}
	return 2, nil
}

func isCurrencyCode(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// decimalValue is a parsed decimal: the value is digits × 10^pow10.
type decimalValue struct {
	negative bool
	digits   string // no leading zeros; "" is zero
	pow10    int
}

// parseDecimal reads [-]digits[.digits][(e|E)[+|-]digits], the JSON number
// grammar, also accepting leading zeros and a bare fraction like ".5" or "5."
// that shops sometimes write in strings.
func parseDecimal(s string) (decimalValue, error) {
	var d decimalValue
	rest := s
	if strings.HasPrefix(rest, "-") {
		d.negative, rest = true, rest[1:]
	}
	mantissa, expPart, hasExp := strings.Cut(strings.ToLower(rest), "e")
	intPart, fracPart, _ := strings.Cut(mantissa, ".")
	if intPart+fracPart == "" || !allDigits(intPart) || !allDigits(fracPart) {
		return d, amountError("%q is not a decimal number", s)
	}
	if hasExp {
		e, err := strconv.Atoi(expPart)
		if err != nil || !allDigits(strings.TrimLeft(expPart, "+-")) || e > maxExponent || e < -maxExponent {
			return d, amountError("%q is not a decimal number in range", s)
		}
		d.pow10 = e
	}
	d.digits = strings.TrimLeft(intPart+fracPart, "0")
	d.pow10 -= len(fracPart)
	if d.digits == "" {
		d.negative = false
	}
	return d, nil
}

// scale returns the value × 10^exp as a digit string. ok is false when
// that is not a whole number and round is false.
func (d decimalValue) scale(exp int, round bool) (digits string, ok bool) {
	shift := d.pow10 + exp
	if d.digits == "" {
		return "0", true
	}
	if shift >= 0 {
		if len(d.digits)+shift > 19 {
			return d.digits + "0000000000000000000", true // overflows ParseInt
		}
		return d.digits + strings.Repeat("0", shift), true
	}
	cut := len(d.digits) + shift // how many digits are whole minor units
	if cut <= 0 {
		// Less than one minor unit, and not zero (digits has no leading zeros).
		if !round {
			return "", false
		}
		if cut == 0 && d.digits[0] >= '5' {
			return "1", true
		}
		return "0", true
	}
	kept, dropped := d.digits[:cut], d.digits[cut:]
	if strings.Trim(dropped, "0") == "" {
		return kept, true
	}
	if !round {
		return "", false
	}
	if dropped[0] >= '5' {
		return addOne(kept), true
	}
	return kept, true
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// addOne increments a non-negative decimal digit string.
func addOne(s string) string {
	b := []byte(orZero(s))
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func amountError(format string, args ...any) error {
	return core.KeyedError(core.CodeInvalid, "invalid_amount", format, args...)
}

// addMinor adds two non-negative amounts, refusing an int64 overflow.
func addMinor(a, b int64) (int64, bool) {
	if b > math.MaxInt64-a {
		return 0, false
	}
	return a + b, true
}
