package events

import (
	"math"
	"testing"
)

func TestMinorUnits(t *testing.T) {
	tests := []struct {
		decimal, currency string
		want              int64
		wantKey           string
	}{
		{"123.45", "USD", 12345, ""},
		{"123.45", "usd", 12345, ""},
		{"123", "JPY", 123, ""},
		{"12800", "JPY", 12800, ""},
		{"0.00", "JPY", 0, ""},
		{"123.45", "KWD", 123450, ""},
		{"1.2345", "CLF", 12345, ""},
		{"12.300", "USD", 1230, ""},
		{"00012.50", "EUR", 1250, ""},
		{"5.", "USD", 500, ""},
		{".5", "USD", 50, ""},
		{"-10.00", "USD", -1000, ""},
		{"-0.00", "USD", 0, ""},
		{"0", "USD", 0, ""},
		{"1.5e2", "USD", 15000, ""},
		{"1E-2", "USD", 1, ""},
		{"21.6", "USD", 2160, ""},
		{"92233720368547758.07", "USD", math.MaxInt64, ""},
		{"12.345", "USD", 0, "invalid_amount"},
		{"100.50", "JPY", 0, "invalid_amount"},
		{"1.2345", "KWD", 0, "invalid_amount"},
		{"1e-3", "USD", 0, "invalid_amount"},
		{"92233720368547758.08", "USD", 0, "invalid_amount"},
		{"1e40", "USD", 0, "invalid_amount"},
		{"1e41", "USD", 0, "invalid_amount"},
		{"", "USD", 0, "invalid_amount"},
		{"-", "USD", 0, "invalid_amount"},
		{".", "USD", 0, "invalid_amount"},
		{"abc", "USD", 0, "invalid_amount"},
		{"1.2.3", "USD", 0, "invalid_amount"},
		{"--1", "USD", 0, "invalid_amount"},
		{"+1", "USD", 0, "invalid_amount"},
		{" 1", "USD", 0, "invalid_amount"},
		{"1e", "USD", 0, "invalid_amount"},
		{"1e+-2", "USD", 0, "invalid_amount"},
		{"0x10", "USD", 0, "invalid_amount"},
		{"12.34", "US", 0, "invalid_amount"},
		{"12.34", "", 0, "invalid_amount"},
		{"12.34", "U$D", 0, "invalid_amount"},
	}
	for _, tt := range tests {
		t.Run(tt.decimal+" "+tt.currency, func(t *testing.T) {
			got, err := MinorUnits(tt.decimal, tt.currency)
			wantError(t, err, tt.wantKey)
			if got != tt.want {
				t.Errorf("MinorUnits(%q, %q) = %d, want %d", tt.decimal, tt.currency, got, tt.want)
			}
		})
	}
}

func TestRoundedMinorUnits(t *testing.T) {
	tests := []struct {
		decimal, currency string
		want              int64
	}{
		{"5.666666666666667", "GBP", 567},
		{"5.665", "GBP", 567},
		{"5.664", "GBP", 566},
		{"0.005", "USD", 1},
		{"0.004", "USD", 0},
		{"9.995", "USD", 1000},
		{"99.995", "USD", 10000},
		{"-5.665", "USD", -567},
		{"1e-30", "USD", 0},
		{"20", "GBP", 2000},
		{"1280.5", "JPY", 1281},
	}
	for _, tt := range tests {
		got, err := roundedMinorUnits(tt.decimal, tt.currency)
		if err != nil || got != tt.want {
			t.Errorf("roundedMinorUnits(%q, %q) = %d, %v; want %d", tt.decimal, tt.currency, got, err, tt.want)
		}
	}
}
