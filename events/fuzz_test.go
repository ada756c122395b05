package events

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/core/customer"
)

// The fuzz targets' seeds are the fixtures; `go test` runs only the seeds.
// Run one for longer with: go test -run='^$' -fuzz=FuzzParseBatch -fuzztime=10s ./events/

var fuzzReceivedAt = time.Date(2026, 3, 1, 10, 0, 7, 0, time.UTC)

// wantKeyIn fails unless err is nil or a *core.Error whose key is listed.
func wantKeyIn(t *testing.T, err error, keys ...string) {
	t.Helper()
	var e *core.Error
	if err != nil && (!errors.As(err, &e) || !slices.Contains(keys, core.ErrorKey(err))) {
		t.Fatalf("unexpected error %v (key %q)", err, core.ErrorKey(err))
	}
}

var parseKeys = []string{"invalid_json", "invalid_payload", "payload_too_large"}

// checkMessage asserts what every parsed Segment message satisfies.
func checkMessage(t *testing.T, m customer.Message) {
	t.Helper()
	switch {
	case m.Source != SourceSegment || m.MessageID == "" || !callTypes[m.Type]:
		t.Fatalf("bad source, id or type: %+v", m)
	case m.Type == "alias" && (m.UserID == "" || m.PreviousID == ""):
		t.Fatalf("alias without userId and previousId: %+v", m)
	case m.UserID == "" && m.AnonymousID == "":
		t.Fatalf("no identity: %+v", m)
	case m.Type == "group" && m.GroupID == "":
		t.Fatalf("group without groupId: %+v", m)
	case m.Type == "track" && strings.TrimSpace(m.Event) == "":
		t.Fatalf("track without event: %+v", m)
	case m.Email != normalEmail(m.Email):
		t.Fatalf("email not normalised: %q", m.Email)
	case m.Timestamp.Location() != time.UTC || !m.ReceivedAt.Equal(fuzzReceivedAt):
		t.Fatalf("times: %v, %v", m.Timestamp, m.ReceivedAt)
	}
	for _, id := range []string{m.MessageID, m.UserID, m.AnonymousID, m.PreviousID, m.GroupID} {
		if utf8.RuneCountInString(id) > maxIDLength {
			t.Fatalf("id longer than %d: %q", maxIDLength, id)
		}
	}
}

var orderStatuses = []string{customer.OrderCreated, customer.OrderPaid, customer.OrderCanceled, customer.OrderRefunded}

// checkOrder asserts what every parsed order satisfies.
func checkOrder(t *testing.T, o customer.Order, source string) {
	t.Helper()
	switch {
	case o.Source != source || o.DeliveryID == "" || o.ID == "" || utf8.RuneCountInString(o.ID) > maxIDLength:
		t.Fatalf("bad source or ids: %+v", o)
	case !slices.Contains(orderStatuses, o.Status):
		t.Fatalf("status %q", o.Status)
	case !slices.Contains(orderStatuses, o.Transition) && o.Transition != customer.OrderUpdated:
		t.Fatalf("transition %q", o.Transition)
	case o.Amount < 0 || o.RefundedAmount < 0:
		t.Fatalf("negative amounts: %+v", o)
	case o.Currency != "" && !isCurrencyCode(o.Currency):
		t.Fatalf("currency %q", o.Currency)
	case (o.Amount > 0 || o.RefundedAmount > 0) && o.Currency == "":
		t.Fatalf("amount without currency: %+v", o)
	case o.Customer.Email != normalEmail(o.Customer.Email):
		t.Fatalf("email not normalised: %q", o.Customer.Email)
	}
	for _, it := range o.Items {
		if it.Price < 0 || it.Quantity < 0 {
			t.Fatalf("negative item: %+v", it)
		}
	}
}

func addFixtures(f *testing.F, add func(name string, body []byte), names ...string) {
	for _, name := range names {
		add(name, mustFixture(f, name))
	}
}

func FuzzParseCall(f *testing.F) {
	addFixtures(f, func(name string, body []byte) {
		f.Add(strings.TrimSuffix(strings.TrimPrefix(name, "segment/"), ".json"), body)
	}, "segment/identify.json", "segment/track.json", "segment/page.json", "segment/screen.json", "segment/group.json", "segment/alias.json")
	f.Add("track", []byte(`{"userId":7,"event":"E","timestamp":"2026-03-01T09:00:00+0100","sentAt":"2026-03-01T09:00:00Z"}`))
	f.Add("alias", []byte(`{"userId":"u","previousId":"p"}`))
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		m, err := ParseCall(kind, body, fuzzReceivedAt)
		wantKeyIn(t, err, parseKeys...)
		if err != nil {
			return
		}
		checkMessage(t, m)
		if m.Type != kind || len(body) > MaxCallBytes {
			t.Fatalf("type %q from endpoint %q, %d bytes", m.Type, kind, len(body))
		}
		// A stamped call's id is the same on a retry; an unstamped one
		// without a messageId gets a fresh id each time.
		again, _ := ParseCall(kind, body, fuzzReceivedAt)
		if again.MessageID != m.MessageID && !strings.HasPrefix(m.MessageID, "gen-") {
			t.Fatalf("message ids %q, %q: a retry must keep a given or derived id", m.MessageID, again.MessageID)
		}
	})
}

func FuzzParseBatch(f *testing.F) {
	addFixtures(f, func(_ string, body []byte) { f.Add(body) },
		"segment/batch.json", "segment/destination_track.json", "segment/identify.json")
	f.Add([]byte(`[{"type":"alias","userId":"u","previousId":"p"},{"type":"group","anonymousId":"a","groupId":"g"}]`))
	f.Add([]byte(`{"batch":[],"context":{"traits":{"email":"A@B.C"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, parse := range map[string]func([]byte, time.Time) ([]customer.Message, error){
			"ParseBatch": ParseBatch, "ParseDestination": ParseDestination,
		} {
			msgs, err := parse(body, fuzzReceivedAt)
			wantKeyIn(t, err, parseKeys...)
			if err != nil && msgs != nil {
				t.Fatalf("%s returned messages with an error", name)
			}
			for _, m := range msgs {
				checkMessage(t, m)
			}
		}
	})
}

func FuzzParseShopify(f *testing.F) {
	for topic, file := range map[string]string{
		"orders/create": "orders_create", "orders/paid": "orders_paid", "orders/cancelled": "orders_cancelled",
		"orders/updated": "orders_updated", "refunds/create": "refunds_create", "customers/create": "customers_create",
	} {
		f.Add(topic, mustFixture(f, "shopify/"+file+".json"))
	}
	h := ShopifyHeaders{EventID: "evt", TriggeredAt: "2026-03-05T12:00:00Z", ShopDomain: "example.myshopify.com"}
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		call, err := ParseShopify(topic, body, h)
		wantKeyIn(t, err, slices.Concat(parseKeys, []string{"unsupported_topic", "missing_header"})...)
		if err != nil {
			if call.Order != nil || call.Customer != nil {
				t.Fatal("a result with an error")
			}
			return
		}
		if (call.Order == nil) == (call.Customer == nil) {
			t.Fatalf("want exactly one of Order and Customer: %+v", call)
		}
		if call.Order != nil {
			checkOrder(t, *call.Order, SourceShopify)
			return
		}
		c := call.Customer
		if c.Source != SourceShopify || c.MessageID != "evt" || c.Type != "identify" || c.UserID == "" || c.Timestamp.IsZero() {
			t.Fatalf("bad customer message: %+v", c)
		}
	})
}

func FuzzParseWooCommerce(f *testing.F) {
	for topic, file := range map[string]string{
		"order.created": "order_created", "order.updated": "order_updated", "order.deleted": "order_deleted",
	} {
		f.Add(topic, mustFixture(f, "woocommerce/"+file+".json"))
	}
	f.Add("order.updated", []byte(`{"id":1,"currency":"JPY","line_items":[{"quantity":3,"total":"1000"}],"refunds":[{"total":"-1"}]}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		o, err := ParseWooCommerce(topic, body, "delivery")
		wantKeyIn(t, err, slices.Concat(parseKeys, []string{"unsupported_topic", "missing_header"})...)
		if err == nil {
			checkOrder(t, o, SourceWooCommerce)
		}
	})
}

func FuzzParseOrderWebhook(f *testing.F) {
	f.Add(mustFixture(f, "webhook/order_paid.json"))
	f.Add([]byte(`{"type":"order.updated","data":{"id":1,"status":"cancelled","created_at":"2026-03-06T09:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOrderWebhook(body, "msg")
		wantKeyIn(t, err, slices.Concat(parseKeys, []string{"unsupported_topic", "missing_header"})...)
		if err == nil {
			checkOrder(t, o, SourceWebhook)
		}
	})
}

func FuzzVerifyStandardWebhook(f *testing.F) {
	for _, v := range loadSignatureVectors(f) {
		if v.Scheme != "standard" {
			continue
		}
		ts, _ := strconv.ParseInt(v.Headers["webhook-timestamp"], 10, 64)
		f.Add(v.Secret, v.Headers["webhook-id"], ts, v.body(f), v.Headers["webhook-signature"])
	}
	f.Fuzz(func(t *testing.T, secret, id string, ts int64, body []byte, sig string) {
		now := time.Unix(ts, 0)
		h := StandardHeaders{ID: id, Timestamp: strconv.FormatInt(ts, 10), Signature: sig}
		err := VerifyStandardWebhook(secret, h, body, now)
		wantKeyIn(t, err, "invalid_signature", "invalid_timestamp", string(core.CodeInternal))
		want, signErr := SignStandardWebhook(secret, id, now, body)
		if err == nil && !hasSignature(sig, want) {
			t.Fatalf("accepted %q; the signature is %q", sig, want)
		}
		if signErr != nil || id == "" {
			return
		}
		h.Signature = sig + " " + want
		if err := VerifyStandardWebhook(secret, h, body, now); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		if err := VerifyStandardWebhook(secret, StandardHeaders{id, h.Timestamp, want}, append(bytes.Clone(body), 'x'), now); core.ErrorKey(err) != "invalid_signature" {
			t.Fatalf("changed body: %v", err)
		}
	})
}

// hasSignature reports whether a webhook-signature header holds want's bytes.
func hasSignature(header, want string) bool {
	w, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(want, "v1,"))
	for _, entry := range strings.Fields(header) {
		if v, sig, ok := strings.Cut(entry, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(sig); err == nil && bytes.Equal(got, w) {
				return true
			}
		}
	}
	return false
}

func FuzzMinorUnits(f *testing.F) {
	for _, seed := range [][2]string{
		{"123.45", "USD"}, {"12800", "JPY"}, {"1.234", "KWD"}, {"-10.00", "EUR"}, {"1.5e2", "usd"},
		{"5.666666666666667", "GBP"}, {"92233720368547758.07", "USD"}, {".5", "CLF"}, {"1e-40", "USD"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, decimal, currency string) {
		v, err := MinorUnits(decimal, currency)
		wantKeyIn(t, err, "invalid_amount")
		r, rerr := roundedMinorUnits(decimal, currency)
		wantKeyIn(t, rerr, "invalid_amount")
		if err == nil && (rerr != nil || r != v) {
			t.Fatalf("exact %d but rounded %d, %v", v, r, rerr)
		}
		if rerr != nil {
			return
		}
		// Cross-check with math/big: |rounded − value×10^exp| ≤ ½, and = 0 when exact.
		exp, _ := currencyExponent(currency)
		want, ok := new(big.Rat).SetString(decimal)
		if !ok {
			t.Fatalf("%q parsed here but not by math/big", decimal)
		}
		want.Mul(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(r), want)
		if diff.Abs(diff).Cmp(big.NewRat(1, 2)) > 0 || (err == nil && diff.Sign() != 0) {
			t.Fatalf("MinorUnits(%q, %q) = %d (rounded %d), want %s", decimal, currency, v, r, want.FloatString(6))
		}
	})
}
